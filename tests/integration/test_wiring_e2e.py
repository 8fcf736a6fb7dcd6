"""End to end through the composition root: REST -> Engine -> ``ticket.create`` handler ->
ticket back end, and back through a reviewer's decision (local transition or a signed Jira
webhook) as the message ``ticket.resolved`` that resumes the waiting instance."""

from __future__ import annotations

import io

import pytest

from engine import Worker
from tests.fakes.jira import running_fake_jira
from tests.integration.test_tickets_webhooks import SECRET, jira_payload, signed
from tests.support.api import TOKEN, wired_apps  # noqa: F401
from tests.support.bpmn import bpmn, chain, external

BEARER = {"Authorization": f"Bearer {TOKEN}"}
REVIEW_PROCESS = bpmn(
    "review_ticket",
    '<bpmn:startEvent id="s" />',
    external("open_ticket", "ticket.create", extra=(
        '<bpmn:extensionElements><camunda:properties><camunda:property name="kind" '
        'value="review" /></camunda:properties><camunda:failedJobRetryTimeCycle>R2/PT0S'
        '</camunda:failedJobRetryTimeCycle></bpmn:extensionElements>')),
    '<bpmn:intermediateCatchEvent id="decision"><bpmn:messageEventDefinition '
    'messageRef="MsgResolved" /></bpmn:intermediateCatchEvent>',
    '<bpmn:endEvent id="e" />',
    chain("s", "open_ticket", "decision", "e"),
    extra='<bpmn:message id="MsgResolved" name="ticket.resolved" />')
VARIABLES = {"MODEL_ID": "m-1", "MODEL_NAME": "churn", "MODEL_VERSION": "2",
             "SNAPSHOT_ID": "s-1", "TEST_RESULTS": {"auc": 0.91}}


def ok(response, status=200):
    assert response.status_code == status, response.json
    return response.json


def start_review(client, headers=None) -> str:
    ok(client.post("/api/deployments", headers=headers, content_type="multipart/form-data",
                   data={"f": (io.BytesIO(REVIEW_PROCESS), "review.bpmn")}), 201)
    return ok(client.post("/api/process-definitions/review_ticket/start", headers=headers,
                          json={"variables": VARIABLES, "business_key": "churn-v2"}), 201)["id"]


def drain(client) -> int:
    """Run the wired in-process handlers until no task is due (what ``mlc worker`` does)."""
    application = client.application.extensions["mlc_application"]
    worker = Worker(application.engine, application.handlers, worker_id="e2e-worker")
    ran = 0
    try:
        while worker.run_once():
            ran += 1
    finally:
        worker.close()
    return ran


def instance(client, instance_id, headers=None) -> dict:
    return ok(client.get(f"/api/process-instances/{instance_id}", headers=headers))


def test_local_ticket_transition_over_rest_resumes_the_instance(wired_apps):
    client = wired_apps()
    instance_id = start_review(client)
    assert drain(client) == 1
    waiting = instance(client, instance_id)
    assert waiting["status"] == "waiting" and waiting["active_activities"] == ["decision"]
    key = waiting["variables"]["TICKET_KEY"]

    [ticket] = ok(client.get("/api/tickets?open=true"))
    assert (ticket["key"], ticket["kind"], ticket["instance_id"]) == (key, "review", instance_id)
    assert "churn" in ticket["summary"]

    in_review = ok(client.post(f"/api/tickets/{key}/transition", json={"status": "In Review"}))
    assert in_review["resolution"]["outcome"] == "not_terminal"
    assert instance(client, instance_id)["status"] == "waiting"

    decided = ok(client.post(f"/api/tickets/{key}/transition", json={
        "status": "Done", "fields": {"Expiration Date": "2027-06-30"}}))
    assert decided["resolution"] == {"outcome": "resolved", "system": "local", "ticket_key": key,
                                     "status": "Done", "instance_ids": [instance_id],
                                     "message": "Done resumed the waiting process"}
    done = instance(client, instance_id)
    assert done["status"] == "completed"
    assert done["variables"]["TICKET_STATUS"] == "Done"
    assert done["variables"]["EXPIRATION_DATE"] == "2027-06-30"
    assert done["variables"]["TICKET_FIELDS"] == {"Expiration Date": "2027-06-30"}
    again = ok(client.post(f"/api/tickets/{key}/transition", json={"status": "Rejected"}))
    assert again["resolution"]["outcome"] == "already_resolved"
    assert ok(client.get("/api/tickets?open=true")) == []


@pytest.fixture
def jira():
    with running_fake_jira() as (url, state):
        yield url, state


def test_jira_down_incident_retry_one_ticket_then_signed_webhook_resumes(wired_apps, jira):
    url, state = jira
    client = wired_apps(tickets="jira", jira_url=url, jira_user=state.user,
                        jira_token=state.token, jira_webhook_secret=SECRET, api_token=TOKEN)
    backend = client.application.extensions["mlc_application"].services.tickets.service.backend()
    backend.max_retries = 0  # the client is built lazily: no in-client retries against 503s
    state.down = True
    instance_id = start_review(client, BEARER)

    assert drain(client) == 2  # R2/PT0S: two attempts in all, then an incident
    [incident] = ok(client.get("/api/incidents", headers=BEARER))
    assert incident["instance_id"] == instance_id and "Jira" in incident["message"]
    assert instance(client, instance_id, BEARER)["status"] == "incident"
    assert state.issues == {}

    state.down = False
    ok(client.post(f"/api/incidents/{incident['id']}/retry", headers=BEARER))
    assert drain(client) == 1
    waiting = instance(client, instance_id, BEARER)
    assert waiting["status"] == "waiting" and waiting["active_activities"] == ["decision"]
    key = waiting["variables"]["TICKET_KEY"]
    assert list(state.issues) == [key]
    assert [r.path for r in state.requests if r.method == "POST"].count(
        "/rest/api/2/issue") == 1
    assert ok(client.get("/api/incidents", headers=BEARER)) == []
    [indexed] = ok(client.get("/api/tickets?system=jira", headers=BEARER))
    assert (indexed["key"], indexed["instance_id"]) == (key, instance_id)

    # the reviewer moves the issue in Jira; Jira's webhook carries no API token, only its signature
    state.set_status(key, "Done", customfield_10050="2027-06-30")
    body = jira_payload(key=key, to="Done", customfield_10050="2027-06-30")
    assert client.post("/api/webhooks/jira", data=body,
                       headers={"Content-Type": "application/json"}).status_code == 401
    delivered = ok(client.post("/api/webhooks/jira", data=body, headers=signed(body, "w-1")))
    assert delivered["outcome"] == "resolved" and delivered["instance_ids"] == [instance_id]
    done = instance(client, instance_id, BEARER)
    assert done["status"] == "completed"
    assert done["variables"]["TICKET_STATUS"] == "Done"
    assert done["variables"]["EXPIRATION_DATE"] == "2027-06-30"
    redelivered = ok(client.post("/api/webhooks/jira", data=body, headers=signed(body, "w-1")))
    assert redelivered["outcome"] == "duplicate"
    assert len(state.issues) == 1
