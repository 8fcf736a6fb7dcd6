"""A full automation run: build the sample model from a real local git repository, judge the
deployment condition, deploy (or not), and notify a real HTTP Slack / webhook receiver."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from connectors.automations import (
    Automation,
    BuildAndDeploy,
    BuildMetric,
    BuildRow,
    BuildSpecifications,
    CustomWebhook,
    DeploymentSpecifications,
    ScheduledTrigger,
    SlackNotification,
    ThresholdDirection,
)
from connectors.notifications import NotificationFeed
from connectors.registry import SqlModelRegistry
from engine import clock
from tests.fakes.webhooks import running_webhook_receiver
from tests.support.automations import automation_application, model_repository

TOKEN = "ghp_s3cr3t-token-never-in-history"
SLACK_PATH = "/services/T01/B02/slack-credential-xyz"


@pytest.fixture
def receiver():
    with running_webhook_receiver() as (url, state):
        yield url, state


@pytest.fixture
def setup(database, tmp_path, monkeypatch, receiver):
    clock.reset()
    monkeypatch.setenv("MLC_SECRET_GIT_TOKEN", TOKEN)
    monkeypatch.setenv("EXPECTED_TOKEN_FOR_TEST", TOKEN)
    monkeypatch.setenv("MLC_JIRA_TOKEN", "jira-secret-the-model-must-not-see")
    application = automation_application(database, tmp_path)
    registry = SqlModelRegistry(database)
    model = registry.register_model("churn", "classification")
    registry.add_runtime("dev-batch", "DEV")
    yield application, registry, model, receiver
    clock.reset()


def declare(model_id: str, url: str, *, threshold: str = "0.65", repo=None, branch="main",
            webhook_method: str = "POST") -> Automation:
    return Automation(
        name="retrain-churn", model_id=model_id, trigger=ScheduledTrigger(cron="0 0 * * 0"),
        action=BuildAndDeploy(
            build_spec=BuildSpecifications(git_uri=f"file://{repo}#models/classifier",
                                           git_branch=branch, git_access_token_secret="git_token",
                                           tags=["automated"], env_vars=["A=7"]),
            deployment_condition=BuildMetric("accuracy", ThresholdDirection.ABOVE, threshold),
            deployment_spec=DeploymentSpecifications(number_of_pods=2, cpu_fraction=0.5,
                                                     environments=["dev-batch"])),
        on_success=SlackNotification(webhook=url + SLACK_PATH),
        on_error=CustomWebhook(url=url + "/hooks/mlc?key=abc", http_method=webhook_method,
                               data={"team": "risk"}, headers={"X-Token": "hdr-secret"}))


def run(application, name: str = "retrain-churn") -> dict:
    instance = application.automations.run_now(name)
    application.drain()
    return application.engine.get_instance(instance.id)


def everything_stored(application, instance_id: str) -> str:
    """Every text a run leaves behind: history, variables, builds, notifications, jobs."""
    parts = [json.dumps([h.to_json() for h in application.engine.history(instance_id)],
                        default=str),
             json.dumps(application.engine.get_instance(instance_id).to_json(), default=str)]
    with application.db.session() as s:
        for b in s.scalars(select(BuildRow)).all():
            parts.append(json.dumps(application.automations.build(b.id), default=str))
    parts += [json.dumps(n.to_dict(), default=str) for n in NotificationFeed(application.db).list()]
    return "\n".join(parts)


def test_condition_met_builds_deploys_and_tells_slack(setup, tmp_path):
    application, registry, model, (url, state) = setup
    application.automations.register(declare(model.id, url, repo=model_repository(tmp_path)))
    done = run(application)
    assert done.status == "completed", done
    v = done.variables
    assert v["AUTOMATION_OUTCOME"] == "deployed" and v["CONDITION_MET"] is True
    assert v["METRIC_VALUE"] > 0.65 and v["THRESHOLD_VALUE"] == 0.65
    assert v["BUILD_METRICS"]["env_a"] == 7.0 and v["BUILD_METRICS"]["saw_token"] == 1.0
    assert v["BUILD_METRICS"]["saw_secret_store"] == 0.0   # only its own secret, as GIT_TOKEN
    assert v["BUILD_METRICS"]["saw_engine_settings"] == 0.0  # nor the engine's credentials
    [deployment] = registry.list_deployments(model_id=model.id)
    assert deployment.snapshot_id == v["SNAPSHOT_ID"] and deployment.state == "deployed"
    snapshot = registry.get_snapshot(v["SNAPSHOT_ID"])
    assert list(snapshot.tags) == ["automated"] and snapshot.test_results["accuracy"] == v["METRIC_VALUE"]
    build = application.automations.build(v["BUILD_ID"])
    assert build["status"] == "deployed" and build["deployment"]["number_of_pods"] == 2
    assert len(build["git_commit"]) == 40
    assert application.automations.build(v["BUILD_ID"][:8]) == build  # a prefix names it too
    [slack] = state.requests
    assert slack.path == SLACK_PATH and "succeeded" in slack.json["text"]
    grid = [f["text"] for f in slack.json["blocks"][1]["fields"]]
    assert f"*Build*\n{v['BUILD_ID']}" in grid and "*Automation*\nretrain-churn" in grid
    kinds = [(h.kind, h.activity_id) for h in application.engine.history(done.id)]
    for step in ("Task_Prepare", "Task_Build", "Task_Evaluate", "Task_Deploy",
                 "Task_NotifyDeployed", "End_Deployed"):
        assert ("activity.completed", step) in kinds
    names = {h.name for h in application.engine.history(done.id) if h.kind == "variable.changed"}
    assert {"TRIGGER", "BUILD_ID", "METRIC_VALUE", "THRESHOLD_VALUE", "DECISION",
            "DEPLOYMENT_IDS"} <= names
    stored = everything_stored(application, done.id)
    for secret in (TOKEN, "slack-credential-xyz", "hdr-secret", "key=abc"):
        assert secret not in stored
    runs = application.automations.runs("retrain-churn")
    assert runs[0]["outcome"] == "deployed" and runs[0]["build"]["id"] == v["BUILD_ID"]


def test_condition_not_met_is_built_not_deployed_and_still_tells_on_success(setup, tmp_path):
    application, registry, model, (url, state) = setup
    application.automations.register(declare(model.id, url, threshold="0.99",
                                    repo=model_repository(tmp_path)))
    done = run(application)
    v = done.variables
    assert done.status == "completed"
    assert v["AUTOMATION_OUTCOME"] == "built, not deployed" and v["CONDITION_MET"] is False
    assert "do not deploy" in v["DECISION"]
    assert registry.list_deployments(model_id=model.id) == []
    assert ("activity.completed", "End_NotDeployed") in [
        (h.kind, h.activity_id) for h in application.engine.history(done.id)]
    [slack] = state.requests
    assert slack.path == SLACK_PATH and "built, not deployed" in slack.json["text"]


def test_failing_build_reports_reason_to_on_error_webhook(setup, tmp_path):
    application, registry, model, (url, state) = setup
    application.automations.register(declare(model.id, url, repo=model_repository(tmp_path, broken=True),
                                    webhook_method="GET"))
    done = run(application)
    v = done.variables
    assert done.status == "completed" and done.incidents == []
    assert v["FAILED_STEP"] == "build" and "feature f9 is missing" in v["ERROR_REASON"]
    assert registry.list_deployments(model_id=model.id) == []
    [hook] = state.requests
    assert hook.method == "GET" and hook.path == "/hooks/mlc"
    assert hook.headers.get("X-Token") == "hdr-secret"
    assert hook.query["status"] == "error" and hook.query["team"] == "risk"
    assert hook.query["automation"] == "retrain-churn" and hook.query["model_id"] == model.id
    assert hook.query["build_id"] == v["BUILD_ID"] and "execution_date" in hook.query
    assert "feature f9 is missing" in hook.query["reason"]
    assert application.automations.build(v["BUILD_ID"])["status"] == "failed"
    assert TOKEN not in everything_stored(application, done.id)


def test_unknown_branch_fails_with_git_reason_and_no_token(setup, tmp_path):
    application, registry, model, (url, state) = setup
    application.automations.register(declare(model.id, url, repo=model_repository(tmp_path),
                                    branch="does-not-exist"))
    # this run comes from the schedule: the engine's timer scheduler starts it
    due = datetime.fromisoformat(application.automations.get("retrain-churn")["next_due_at"])
    clock.advance(due - clock.now() + timedelta(seconds=1))
    assert application.engine.fire_due_timers() == 1
    application.drain()
    [run_] = application.automations.runs("retrain-churn")
    done = application.engine.get_instance(run_["instance_id"])
    assert done.variables["TRIGGER"] == "schedule" and run_["outcome"] == "failed"
    assert done.variables["FAILED_STEP"] == "build"
    assert "does-not-exist" in done.variables["ERROR_REASON"]
    [hook] = state.requests
    assert hook.json["status"] == "error" and hook.json["team"] == "risk"
    assert TOKEN not in everything_stored(application, done.id)
