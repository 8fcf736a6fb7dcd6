"""Every registry and job topic handler, called with a TaskContext as the engine builds it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.jobs import register_model_handlers
from engine.errors import BpmnError
from engine.handlers import HandlerRegistry
from tests.support.jobs import (  # noqa: F401 - fixtures
    context,
    data_root,
    jobs,
    model_pool,
    registry,
    sample,
    signals,
    write_model,
)

ALL_TOPICS = ["job.metrics", "job.scoring", "job.training", "model.copy-schedules",
              "model.deploy", "model.find-deployment", "model.get-snapshot",
              "model.resolve-data", "model.run-tests",
              "model.update-expiration", "monitors.add-missing", "runtime.match"]


@pytest.fixture
def handlers(registry, jobs) -> HandlerRegistry:
    handlers = HandlerRegistry()
    assert register_model_handlers(handlers, registry, jobs) == ALL_TOPICS
    return handlers


def call(handlers, topic, variables, key=None):
    return handlers.get(topic).handler(context(topic, variables, key))


def test_snapshot_creation_broadcasts_the_signal_after_commit(registry, database, signals):
    seen_in_db = []

    class Checking:
        def signal(self, name, variables):
            seen_in_db.append(registry.get_snapshot(variables["SNAPSHOT_ID"]).id)
            signals.signal(name, variables)

    model = registry.register_model("m", "classification")
    from connectors.registry import SqlModelRegistry
    snapshot = SqlModelRegistry(database, Checking()).create_snapshot(model.id, "sample:x")
    assert signals.sent[-1] == ("mlc.snapshot.created",
                                {"MODEL_ID": model.id, "SNAPSHOT_ID": snapshot.id})
    assert seen_in_db == [snapshot.id]


def test_get_snapshot_loads_model_and_snapshot_variables(handlers, sample):
    model, snapshot, paths = sample
    out = call(handlers, "model.get-snapshot", {"SNAPSHOT_ID": snapshot.id})
    assert out["MODEL_ID"] == model.id and out["METHODOLOGY"] == "classification"
    assert out["TAGS"] == ["train", "run_test"]
    assert out["TAG_RUN_TEST"] is True and out["TAG_JIRA"] is False
    assert out["DMN_DECISION_KEY"] == "approve_model" and out["STAGE"] == "DEV"
    assert out["HAS_TEST_DATA"] is True and out["TEST_DATA_FILE"] == str(paths["test"])
    assert {a["role"] for a in out["ASSETS"]} == {"TEST_DATA", "TRAINING_DATA"}
    by_model = call(handlers, "model.get-snapshot", {"MODEL_ID": model.id})
    assert by_model["SNAPSHOT_ID"] == snapshot.id


def test_get_snapshot_of_unknown_id_is_a_bpmn_error(handlers, sample):
    with pytest.raises(BpmnError) as err:
        call(handlers, "model.get-snapshot", {"SNAPSHOT_ID": "nope"})
    assert err.value.error_code == "SNAPSHOT_NOT_FOUND"


def test_resolve_data_uses_test_data_and_a_new_embedded_output(handlers, sample, data_root):
    _, snapshot, paths = sample
    out = call(handlers, "model.resolve-data", {"SNAPSHOT_ID": snapshot.id}, key="k1")
    assert out["INPUT_FILE"] == str(paths["test"])
    assert out["OUTPUT_FILE"].startswith(str(data_root / "outputs" / snapshot.id))
    again = call(handlers, "model.resolve-data", {"SNAPSHOT_ID": snapshot.id}, key="k1")
    assert again["OUTPUT_FILE"] == out["OUTPUT_FILE"]
    given = call(handlers, "model.resolve-data",
                 {"SNAPSHOT_ID": snapshot.id, "INPUT_FILE": "in.csv", "OUTPUT_FILE": "o"})
    assert given == {"INPUT_FILE": "in.csv", "OUTPUT_FILE": "o"}


def test_resolve_data_without_test_data_raises_missing_test_data(handlers, registry):
    model = registry.register_model("bare", "classification")
    snapshot = registry.create_snapshot(model.id, "sample:classifier")
    with pytest.raises(BpmnError) as err:
        call(handlers, "model.resolve-data", {"SNAPSHOT_ID": snapshot.id})
    assert err.value.error_code == "MISSING_TEST_DATA"
    with pytest.raises(BpmnError) as err:
        call(handlers, "job.metrics", {"SNAPSHOT_ID": snapshot.id})
    assert err.value.error_code == "MISSING_TEST_DATA"


def test_resolve_data_refuses_paths_outside_the_roots(handlers, sample):
    _, snapshot, _ = sample
    with pytest.raises(BpmnError) as err:
        call(handlers, "model.resolve-data",
             {"SNAPSHOT_ID": snapshot.id, "INPUT_FILE": "../../etc/passwd"})
    assert err.value.error_code == "INVALID_DATA_PATH" and "../../etc/passwd" in str(err.value)


def test_training_metrics_and_scoring_topics(handlers, sample, data_root, jobs):
    _, snapshot, paths = sample
    trained = call(handlers, "job.training", {"SNAPSHOT_ID": snapshot.id})
    assert trained["JOB_STATE"] == "succeeded" and trained["ARTIFACT_URI"]
    assert trained["TRAINING_METRICS"]["rows"] == 800
    tested = call(handlers, "job.metrics", {"SNAPSHOT_ID": snapshot.id})
    assert 0.5 < tested["TEST_RESULTS"]["accuracy"] <= 1
    assert jobs.get(tested["JOB_ID"]).job_type == "metrics"
    scored = call(handlers, "job.scoring",
                  {"SNAPSHOT_ID": snapshot.id, "INPUT_FILE": str(paths["test"]),
                   "OUTPUT_FILE": str(data_root / "scored"), "PARALLELISM": 2})
    assert scored["SCORED_ROWS"] == 200 and scored["SCORED_FILES"] == 1
    assert (data_root / "scored" / "test.csv").exists()


def test_a_retry_of_the_metrics_task_rewrites_its_own_results_file(handlers, sample,
                                                                    data_root):
    _, snapshot, _ = sample
    variables = {"SNAPSHOT_ID": snapshot.id, "OUTPUT_FILE": str(data_root / "bt")}
    first = call(handlers, "job.metrics", variables, key="task-r")
    again = call(handlers, "job.metrics", variables, key="task-r")  # the same task, retried
    assert again["RESULTS_FILE"] == first["RESULTS_FILE"] and again["JOB_ID"] == first["JOB_ID"]
    with pytest.raises(BpmnError, match="output already exists"):
        call(handlers, "job.metrics", variables, key="another-task")


def test_a_failed_job_raises_job_failed_with_its_id(handlers, sample, data_root):
    _, snapshot, _ = sample
    with pytest.raises(BpmnError) as err:
        call(handlers, "job.scoring", {"SNAPSHOT_ID": snapshot.id,
                                       "INPUT_FILE": str(data_root / "missing.csv"),
                                       "OUTPUT_FILE": str(data_root / "o")})
    assert err.value.error_code == "JOB_FAILED"
    assert "does not exist" in err.value.variables["JOB_ERROR"]
    assert err.value.variables["JOB_ID"]


def test_add_missing_monitors_adds_only_what_is_missing(handlers, registry):
    model = registry.register_model("reg", "regression")
    snapshot = registry.create_snapshot(model.id, "sample:classifier",
                                        monitors=["Stability Monitor: PSI/CSI", "Custom"])
    out = call(handlers, "monitors.add-missing", {"SNAPSHOT_ID": snapshot.id})
    assert out["MONITORS_ADDED"] == ["Performance Monitor: Regression",
                                     "Data Drift Monitor: Comprehensive Analysis",
                                     "Concept Drift Monitor: Comprehensive Analysis"]
    assert len(out["MONITORS"]) == 5
    again = call(handlers, "monitors.add-missing", {"SNAPSHOT_ID": snapshot.id})
    assert again["MONITORS_ADDED"] == [] and again["MONITORS"] == out["MONITORS"]


def test_classification_gets_the_classification_performance_monitor(handlers, sample):
    _, snapshot, _ = sample
    out = call(handlers, "monitors.add-missing", {"SNAPSHOT_ID": snapshot.id})
    assert out["MONITORS_ADDED"][0] == "Performance Monitor: Classification"


def test_runtime_match_by_stage_and_service_tag_most_recent_first(handlers, registry, sample):
    _, snapshot, _ = sample
    registry.add_runtime("old-dev", "DEV", service_tags=["churn-svc"])
    newer = registry.add_runtime("new-dev", "DEV", service_tags=["churn-svc"],
                                 endpoints=["http://127.0.0.1:9000"])
    registry.add_runtime("prod", "PROD", service_tags=["churn-svc"])
    registry.add_runtime("other", "DEV", service_tags=["other"])
    out = call(handlers, "runtime.match", {"SNAPSHOT_ID": snapshot.id})
    assert out["RUNTIME_ID"] == newer.id and out["DEPLOYMENT_MODE"] == "online"
    assert len(out["RUNTIME_IDS"]) == 2
    prod = call(handlers, "runtime.match", {"SNAPSHOT_ID": snapshot.id, "STAGE": "PROD"})
    assert prod["RUNTIME_NAME"] == "prod" and prod["DEPLOYMENT_MODE"] == "batch"
    with pytest.raises(BpmnError) as err:
        call(handlers, "runtime.match", {"STAGE": "UAT", "SERVICE_TAG": "churn-svc"})
    assert err.value.error_code == "NO_RUNTIME"


def test_deploy_retires_the_previous_deployment_and_copies_schedules(handlers, registry,
                                                                       sample):
    model, first, _ = sample
    runtime = registry.add_runtime("batch-dev", "DEV", service_tags=["churn-svc"])
    registry.set_schedules(first.id, [{"cron": "0 2 * * *", "job": "scoring"}])
    d1 = call(handlers, "model.deploy", {"SNAPSHOT_ID": first.id, "RUNTIME_ID": runtime.id})
    assert d1["DEPLOYMENT_MODE"] == "batch" and d1["RETIRED_DEPLOYMENT_IDS"] == []
    second = registry.create_snapshot(model.id, "sample:classifier")
    d2 = call(handlers, "model.deploy", {"SNAPSHOT_ID": second.id, "RUNTIME_ID": runtime.id})
    assert d2["RETIRED_DEPLOYMENT_IDS"] == [d1["DEPLOYED_MODEL_ID"]]
    assert d2["PREVIOUS_SNAPSHOT_ID"] == first.id
    assert registry.get_deployment(d1["DEPLOYED_MODEL_ID"]).state == "retired"
    assert [d.snapshot_id for d in registry.list_deployments(state="deployed")] == [second.id]
    copied = call(handlers, "model.copy-schedules", {"SNAPSHOT_ID": second.id})
    assert copied["SCHEDULES_COPIED"] == 1 and copied["PREVIOUS_SNAPSHOT_ID"] == first.id
    assert registry.get_snapshot(second.id).schedules == ({"cron": "0 2 * * *",
                                                           "job": "scoring"},)


def test_deploy_is_idempotent_per_task(handlers, registry, sample):
    _, snapshot, _ = sample
    runtime = registry.add_runtime("rt", "DEV")
    variables = {"SNAPSHOT_ID": snapshot.id, "RUNTIME_ID": runtime.id}
    a = call(handlers, "model.deploy", variables, key="deploy-1")
    b = call(handlers, "model.deploy", variables, key="deploy-1")
    assert a["DEPLOYED_MODEL_ID"] == b["DEPLOYED_MODEL_ID"]
    assert len(registry.list_deployments()) == 1


def test_update_expiration_from_variable_or_one_year_ahead(handlers, registry, sample):
    _, snapshot, _ = sample
    out = call(handlers, "model.update-expiration",
               {"SNAPSHOT_ID": snapshot.id, "EXPIRATION_DATE": "2027-06-30"})
    assert out["EXPIRATION_DATE"] == "2027-06-30T00:00:00+00:00"
    default = call(handlers, "model.update-expiration", {"SNAPSHOT_ID": snapshot.id})
    stored = registry.get_snapshot(snapshot.id).expiration_date
    assert default["EXPIRATION_DATE"] == stored.isoformat()
    expected = datetime.now(UTC) + timedelta(days=365)
    assert abs((stored - expected).total_seconds()) < 3600
    with pytest.raises(BpmnError) as err:
        call(handlers, "model.update-expiration",
             {"SNAPSHOT_ID": snapshot.id, "EXPIRATION_DATE": "next year"})
    assert err.value.error_code == "INVALID_EXPIRATION_DATE"
