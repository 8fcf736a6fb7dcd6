"""deploy_with_test_and_jira through the REST API of a real ``mlc serve``, local tickets:
every numbered step and every error path of issue 7."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.slow

REVIEW = "Event_review_resolved"
TEST_FAILURE = "Event_test_failure_resolved"


def test_train_test_review_done_with_expiration_monitors_batch_deploy(world):
    client = world.client
    model = world.model("happy")
    snapshot, instance = world.submit(model["id"], tags=["train", "run_test", "jira"],
                                      schedules=[{"cron": "0 6 * * *"}])
    waiting = client.wait_at(instance["id"], REVIEW)
    review = client.ticket(waiting["variables"]["REVIEW_TICKET"])
    assert review["kind"] == "review" and review["status"] == "Open"
    for text in ("Test results", "roc_auc", "What changed", model["name"]):
        assert text in review["description"] or text in review["summary"], text
    assert {j["job_type"] for j in client.jobs(snapshot_id=snapshot["id"])} == {
        "training", "metrics"}
    assert client.snapshot(snapshot["id"])["test_results"]["roc_auc"] > 0.8  # persisted

    answer = client.transition(review["key"], "Done", {"Expiration Date": "2027-06-30"})
    assert answer["resolution"]["outcome"] == "resolved"
    done = client.wait_ended(instance["id"])
    assert done["variables"]["OUTCOME"] == "deployed"
    stored = client.snapshot(snapshot["id"])
    assert stored["expiration_date"].startswith("2027-06-30")
    assert len(stored["monitors"]) == 4
    [deployment] = client.deployed_models(snapshot_id=snapshot["id"])
    assert deployment["mode"] == "batch" and deployment["state"] == "deployed"

    second, again = world.submit(model["id"], tags=[])      # step 9: schedules carried over
    finished = client.wait_ended(again["id"])
    assert finished["variables"]["SCHEDULES_COPIED"] == 1
    assert client.snapshot(second["id"])["schedules"] == [{"cron": "0 6 * * *"}]
    assert client.deployed_models(snapshot_id=snapshot["id"])[0]["state"] == "retired"


def test_review_done_without_expiration_one_year_and_online_deploy(world):
    client = world.client
    snapshot, instance = world.submit(world.model("online")["id"],
                                      service_tag="sample-classifier-online")
    waiting = client.wait_at(instance["id"], REVIEW)
    client.transition(waiting["variables"]["REVIEW_TICKET"], "Done")
    done = client.wait_ended(instance["id"])
    assert done["variables"]["DEPLOYMENT_MODE"] == "online"
    expiration = datetime.fromisoformat(client.snapshot(snapshot["id"])["expiration_date"])
    expected = datetime.now(UTC) + timedelta(days=365)
    assert abs((expiration - expected).total_seconds()) < 3600
    [deployment] = client.deployed_models(snapshot_id=snapshot["id"])
    assert deployment["mode"] == "online"


def test_missing_test_data_rejection_ticket(world):
    _, instance = world.submit(world.model("nodata")["id"], test_file="")
    done = world.client.wait_ended(instance["id"])
    assert done["variables"]["OUTCOME_REASON"] == "missing test data"
    ticket = world.client.ticket(done["variables"]["REJECTION_TICKET"])
    assert ticket["kind"] == "rejection" and "missing test data" in ticket["description"]


def test_job_failure_ticket_then_retry_after_done(world):
    client = world.client
    late = world.path(f"late-{id(world)}.csv")
    _, instance = world.submit(world.model("retry")["id"], test_file=str(late))
    first = client.wait_at(instance["id"], TEST_FAILURE)["variables"]["TICKET_KEY"]
    ticket = client.ticket(first)
    assert ticket["kind"] == "test_failure" and late.name in ticket["description"]
    late.write_bytes(world.path("test.csv").read_bytes())
    client.transition(first, "Done")
    waiting = client.wait_at(instance["id"], REVIEW)
    assert waiting["variables"]["DECISION_PASSED"] is True
    client.transition(waiting["variables"]["REVIEW_TICKET"], "Rejected")
    assert client.wait_ended(instance["id"])["variables"]["OUTCOME"] == "rejected"


def test_job_failure_ticket_rejected_ends_rejected(world):
    client = world.client
    _, instance = world.submit(world.model("givenup")["id"],
                               test_file=str(world.path("never-there.csv")))
    key = client.wait_at(instance["id"], TEST_FAILURE)["variables"]["TICKET_KEY"]
    client.transition(key, "Rejected")
    done = client.wait_ended(instance["id"])
    assert "End_test_rejected" in client.completed_activities(done["id"])


def test_dmn_criteria_failure_rejection_ticket(world):
    _, instance = world.submit(world.model("weak")["id"], test_file=world.files["drifted"])
    done = world.client.wait_ended(instance["id"])
    assert done["variables"]["OUTCOME_REASON"] == "DMN criteria"
    ticket = world.client.ticket(done["variables"]["REJECTION_TICKET"])
    assert "DMN criteria" in ticket["description"] and "thresholds" in ticket["description"]


def test_review_rejected_rejection_ticket(world):
    client = world.client
    snapshot, instance = world.submit(world.model("rejected")["id"])
    key = client.wait_at(instance["id"], REVIEW)["variables"]["REVIEW_TICKET"]
    client.transition(key, "Rejected")
    done = client.wait_ended(instance["id"])
    assert client.ticket(done["variables"]["REJECTION_TICKET"])["kind"] == "rejection"
    assert client.deployed_models(snapshot_id=snapshot["id"]) == []


def test_no_runtime_error_ticket(world):
    _, instance = world.submit(world.model("orphan")["id"], tags=[], service_tag="no-such-tag")
    done = world.client.wait_ended(instance["id"])
    assert done["variables"]["ERROR_CODE"] == "NO_RUNTIME"
    assert world.client.ticket(done["variables"]["ERROR_TICKET"])["kind"] == "error"


def test_any_other_error_error_ticket_failed_state_reason_in_history(world):
    client = world.client
    _, instance = world.submit(world.model("baddate")["id"], tags=["jira"],
                               dmn_decision_key=None)
    key = client.wait_at(instance["id"], REVIEW)["variables"]["REVIEW_TICKET"]
    client.transition(key, "Done", {"Expiration Date": "someday"})
    done = client.wait_ended(instance["id"])
    assert done["variables"]["OUTCOME"] == "failed"
    assert done["variables"]["ERROR_CODE"] == "INVALID_EXPIRATION_DATE"
    assert "someday" in client.ticket(done["variables"]["ERROR_TICKET"])["description"]
    [thrown] = [h for h in client.history(done["id"]) if h["kind"] == "bpmn_error.thrown"]
    assert "someday" in thrown["data"]["message"]


def test_redeploy_from_camunda_modeler_endpoint(world):
    """What the Modeler's Deploy button sends to /engine-rest: a changed file gets a new
    version, an unchanged one is filtered out."""
    import requests

    from mlc.sample import PROCESSES_DIR

    path = PROCESSES_DIR / "run_batch_job.bpmn"
    edited = path.read_bytes().replace(b'name="Scored"', b'name="Scored (edited)"')

    def deploy(content: bytes) -> dict:
        answer = requests.post(world.served.base + "/engine-rest/deployment/create", timeout=30,
                               data={"deployment-name": "from-modeler",
                                     "deployment-source": "Camunda Modeler",
                                     "deploy-changed-only": "true"},
                               files={path.name: (path.name, content, "application/octet-stream")})
        assert answer.status_code == 200, answer.text
        return answer.json()

    before = [d for d in world.client.get("/api/process-definitions")
              if d["key"] == "run_batch_job"]
    deploy(path.read_bytes())
    deploy(edited)
    after = [d for d in world.client.get("/api/process-definitions")
             if d["key"] == "run_batch_job"]
    assert len(after) == len(before) + 1
