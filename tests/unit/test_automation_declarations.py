"""Automation declarations: every validation rule, the stored form, the metric SQL guard,
and the generated schedule process (valid BPMN with complete diagram interchange)."""

from __future__ import annotations

import pytest
from lxml import etree

from connectors.automations import (
    Automation,
    BuildAndDeploy,
    BuildMetric,
    BuildSpecifications,
    CustomWebhook,
    DeclarationError,
    DeploymentSpecifications,
    MetricBasedTrigger,
    MetricQueryError,
    ScheduledTrigger,
    SlackNotification,
    SqlMetric,
    ThresholdDirection,
    check_query,
)
from connectors.automations._schedule import process_key, schedule_bpmn

BUILD = BuildSpecifications(git_uri="https://github.com/acme/models.git#churn",
                            git_branch="main", git_access_token_secret="github_token",
                            tags=["prod"], env_vars=["EPOCHS=3", "MODE=fast"])


def automation(**changes) -> Automation:
    values = dict(name="retrain-churn", model_id="churn",
                  trigger=ScheduledTrigger(cron="0 0 * * 0"),
                  action=BuildAndDeploy(build_spec=BUILD,
                                        deployment_condition=BuildMetric("f1", "ABOVE", "0.65")),
                  on_success=SlackNotification("https://hooks.slack.com/services/T/B/X"),
                  on_error=CustomWebhook("https://example.com/hook", data={"kind": "x"},
                                         headers={"Authorization": "Bearer t"}))
    values.update(changes)
    return Automation(**values)


def test_a_full_declaration_round_trips_through_its_stored_form():
    original = automation()
    stored = original.to_dict()
    assert stored["trigger"] == {"__kind__": "ScheduledTrigger", "cron": "0 0 * * 0",
                                 "interval": None}
    assert Automation.from_dict(stored) == original
    assert original.action.deployment_condition.direction is ThresholdDirection.ABOVE


@pytest.mark.parametrize("interval, cron", [("Hourly", "0 * * * *"), ("Daily", "0 0 * * *"),
                                            ("Weekly", "0 0 * * 0")])
def test_intervals_become_cron_expressions(interval, cron):
    assert ScheduledTrigger(interval=interval).cron_expression == cron


@pytest.mark.parametrize("make, message", [
    (lambda: ScheduledTrigger(cron="61 * * * *"), "not a valid 5-field cron"),
    (lambda: ScheduledTrigger(cron="0 0 * *"), "not a valid 5-field cron"),
    (lambda: ScheduledTrigger(interval="Monthly"), "interval must be one of Hourly, Daily, Weekly"),
    (lambda: ScheduledTrigger(), "exactly one of cron= or interval="),
    (lambda: ScheduledTrigger(cron="0 0 * * *", interval="Daily"), "exactly one"),
    (lambda: BuildMetric("f1", "ABOVE", 0.65), "threshold must be a string"),
    (lambda: BuildMetric("f1", "ABOVE", "high"), "neither a number nor a SQL query"),
    (lambda: BuildMetric("f1", "ABOVE", "nan"), "finite"),
    (lambda: BuildMetric("f1", "SIDEWAYS", "0.5"), "direction must be ABOVE or BELOW"),
    (lambda: BuildMetric("", "ABOVE", "0.5"), "metric_name"),
    (lambda: BuildSpecifications(git_uri="repo.git", env_vars=["NOVALUE"]), "not key=value"),
    (lambda: BuildSpecifications(git_uri="repo.git", env_vars=["1X=2"]), "not key=value"),
    (lambda: BuildSpecifications(git_uri="https://user:pw@github.com/a.git"), "credentials"),
    (lambda: BuildSpecifications(git_uri="repo.git#../etc"), "relative path"),
    (lambda: BuildSpecifications(git_uri="repo.git", main_dir="/abs"), "relative path"),
    (lambda: BuildSpecifications(git_uri="repo.git", git_branch="-x"), "branch"),
    (lambda: BuildSpecifications(git_uri="repo.git", git_access_token_secret="ghp_ab-cd!"),
     "secret name"),
    (lambda: BuildSpecifications(git_uri=""), "git repository"),
    (lambda: DeploymentSpecifications(number_of_pods=0), "number_of_pods"),
    (lambda: DeploymentSpecifications(memory="lots"), "memory"),
    (lambda: SlackNotification("hooks.slack.com/x"), r"http\(s\) URL"),
    (lambda: CustomWebhook("https://x", http_method="TRACE"), "http_method"),
    (lambda: MetricBasedTrigger("d", SqlMetric("SELECT 1"), threshold=0.5), "string"),
    (lambda: MetricBasedTrigger("d", SqlMetric("SELECT 1"), poll_seconds=0), "poll_seconds"),
    (lambda: SqlMetric("SELECT * FROM registry_jobs"), "not an analytics view"),
    (lambda: automation(name="has space"), "must be 1-100 letters"),
    (lambda: automation(model_id=""), "model_id"),
    (lambda: automation(trigger="daily"), "trigger must be"),
    (lambda: automation(on_error="https://x"), "on_error must be"),
])
def test_each_rule_is_checked_at_declaration(make, message):
    with pytest.raises(DeclarationError, match=message):
        make()


