"""processes/deploy_with_test_and_jira.bpmn, every path, with the real connectors and jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.processes import mlc  # noqa: F401 - fixture

KEY = "deploy_with_test_and_jira"


def test_happy_path_test_review_done_with_expiration_then_monitors_and_batch_deploy(mlc):
    snap, instance = mlc.snapshot(tags=["run_test", "jira"], schedules=[])
    assert instance.status == "waiting"
    assert instance.active_activities == ["Event_review_resolved"]
    variables = instance.variables
    assert variables["DECISION_PASSED"] is True
    assert 0.8 < variables["TEST_RESULTS"]["roc_auc"] <= 1
    review = mlc.ticket(variables["REVIEW_TICKET"])
    assert review.kind == "review" and review.status == "Open"
    assert "roc_auc" in review.description and "What changed" in review.description
    assert mlc.registry.get_snapshot(snap.id).test_results["roc_auc"] == variables[
        "TEST_RESULTS"]["roc_auc"]

    mlc.decide(review.key, "Done", {"Expiration Date": "2027-06-30"})
    done = mlc.refresh(instance)
    assert done.status == "completed", done
    assert done.variables["OUTCOME"] == "deployed"
    assert done.variables["DEPLOYMENT_MODE"] == "batch"
    stored = mlc.registry.get_snapshot(snap.id)
    assert stored.expiration_date.date().isoformat() == "2027-06-30"
    assert "Performance Monitor: Classification" in stored.monitors and len(stored.monitors) == 4
    [deployment] = mlc.registry.list_deployments(model_id=mlc.sample.model_id)
    assert deployment.snapshot_id == snap.id and deployment.mode == "batch"
    assert deployment.runtime_id == mlc.sample.batch_runtime_id
    assert "End_deployed" in mlc.completed_activities(done)


def test_review_done_without_expiration_sets_one_year_and_online_runtime_deploys_online(mlc):
    snap, instance = mlc.snapshot(tags=["jira"], service_tag="sample-classifier-online")
    assert instance.variables["DECISION_PASSED"] is False or "TEST_RESULTS" not in instance[
        "variables"]
    # no run_test tag: the DMN sees no AUC/F1 and rejects
    assert instance.status == "completed" and instance.variables["OUTCOME"] == "rejected"
    snap, instance = mlc.snapshot(tags=["run_test", "jira"],
                                  service_tag="sample-classifier-online")
    mlc.decide(instance.variables["REVIEW_TICKET"], "Done")
    done = mlc.refresh(instance)
    assert done.status == "completed" and done.variables["DEPLOYMENT_MODE"] == "online"
    expiration = mlc.registry.get_snapshot(snap.id).expiration_date
    expected = datetime.now(UTC) + timedelta(days=365)
    assert abs((expiration - expected).total_seconds()) < 3600
    [deployment] = mlc.registry.list_deployments(model_id=mlc.sample.model_id)
    assert deployment.mode == "online" and deployment.runtime_id == mlc.sample.online_runtime_id


def test_no_tags_goes_straight_to_monitors_deploy_and_copies_previous_schedules(mlc):
    first, one = mlc.snapshot(tags=[], schedules=[{"cron": "0 6 * * *", "job": "scoring"}])
    assert mlc.refresh(one).variables["OUTCOME"] == "deployed"
    second, two = mlc.snapshot(tags=[])
    done = mlc.refresh(two)
    assert done.status == "completed" and done.variables["OUTCOME"] == "deployed"
    assert done.variables["PREVIOUS_SNAPSHOT_ID"] == first.id
    assert done.variables["SCHEDULES_COPIED"] == 1
    assert mlc.registry.get_snapshot(second.id).schedules == (
        {"cron": "0 6 * * *", "job": "scoring"},)
    activities = mlc.completed_activities(done)
    assert "Task_metrics" not in activities and "Task_ticket_review" not in activities
    [live] = mlc.registry.list_deployments(model_id=mlc.sample.model_id, state="deployed")
    assert live.snapshot_id == second.id


def test_missing_test_data_opens_rejection_ticket_and_ends(mlc):
    snap, instance = mlc.snapshot(tags=["run_test", "jira"], test_file="")
    assert instance.status == "completed"
    variables = instance.variables
    assert variables["OUTCOME"] == "rejected"
    assert variables["OUTCOME_REASON"] == "missing test data"
    ticket = mlc.ticket(variables["REJECTION_TICKET"])
    assert ticket.kind == "rejection" and "missing test data" in ticket.description
    assert "End_missing_data" in mlc.completed_activities(instance)
    assert not mlc.registry.list_deployments(model_id=mlc.sample.model_id)


def test_job_failure_ticket_done_retries_until_the_test_passes(mlc):
    late = mlc.data_root / "sample" / "late.csv"
    snap, instance = mlc.snapshot(tags=["run_test", "jira"], test_file=str(late))
    first = instance.variables["TICKET_KEY"]
    ticket = mlc.ticket(first)
    assert ticket.kind == "test_failure" and "late.csv" in ticket.description
    assert instance.active_activities == ["Event_test_failure_resolved"]
    mlc.decide(first, "Done")                      # still no data: fails again
    again = mlc.refresh(instance)
    second = again.variables["TICKET_KEY"]
    assert second != first and mlc.ticket(second).kind == "test_failure"
    late.write_bytes((mlc.data_root / "sample" / "test.csv").read_bytes())
    mlc.decide(second, "Done")                     # data is there now: test passes
    passed = mlc.refresh(instance)
    assert passed.active_activities == ["Event_review_resolved"]
    assert passed.variables["DECISION_PASSED"] is True
    metrics_runs = [h for h in mlc.engine.history(instance.id)
                    if h.kind == "activity.started" and h.activity_id == "Task_metrics"]
    assert len(metrics_runs) == 3


def test_job_failure_ticket_rejected_ends_rejected(mlc):
    missing = mlc.data_root / "sample" / "never.csv"
    snap, instance = mlc.snapshot(tags=["run_test"], test_file=str(missing))
    mlc.decide(instance.variables["TICKET_KEY"], "Rejected")
    done = mlc.refresh(instance)
    assert done.status == "completed"
    assert "End_test_rejected" in mlc.completed_activities(done)
    assert not mlc.registry.list_deployments(model_id=mlc.sample.model_id)


def test_dmn_criteria_failure_opens_rejection_ticket(mlc):
    shuffled = mlc.data_root / "sample" / "shuffled.csv"
    import pandas as pd
    frame = pd.read_csv(mlc.data_root / "sample" / "test.csv")
    frame["label"] = frame["label"].sample(frac=1.0, random_state=1).to_numpy()
    frame.to_csv(shuffled, index=False)
    snap, instance = mlc.snapshot(tags=["run_test", "jira"], test_file=str(shuffled))
    variables = instance.variables
    assert instance.status == "completed" and variables["OUTCOME_REASON"] == "DMN criteria"
    ticket = mlc.ticket(variables["REJECTION_TICKET"])
    assert ticket.kind == "rejection" and "DMN criteria" in ticket.description
    assert "below the DEV/SIT thresholds" in ticket.description


def test_review_rejected_opens_rejection_ticket(mlc):
    snap, instance = mlc.snapshot(tags=["run_test", "jira"])
    mlc.decide(instance.variables["REVIEW_TICKET"], "Rejected")
    done = mlc.refresh(instance)
    assert done.status == "completed" and done.variables["OUTCOME"] == "rejected"
    assert mlc.ticket(done.variables["REJECTION_TICKET"]).kind == "rejection"
    assert "End_review_rejected" in mlc.completed_activities(done)
    assert mlc.registry.get_snapshot(snap.id).expiration_date is None


def test_no_runtime_opens_error_ticket(mlc):
    snap, instance = mlc.snapshot(tags=[], service_tag="nobody-serves-this")
    variables = instance.variables
    assert instance.status == "completed" and variables["OUTCOME"] == "failed"
    assert variables["ERROR_CODE"] == "NO_RUNTIME"
    ticket = mlc.ticket(variables["ERROR_TICKET"])
    assert ticket.kind == "error" and "NO_RUNTIME" in ticket.description


def test_any_other_error_opens_error_ticket_and_ends_failed_with_reason_in_history(mlc):
    snap, instance = mlc.snapshot(tags=["jira"], decision=None)
    mlc.decide(instance.variables["REVIEW_TICKET"], "Done",
               {"Expiration Date": "end of next month"})
    done = mlc.refresh(instance)
    variables = done.variables
    assert done.status == "completed" and variables["OUTCOME"] == "failed"
    assert variables["ERROR_CODE"] == "INVALID_EXPIRATION_DATE"
    ticket = mlc.ticket(variables["ERROR_TICKET"])
    assert ticket.kind == "error" and "end of next month" in ticket.description
    history = mlc.engine.history(instance.id)
    [thrown] = [h for h in history if h.kind == "bpmn_error.thrown"]
    assert thrown.name == "INVALID_EXPIRATION_DATE" and "end of next month" in thrown.data[
        "message"]
    assert "End_failed" in mlc.completed_activities(done)
    assert not mlc.registry.list_deployments(model_id=mlc.sample.model_id)


def test_training_tag_runs_a_training_job_first(mlc):
    snap, instance = mlc.snapshot(tags=["train"])
    done = mlc.refresh(instance)
    assert done.status == "completed" and done.variables["OUTCOME"] == "deployed"
    assert done.variables["ARTIFACT_URI"]
    assert [j.job_type for j in mlc.jobs.list(snapshot_id=snap.id)] == ["training"]
