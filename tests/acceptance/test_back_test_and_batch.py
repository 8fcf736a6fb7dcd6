"""run_back_test and run_batch_job through the REST API of a real ``mlc serve``, local
tickets (the Jira / ServiceNow tickets of the processes fall back to local ones)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from mlc.demo import BACK_TEST_JIRA, BACK_TEST_SERVICENOW, BATCH_JOB

pytestmark = pytest.mark.slow


def deployed_model(world, tag: str | None = None, new_runtime: bool = True):
    """A model whose snapshot went through the deploy process to a batch runtime of ``tag``."""
    client = world.client
    if tag and new_runtime:
        client.create_runtime(f"rt-{tag}", "DEV", service_tags=[tag])
    model = world.model("bt")
    snapshot, instance = world.submit(model["id"], tags=[],
                                      **({"service_tag": tag} if tag else {}))
    assert client.wait_ended(instance["id"])["variables"]["OUTCOME"] == "deployed"
    return model, snapshot


def started(world, signal: str, variables: dict) -> dict:
    [instance_id] = world.client.signal(signal, variables)["started"]
    return world.client.wait_ended(instance_id)


def test_back_test_jira_passes_and_notifies(world):
    model, snapshot = deployed_model(world)
    done = started(world, BACK_TEST_JIRA, {"MODEL_ID": model["id"]})
    assert done["variables"]["OUTCOME"] == "passed"
    assert done["variables"]["TICKET_SYSTEM"] == "jira"
    results = json.loads(Path(done["variables"]["RESULTS_FILE"]).read_text())
    assert results["snapshot_id"] == snapshot["id"] and results["metrics"]["roc_auc"] > 0.8
    [note] = world.client.notifications(instance_id=done["id"])
    assert note["status"] == "success" and "passed" in note["text"]


def test_back_test_servicenow_fails_criteria_ticket_with_results(world):
    model, _ = deployed_model(world)
    output = world.data_root / "bt" / f"{uuid.uuid4().hex[:6]}.json"
    done = started(world, BACK_TEST_SERVICENOW, {"MODEL_ID": model["name"],
                                                 "INPUT_FILE": world.files["drifted"],
                                                 "OUTPUT_FILE": str(output)})
    assert done["variables"]["OUTCOME"] == "failed criteria"
    assert done["variables"]["TICKET_SYSTEM"] == "servicenow"
    ticket = world.client.ticket(done["variables"]["FAILURE_TICKET"])
    assert ticket["kind"] == "test_failure" and model["name"] in ticket["summary"]
    assert "roc_auc" in ticket["description"] and "servicenow" in ticket["description"]
    assert output.exists()


def test_back_test_job_exception_review_ticket(world):
    model, _ = deployed_model(world)
    unlabeled = world.path(f"unlabeled-{uuid.uuid4().hex[:6]}.csv")
    lines = world.path("test.csv").read_text().splitlines()
    unlabeled.write_text("\n".join(",".join(line.split(",")[:-1]) for line in lines) + "\n")
    done = started(world, BACK_TEST_JIRA, {"MODEL_ID": model["id"],
                                           "INPUT_FILE": str(unlabeled)})
    assert done["variables"]["OUTCOME"] == "job failed"
    ticket = world.client.ticket(done["variables"]["REVIEW_TICKET"])
    assert ticket["kind"] == "review" and "Failure details" in ticket["description"]


def test_back_test_other_error_failure_notification(world):
    done = started(world, BACK_TEST_SERVICENOW, {"MODEL_ID": "no-such-model"})
    assert done["variables"]["OUTCOME"] == "failed"
    [note] = world.client.notifications(instance_id=done["id"])
    assert note["status"] == "error" and "SNAPSHOT_NOT_FOUND" in note["text"]


def test_batch_job_scored_by_newest_batch_deployment(world):
    tag = f"batch-{uuid.uuid4().hex[:6]}"
    deployed_model(world, tag)
    _, newest = deployed_model(world, tag, new_runtime=False)
    out = world.data_root / "scored" / tag
    done = started(world, BATCH_JOB, {"TAG": tag, "MODEL_STAGE": "DEV",
                                      "INPUT_FILE": world.files["test"],
                                      "OUTPUT_FILE": str(out), "PARALLELISM": 2})
    assert done["variables"]["OUTCOME"] == "scored"
    assert done["variables"]["SNAPSHOT_ID"] == newest["id"]
    assert done["variables"]["SCORED_ROWS"] == 200 and (out / "test.csv").exists()
    [job] = world.client.jobs(snapshot_id=newest["id"], type="scoring")
    assert job["state"] == "succeeded"


def test_batch_job_without_deployment_ticket_with_reason(world):
    done = started(world, BATCH_JOB, {"TAG": "never-deployed"})
    assert done["variables"]["ERROR_CODE"] == "NO_DEPLOYMENT"
    ticket = world.client.ticket(done["variables"]["ERROR_TICKET"])
    assert ticket["kind"] == "error" and "never-deployed" in ticket["description"]


def test_batch_job_failure_ticket(world):
    tag = f"fail-{uuid.uuid4().hex[:6]}"
    deployed_model(world, tag)
    done = started(world, BATCH_JOB, {"TAG": tag,
                                      "INPUT_FILE": str(world.path("missing.csv")),
                                      "OUTPUT_FILE": str(world.data_root / "o" / tag)})
    assert done["variables"]["ERROR_CODE"] == "JOB_FAILED"
    assert "missing.csv" in world.client.ticket(done["variables"]["ERROR_TICKET"])["description"]
