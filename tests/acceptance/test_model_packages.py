"""A model package through deploy_with_test_and_jira on a real ``mlc serve``: the worked
example's churn model (its own requirements.model, test_model.py and shared ``common``), its
tests a gate before the metrics test, and the test artifact it was uploaded with deployed."""

from __future__ import annotations

import json

import pytest

from tests.acceptance.conftest import serve_world
from tests.conftest import BACKENDS
from tests.support.model_packages import EXAMPLE, copy_model

pytestmark = pytest.mark.slow

REVIEW = "Event_review_resolved"
TEST_FAILURE = "Event_test_failure_resolved"
BUILD_WAIT = 300.0  # the first build of the example's environment on a cold uv cache

BROKEN_TEST = '''

def test_churn_needs_a_reason():
    assert model.THRESHOLD == 0.9, "the threshold was not reviewed"
'''


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory, model_envs):
    """A served MLC whose model environments are the test run's shared cache."""
    yield from serve_world(request, tmp_path_factory, env={
        "MLC_MODEL_ENVS": str(model_envs.root)})


def _upload(client, model_id: str, folder) -> dict:
    with open(folder / "weights.json", "rb") as weights:
        answer = client.session.post(f"{client.base}/api/models/{model_id}/artifacts",
                                     data={"env": "test", "user": "ci",
                                           "metadata": json.dumps({"source": "example"})},
                                     files=[("files", ("weights.json", weights))], timeout=30)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_failing_model_tests_open_the_test_failure_ticket_then_the_fixed_model_deploys(
        world, tmp_path):
    client = world.client
    folder = copy_model(EXAMPLE / "churn", tmp_path)
    good_tests = (folder / "test_model.py").read_text()
    (folder / "test_model.py").write_text(good_tests + BROKEN_TEST)
    model = world.model("packaged")
    artifact = _upload(client, model["id"], folder)
    snapshot, instance = world.submit(model["id"], tags=["run_test", "jira"],
                                      source=str(folder))

    waiting = client.wait_at(instance["id"], TEST_FAILURE, timeout=BUILD_WAIT)
    ticket = client.ticket(waiting["variables"]["TICKET_KEY"])
    assert ticket["kind"] == "test_failure"
    for text in ("Model tests", "test_churn_needs_a_reason", "the threshold was not reviewed",
                 "tabulate==0.8.10"):
        assert text in ticket["description"], text
    report = client.snapshot(snapshot["id"])["model_tests"]
    assert (report["status"], report["passed"], report["failed"]) == ("failed", 3, 1)
    assert report["environment"]["requirements"] == ["tabulate==0.8.10"]
    [tests_job] = client.jobs(snapshot_id=snapshot["id"])  # no metrics job ran
    assert tests_job["job_type"] == "tests" and tests_job["state"] == "failed"
    assert client.deployed_models(snapshot_id=snapshot["id"]) == []

    (folder / "test_model.py").write_text(good_tests)  # the fix
    client.transition(ticket["key"], "Done")
    review = client.wait_at(instance["id"], REVIEW, timeout=BUILD_WAIT)
    assert review["variables"]["MODEL_TESTS"] == "passed"
    assert review["variables"]["TEST_RESULTS"]["roc_auc"] > 0.8
    assert client.snapshot(snapshot["id"])["model_tests"]["status"] == "passed"
    assert sorted(j["job_type"] for j in client.jobs(snapshot_id=snapshot["id"])) == [
        "metrics", "tests", "tests"]
    client.transition(review["variables"]["REVIEW_TICKET"], "Done")
    done = client.wait_ended(instance["id"])
    assert done["variables"]["OUTCOME"] == "deployed"
    [deployment] = client.deployed_models(snapshot_id=snapshot["id"])
    assert deployment["artifact_id"] == artifact["id"]  # the newest test artifact on DEV


def test_a_folder_without_tests_passes_the_gate(world, tmp_path):
    client = world.client
    folder = copy_model(EXAMPLE / "churn_v2", tmp_path)
    (folder / "test_model.py").unlink()
    snapshot, instance = world.submit(world.model("untested")["id"], tags=["run_test", "jira"],
                                      source=str(folder))
    review = client.wait_at(instance["id"], REVIEW, timeout=BUILD_WAIT)
    assert review["variables"]["MODEL_TESTS"] == "none"
    assert [j["job_type"] for j in client.jobs(snapshot_id=snapshot["id"])] == ["metrics"]
    metrics = client.jobs(snapshot_id=snapshot["id"])[0]
    assert metrics["outputs"]["environment"]["requirements"] == ["tabulate==0.10.0"]
