"""processes/run_back_test.bpmn and processes/run_batch_job.bpmn, every path, with the real
connectors and jobs (local tickets, so Jira / ServiceNow tickets fall back to local ones)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from tests.support.processes import mlc  # noqa: F401 - fixture

JIRA = "com.modelop.mlc.definitions.Signals_Run_Back_Test_Jira"
SERVICENOW = "com.modelop.mlc.definitions.Signals_Run_Back_Test_ServiceNow"
BATCH = "com.modelop.mlc.definitions.Signals_DEPLOYED_BATCH_JOB"


def shuffled_labels(mlc) -> Path:
    path = mlc.data_root / "sample" / "drifted.csv"
    frame = pd.read_csv(mlc.data_root / "sample" / "test.csv")
    frame["label"] = frame["label"].sample(frac=1.0, random_state=1).to_numpy()
    frame.to_csv(path, index=False)
    return path


def deployed_snapshot(mlc):
    snap, instance = mlc.snapshot(tags=[])
    assert mlc.refresh(instance).variables["OUTCOME"] == "deployed"
    return snap


def test_back_test_jira_passes_on_test_data_and_notifies(mlc):
    snap = deployed_snapshot(mlc)
    [instance] = mlc.signal(JIRA, {"MODEL_ID": mlc.sample.model_id})
    variables = instance.variables
    assert instance.status == "completed" and variables["OUTCOME"] == "passed"
    assert variables["TICKET_SYSTEM"] == "jira" and variables["DECISION_PASSED"] is True
    assert variables["INPUT_FILE"] == mlc.sample.test_file
    results = json.loads(Path(variables["RESULTS_FILE"]).read_text())
    assert results["metrics"]["roc_auc"] == variables["TEST_RESULTS"]["roc_auc"]
    assert Path(variables["RESULTS_FILE"]).parent == Path(variables["OUTPUT_FILE"])
    [note] = [n for n in mlc.feed.list() if n.instance_id == instance.id]
    assert note.status == "success" and "passed" in note.text and snap.id in note.text


def test_back_test_by_model_tests_the_deployed_snapshot_not_a_newer_unapproved_one(mlc):
    deployed = deployed_snapshot(mlc)
    newer, deploy = mlc.snapshot(tags=[], stage="PROD")  # no PROD runtime: never deployed
    assert mlc.refresh(deploy).variables["OUTCOME"] == "failed"
    [by_model] = mlc.signal(JIRA, {"MODEL_ID": mlc.sample.model_id})
    assert by_model.variables["SNAPSHOT_ID"] == deployed.id
    assert by_model.variables["SNAPSHOT_CHOSEN_BY"] == "deployed"
    [by_id] = mlc.signal(JIRA, {"MODEL_ID": mlc.sample.model_id, "SNAPSHOT_ID": newer.id})
    assert by_id.variables["SNAPSHOT_ID"] == newer.id
    assert by_id.variables["SNAPSHOT_CHOSEN_BY"] == "SNAPSHOT_ID"


def test_back_test_of_a_model_never_deployed_tests_its_newest_snapshot(mlc):
    _first, _ = mlc.snapshot(tags=[], stage="PROD")
    newest, _ = mlc.snapshot(tags=[], stage="UAT")
    [instance] = mlc.signal(JIRA, {"MODEL_ID": mlc.sample.model_id})
    assert instance.variables["SNAPSHOT_ID"] == newest.id
    assert instance.variables["SNAPSHOT_CHOSEN_BY"] == "newest, none deployed"


def test_back_test_servicenow_fails_criteria_and_opens_ticket_with_results(mlc):
    deployed_snapshot(mlc)
    drifted = shuffled_labels(mlc)
    output = mlc.data_root / "out" / "backtest.json"
    [instance] = mlc.signal(SERVICENOW, {"MODEL_ID": mlc.sample.model_id,
                                         "INPUT_FILE": str(drifted),
                                         "OUTPUT_FILE": str(output)})
    variables = instance.variables
    assert instance.status == "completed" and variables["OUTCOME"] == "failed criteria"
    assert variables["TICKET_SYSTEM"] == "servicenow"
    ticket = mlc.ticket(variables["FAILURE_TICKET"])
    assert ticket.kind == "test_failure" and ticket.system == "local"
    assert "Meant for servicenow" in ticket.description
    assert "roc_auc" in ticket.description and "below the DEV/SIT thresholds" in ticket.description
    assert json.loads(output.read_text())["metrics"]["roc_auc"] < 0.6


def test_back_test_job_exception_opens_review_ticket_with_details(mlc):
    deployed_snapshot(mlc)
    broken = mlc.data_root / "sample" / "nolabel.csv"
    pd.read_csv(mlc.data_root / "sample" / "test.csv").drop(columns=["label"]).to_csv(
        broken, index=False)
    [instance] = mlc.signal(JIRA, {"MODEL_ID": mlc.sample.model_id, "INPUT_FILE": str(broken)})
    variables = instance.variables
    assert instance.status == "completed" and variables["OUTCOME"] == "job failed"
    ticket = mlc.ticket(variables["REVIEW_TICKET"])
    assert ticket.kind == "review" and "Back test job failed" in ticket.summary
    assert "label" in ticket.description  # the job's reason


def test_back_test_of_unknown_model_sends_failure_notification(mlc):
    [instance] = mlc.signal(JIRA, {"MODEL_ID": "no-such-model"})
    variables = instance.variables
    assert instance.status == "completed" and variables["OUTCOME"] == "failed"
    assert variables["ERROR_CODE"] == "SNAPSHOT_NOT_FOUND"
    [note] = [n for n in mlc.feed.list() if n.instance_id == instance.id]
    assert note.status == "error" and "SNAPSHOT_NOT_FOUND" in note.text


def test_back_test_without_dmn_passes_once_the_job_succeeds(mlc):
    snap, instance = mlc.snapshot(tags=[], decision=None)
    [back] = mlc.signal(SERVICENOW, {"MODEL_ID": mlc.sample.model_id})
    assert back.variables["OUTCOME"] == "passed"
    assert "Task_evaluate_dmn" not in mlc.completed_activities(back)


def test_batch_job_scores_with_the_newest_batch_deployment(mlc):
    deployed_snapshot(mlc)
    newest = deployed_snapshot(mlc)
    out = mlc.data_root / "scored"
    [instance] = mlc.signal(BATCH, {"TAG": "sample-classifier", "MODEL_STAGE": "DEV",
                                    "INPUT_FILE": mlc.sample.test_file,
                                    "OUTPUT_FILE": str(out), "PARALLELISM": 2})
    variables = instance.variables
    assert instance.status == "completed", instance
    assert variables["SNAPSHOT_ID"] == newest.id and variables["SCORED_ROWS"] == 200
    assert variables["RUNTIME_ID"] == mlc.sample.batch_runtime_id
    assert (out / "test.csv").exists()
    assert "End_scored" in mlc.completed_activities(instance)


def test_batch_job_without_deployment_opens_ticket_with_reason(mlc):
    [instance] = mlc.signal(BATCH, {"TAG": "nothing-deployed",
                                    "INPUT_FILE": mlc.sample.test_file})
    variables = instance.variables
    assert instance.status == "completed" and variables["ERROR_CODE"] == "NO_DEPLOYMENT"
    ticket = mlc.ticket(variables["ERROR_TICKET"])
    assert ticket.kind == "error" and "nothing-deployed" in ticket.description
    assert "Meant for jira" in ticket.description
    assert "End_problem" in mlc.completed_activities(instance)


def test_batch_job_with_wrong_stage_and_failing_job_open_tickets(mlc):
    deployed_snapshot(mlc)
    [wrong] = mlc.signal(BATCH, {"TAG": "sample-classifier", "MODEL_STAGE": "PROD"})
    assert wrong.variables["ERROR_CODE"] == "NO_DEPLOYMENT"
    [failed] = mlc.signal(BATCH, {"TAG": "sample-classifier",
                                  "INPUT_FILE": str(mlc.data_root / "missing.csv"),
                                  "OUTPUT_FILE": str(mlc.data_root / "o")})
    variables = failed.variables
    assert variables["ERROR_CODE"] == "JOB_FAILED" and variables["OUTCOME"] == "failed"
    assert "missing.csv" in mlc.ticket(variables["ERROR_TICKET"]).description


def test_batch_job_with_no_runtime_left_opens_ticket(mlc):
    deployed_snapshot(mlc)
    from connectors.registry._tables import RuntimeRow
    with mlc.application.db.write_session() as s:  # the runtime was removed after deploying
        s.get(RuntimeRow, mlc.sample.batch_runtime_id).service_tags = []
    [instance] = mlc.signal(BATCH, {"TAG": "sample-classifier",
                                    "INPUT_FILE": mlc.sample.test_file})
    assert instance.variables["ERROR_CODE"] == "NO_RUNTIME"
    assert mlc.ticket(instance.variables["ERROR_TICKET"]).kind == "error"


def test_back_test_into_an_existing_output_fails_the_job_with_the_reason(mlc):
    """Not a retried incident: the output cannot be written, which no retry changes."""
    deployed_snapshot(mlc)
    taken = mlc.data_root / "scored.csv"
    taken.write_text("a,b\n")
    [instance] = mlc.signal(JIRA, {"MODEL_ID": mlc.sample.model_id, "OUTPUT_FILE": str(taken)})
    assert instance.status == "completed" and instance.variables["OUTCOME"] == "job failed"
    assert instance.variables["ERROR_CODE"] == "JOB_FAILED"
    assert "is an existing file" in mlc.ticket(instance.variables["REVIEW_TICKET"]).description
    assert taken.read_text() == "a,b\n" and mlc.engine.incidents() == []

    results = mlc.data_root / "results.json"
    results.write_text("{}")
    [refused] = mlc.signal(JIRA, {"MODEL_ID": mlc.sample.model_id, "OUTPUT_FILE": str(results)})
    assert refused.variables["OUTCOME"] == "job failed"
    assert "output already exists" in refused.variables["ERROR_MESSAGE"]
    assert results.read_text() == "{}"
    [replaced] = mlc.signal(JIRA, {"MODEL_ID": mlc.sample.model_id, "OUTPUT_FILE": str(results),
                                   "OVERWRITE": True})
    assert replaced.variables["OUTCOME"] == "passed"
    assert "roc_auc" in json.loads(results.read_text())["metrics"]
