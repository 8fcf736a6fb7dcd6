"""The ticket description builder: what reviewers read (no I/O)."""

from connectors.tickets.description import build_ticket_content, render_jira, render_plain

VARIABLES = {
    "MODEL_ID": "m-42", "MODEL_NAME": "credit-risk", "MODEL_VERSION": "3",
    "SNAPSHOT_ID": "s-7",
    "TEST_RESULTS": {"auc": 0.912345678, "f1": 0.8, "drift": {"psi": 0.02}},
    "CHANGES": ["retrained on 2026-Q1 data", "new feature: income_ratio"],
    "JOB_ERROR": {"message": "metrics job exited 1", "traceback": "Traceback: boom"},
}


def test_review_summary_names_model_version_and_snapshot():
    content = build_ticket_content("review", VARIABLES)
    assert content.summary == "Review requested: credit-risk v3 (snapshot s-7)"


def test_jira_rendering_has_metrics_table_changes_and_failure():
    text = render_jira(build_ticket_content("test_failure", VARIABLES, instance_id="i-1"))
    assert "||Metric||Value||" in text
    assert "|auc|0.912346|" in text
    assert "|drift.psi|0.02|" in text
    assert "- new feature: income_ratio" in text
    assert "{code}\nmetrics job exited 1\nTraceback: boom\n{code}" in text
    assert "|Process instance|i-1|" in text


def test_plain_rendering_is_readable_without_markup():
    text = render_plain(build_ticket_content("rejection", {
        **VARIABLES, "REJECTION_REASON": "AUC below 0.95"}))
    assert "## Rejection reason\nAUC below 0.95" in text
    assert "auc        0.912346" in text
    assert "||" not in text and "{code}" not in text


def test_absent_variables_are_left_out():
    content = build_ticket_content("error", {"ERROR_CODE": "DEPLOY_FAILED"})
    assert content.summary == "Process error"
    assert [s.title for s in content.sections] == ["Error"]


def test_pipe_in_jira_cell_is_escaped():
    text = render_jira(build_ticket_content("review", {"TEST_RESULTS": {"a|b": "x|y"}}))
    assert "|a\\|b|x\\|y|" in text


def test_summary_override_and_length_limit():
    content = build_ticket_content("review", {"TICKET_SUMMARY": "x" * 400})
    assert content.summary == "x" * 255
