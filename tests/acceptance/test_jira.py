"""The main happy paths again with the Jira back end: tickets go to the test Jira server and
reviewers' decisions come back through signed Jira webhooks to a real ``mlc serve``."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from connectors.tickets.webhooks import jira_signature
from mlc.demo import BACK_TEST_JIRA, BATCH_JOB
from tests.acceptance.conftest import serve_world
from tests.conftest import BACKENDS
from tests.fakes.jira import running_fake_jira

pytestmark = pytest.mark.slow

SECRET = "acceptance-jira-secret"
REVIEW = "Event_review_resolved"


@pytest.fixture(scope="module")
def jira():
    with running_fake_jira() as (url, state):
        yield url, state


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory, jira):
    url, state = jira
    env = {"MLC_TICKETS": "jira", "MLC_JIRA_URL": url, "MLC_JIRA_USER": state.user,
           "MLC_JIRA_TOKEN": state.token, "MLC_JIRA_PROJECT": "MLC",
           "MLC_JIRA_WEBHOOK_SECRET": SECRET, "MLC_TICKET_POLL_INTERVAL": "3600"}
    yield from serve_world(request, tmp_path_factory, env=env)


def decide_in_jira(world, jira_state, key: str, status: str, **fields) -> dict:
    """What a reviewer does: move the issue in Jira; Jira then posts its signed webhook."""
    jira_state.set_status(key, status, **fields)
    body = json.dumps({
        "timestamp": 1761000000000, "webhookEvent": "jira:issue_updated",
        "issue": {"key": key, "fields": {"status": {"name": status}, **fields}},
        "changelog": {"items": [{"field": "status", "fieldtype": "jira",
                                 "fromString": "Open", "toString": status}]}}).encode()
    answer = requests.post(world.served.base + "/api/webhooks/jira", data=body, timeout=30,
                           headers={"X-Hub-Signature": jira_signature(SECRET, body),
                                    "X-Atlassian-Webhook-Identifier": uuid.uuid4().hex,
                                    "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_review_in_jira_done_with_expiration_deploys(world, jira):
    _, state = jira
    client = world.client
    snapshot, instance = world.submit(world.model("jira")["id"])
    key = client.wait_at(instance["id"], REVIEW)["variables"]["REVIEW_TICKET"]
    issue = state.issues[key]["fields"]
    assert "Review requested" in issue["summary"] and "||Metric||Value||" in issue["description"]
    assert client.ticket(key)["system"] == "jira"
    unsigned = requests.post(world.served.base + "/api/webhooks/jira", data=b"{}", timeout=30)
    assert unsigned.status_code == 401
    outcome = decide_in_jira(world, state, key, "Done", customfield_10050="2027-06-30")
    assert outcome["outcome"] == "resolved"
    done = client.wait_ended(instance["id"])
    assert done["variables"]["OUTCOME"] == "deployed"
    assert client.snapshot(snapshot["id"])["expiration_date"].startswith("2027-06-30")
    assert client.deployed_models(snapshot_id=snapshot["id"])[0]["state"] == "deployed"


def test_review_in_jira_rejected_opens_jira_rejection_ticket(world, jira):
    _, state = jira
    client = world.client
    _, instance = world.submit(world.model("jira-no")["id"])
    key = client.wait_at(instance["id"], REVIEW)["variables"]["REVIEW_TICKET"]
    decide_in_jira(world, state, key, "Rejected")
    done = client.wait_ended(instance["id"])
    rejection = done["variables"]["REJECTION_TICKET"]
    assert rejection in state.issues and rejection != key
    assert "mlc-rejection" in state.issues[rejection]["fields"]["labels"]


def test_failed_back_test_and_batch_without_deployment_open_jira_tickets(world, jira):
    _, state = jira
    client = world.client
    model = world.model("jira-bt")
    _, instance = world.submit(model["id"], tags=[])
    client.wait_ended(instance["id"])
    [bt] = client.signal(BACK_TEST_JIRA, {"MODEL_ID": model["id"],
                                          "INPUT_FILE": world.files["drifted"]})["started"]
    failed = client.wait_ended(bt)
    key = failed["variables"]["FAILURE_TICKET"]
    assert "Back test failed" in state.issues[key]["fields"]["summary"]
    [batch] = client.signal(BATCH_JOB, {"TAG": "not-in-jira-either"})["started"]
    done = client.wait_ended(batch)
    assert done["variables"]["ERROR_TICKET"] in state.issues