def test_sql_thresholds_and_lowercase_directions_are_accepted():
    metric = BuildMetric("auc", "below",
                         "SELECT avg(value) FROM analytics_build_metrics WHERE metric = 'auc'")
    assert metric.direction is ThresholdDirection.BELOW
    assert ThresholdDirection.BELOW.holds(0.1, 0.2) and not ThresholdDirection.ABOVE.holds(0.2, 0.2)


@pytest.mark.parametrize("sql", [
    "SELECT avg(value) FROM analytics_job_metrics WHERE metric = 'auc'",
    "WITH x AS (SELECT value FROM analytics_build_metrics) SELECT max(value) FROM x",
    "SELECT count(*) FROM analytics_scoring_outputs s JOIN analytics_builds b ON 1 = 1",
    "SELECT coalesce(max(rows), 0) FROM (SELECT rows FROM analytics_scoring_outputs) t",
])
def test_metric_queries_over_views_pass(sql):
    check_query(sql)


@pytest.mark.parametrize("sql, message", [
    ("DELETE FROM analytics_job_metrics", "only SELECT"),
    ("SELECT 1; SELECT 2", "exactly one statement"),
    ("SELECT * FROM automations", "not an analytics view"),
    ("SELECT * FROM public.analytics_job_metrics", "schema-qualified"),
    ("SELECT pg_read_file('/etc/passwd')", "function 'pg_read_file'"),
    ("SELECT pg_sleep(10)", "function 'pg_sleep'"),
    ("SELECT * INTO stolen FROM analytics_job_metrics", "INTO"),
    ("SELECT value FROM analytics_job_metrics FOR UPDATE", "locking"),
    ("SELEC 1 FROM", "not valid SQL|only SELECT"),
    ("SELECT 'unterminated FROM analytics_builds", "not valid SQL: Error tokenizing"),
    ("SELECT $$x FROM analytics_builds", "not valid SQL"),
    ("SELECT " + "(" * 5000 + "1" + ")" * 5000, "nested too deeply"),
    ("SELECT 1 " + " " * 20_000, "longer than 20000 characters"),
])
def test_other_queries_are_refused(sql, message):
    with pytest.raises(MetricQueryError, match=message):
        check_query(sql)


NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}


def diagram_gaps(data: bytes) -> set[str]:
    """Ids of flow nodes without a BPMNShape and sequence flows without a BPMNEdge."""
    root = etree.fromstring(data)
    nodes = {el.get("id") for el in root.iterfind(".//bpmn:process/*", NS)
             if etree.QName(el).localname not in ("sequenceFlow", "documentation",
                                                  "extensionElements")}
    flows = {el.get("id") for el in root.iterfind(".//bpmn:sequenceFlow", NS)}
    shapes = {el.get("bpmnElement") for el in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {el.get("bpmnElement") for el in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    return (nodes - shapes) | (flows - edges)


@pytest.mark.parametrize("cron", ["0 0 * * 0", None])
def test_generated_schedule_process_has_complete_diagram(cron):
    data = schedule_bpmn("retrain-churn", cron)
    assert diagram_gaps(data) == set()
    assert (b"<bpmn:timeCycle" in data) == bool(cron)
    assert process_key("retrain-churn").encode() in data


def test_process_keys_are_valid_ids_and_distinct():
    assert process_key("a-b") != process_key("a_b")
    assert process_key("a.b-c").replace("_", "").isalnum()


def test_a_long_build_keeps_extending_its_task_lock():
    import time

    from connectors.jobs.topics import keep_lock  # what automation.build runs under
    from engine.handlers import TaskContext

    extended: list[float] = []
    ctx = TaskContext(task_id="t-1", topic="automation.build", instance_id="i",
                      process_key="p", activity_id="a", idempotency_key="k",
                      extend_lock=extended.append)
    with keep_lock(ctx, seconds=0.03):  # renews every seconds / 3
        time.sleep(0.1)
    count = len(extended)
    time.sleep(0.05)
    assert count >= 2 and set(extended) == {0.03} and len(extended) == count
