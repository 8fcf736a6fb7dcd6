"""Ticket, notification and webhook routes over an app built by the real composition root."""

from __future__ import annotations

import json

from connectors.tickets import TicketRequest
from tests.integration.test_tickets_webhooks import SECRET, SNOW_SECRET, jira_payload, signed
from tests.support.api import TOKEN, wired_apps, wired_client  # noqa: F401

BEARER = {"Authorization": f"Bearer {TOKEN}"}


def services(client):
    return client.application.extensions["mlc_application"].services


def open_ticket(client, kind="review", key="k-1", instance_id="i-1", summary="Review churn v2"):
    ticket, _ = services(client).tickets.service.open_ticket(TicketRequest(
        kind, summary, "body", idempotency_key=key, instance_id=instance_id,
        fields={"Model Id": "m-1"}))
    return ticket


def problem_fields(response, status=400):
    assert response.status_code == status, response.json
    return [p["field"] for p in response.json["problems"]]


# ---------------------------------------------------------------- tickets


def test_tickets_listed_with_filters_and_shown(wired_client):
    assert wired_client.get("/api/tickets").json == []
    review = open_ticket(wired_client)
    failure = open_ticket(wired_client, "test_failure", "k-2", "i-2", "Tests failed")
    wired_client.post(f"/api/tickets/{failure.key}/transition", json={"status": "Rejected"})

    assert [t["key"] for t in wired_client.get("/api/tickets").json] == [review.key,
                                                                         failure.key]
    assert [t["key"] for t in wired_client.get("/api/tickets?open=true").json] == [review.key]
    assert [t["key"] for t in wired_client.get("/api/tickets?open=false").json] == [failure.key]
    assert [t["key"] for t in wired_client.get("/api/tickets?kind=test_failure").json] == \
        [failure.key]
    assert [t["key"] for t in wired_client.get("/api/tickets?status=Open").json] == [review.key]
    assert [t["key"] for t in wired_client.get("/api/tickets?instance_id=i-1").json] == \
        [review.key]
    assert wired_client.get("/api/tickets?system=jira").json == []
    assert len(wired_client.get("/api/tickets?limit=1").json) == 1
    assert problem_fields(wired_client.get("/api/tickets?system=trello")) == ["system"]
    assert problem_fields(wired_client.get("/api/tickets?open=maybe")) == ["open"]

    shown = wired_client.get(f"/api/tickets/{failure.key}").json
    assert shown["status"] == "Rejected" and shown["summary"] == "Tests failed"
    assert [e["event"] for e in shown["events"]] == ["created", "transition"]
    missing = wired_client.get("/api/tickets/MLC-404")
    assert missing.status_code == 404 and "MLC-404" in missing.json["message"]


def test_transition_records_decision_even_when_no_process_waits(wired_client):
    ticket = open_ticket(wired_client)
    moved = wired_client.post(f"/api/tickets/{ticket.key}/transition", json={
        "status": "Done", "fields": {"Expiration Date": "2027-06-30"}})
    assert moved.status_code == 200, moved.json
    assert moved.json["ticket"]["status"] == "Done"
    assert moved.json["ticket"]["fields"] == {"Model Id": "m-1", "Expiration Date": "2027-06-30"}
    assert moved.json["resolution"] == {
        "outcome": "not_waiting", "system": "local", "ticket_key": ticket.key, "status": "Done",
        "instance_ids": [], "message": f"Done is recorded, but no process waits for {ticket.key}"}


def test_a_status_that_is_no_decision_is_explained_and_an_unknown_one_refused(wired_client):
    ticket = open_ticket(wired_client)
    url = f"/api/tickets/local/{ticket.key}/transition"
    refused = wired_client.post(url, json={"status": "Approved"})
    assert refused.status_code == 400
    assert refused.json["message"] == (
        "'Approved' is not a status of local tickets: the decisions Done, Rejected resume the "
        "waiting process; Open, In Progress, In Review keep it waiting")
    assert wired_client.get(f"/api/tickets/local/{ticket.key}").json["status"] == "Open"
    working = wired_client.post(url, json={"status": "in review"})
    assert working.status_code == 200 and working.json["ticket"]["status"] == "In Review"
    assert working.json["resolution"]["outcome"] == "not_terminal"
    assert working.json["resolution"]["message"] == (
        "In Review is not a decision: the process keeps waiting until the ticket reaches one "
        "of Done, Rejected")


def test_transition_errors(wired_client):
    ticket = open_ticket(wired_client)
    url = f"/api/tickets/{ticket.key}/transition"
    assert problem_fields(wired_client.post(url, json={})) == ["status"]
    assert problem_fields(wired_client.post(url, json={"status": ""})) == ["status"]
    assert problem_fields(wired_client.post(url, json={"status": "x" * 65})) == ["status"]
    assert problem_fields(wired_client.post(url, json={"status": "Done",
                                                       "fields": ["a"]})) == ["fields"]
    assert problem_fields(wired_client.post(url, json={"status": "Done", "to": "x"})) == ["to"]
    malformed = wired_client.post(url, data="{", content_type="application/json")
    assert malformed.status_code == 400 and "malformed JSON" in malformed.json["message"]
    unknown = wired_client.post("/api/tickets/MLC-404/transition", json={"status": "Done"})
    assert unknown.status_code == 404
    assert wired_client.get(f"/api/tickets/{ticket.key}").json["status"] == "Open"


# ---------------------------------------------------------------- notifications


def test_notifications_listed_newest_first_with_filters(wired_client):
    feed = services(wired_client).notifications
    first, _ = feed.add(channel="feed", status="success", title="deployed", instance_id="i-1")
    second, _ = feed.add(channel="webhook", status="error", title="failed", instance_id="i-2",
                         data={"target": "POST https://hooks.example/***"})
    assert [n["id"] for n in wired_client.get("/api/notifications").json] == [second.id,
                                                                              first.id]
    [only] = wired_client.get("/api/notifications?channel=webhook").json
    assert only["title"] == "failed" and only["data"]["target"].endswith("***")
    assert [n["id"] for n in wired_client.get("/api/notifications?instance_id=i-1").json] == \
        [first.id]
    assert len(wired_client.get("/api/notifications?limit=1").json) == 1
    assert problem_fields(wired_client.get("/api/notifications?channel=pager")) == ["channel"]
    assert problem_fields(wired_client.get("/api/notifications?limit=-1")) == ["limit"]


# ---------------------------------------------------------------- webhooks


def post_jira(client, body: bytes, headers: dict | None = None):
    return client.post("/api/webhooks/jira", data=body,
                       headers={"Content-Type": "application/json", **(headers or {})})


def test_jira_webhook_signature_checked_over_the_raw_body(wired_apps):
    client = wired_apps(jira_webhook_secret=SECRET)
    body = jira_payload(key="MLC-9", to="In Review")
    assert post_jira(client, body).status_code == 401
    wrong = post_jira(client, body, signed(body, secret="guess"))
    assert wrong.status_code == 403 and wrong.json["error"] == "webhook_forbidden"
    reformatted = json.dumps(json.loads(body), indent=1).encode()  # same JSON, other bytes
    assert post_jira(client, reformatted, signed(body)).status_code == 403
    ok = post_jira(client, body, signed(body))
    assert ok.status_code == 200
    assert ok.json["outcome"] == "not_terminal" and ok.json["ticket_key"] == "MLC-9"
    assert post_jira(client, body, signed(body)).json["outcome"] == "duplicate"
    not_json = b"not json"
    assert post_jira(client, not_json, signed(not_json, "d-2")).status_code == 400


def test_webhooks_without_a_secret_refuse_every_delivery(wired_client):
    body = jira_payload()
    refused = post_jira(wired_client, body, signed(body))
    assert refused.status_code == 403 and refused.json["error"] == "webhook_not_configured"
    assert "MLC_JIRA_WEBHOOK_SECRET" in refused.json["message"]
    snow = wired_client.post("/api/webhooks/servicenow", json={"number": "INC1", "state": "6"},
                             headers={"X-MLC-Webhook-Secret": "anything"})
    assert snow.status_code == 403 and "MLC_SERVICENOW_WEBHOOK_SECRET" in snow.json["message"]


def test_signed_webhooks_need_no_api_token_but_unsigned_routes_do(wired_apps):
    client = wired_apps(api_token=TOKEN, jira_webhook_secret=SECRET)
    body = jira_payload(key="MLC-9", to="In Review")
    assert post_jira(client, body, signed(body)).status_code == 200  # no bearer token
    assert post_jira(client, body).status_code == 401  # the signature is still required
    assert client.get("/api/tickets").status_code == 401
    assert client.get("/api/tickets", headers=BEARER).status_code == 200
    # ServiceNow has no secret here: its webhook keeps the token check, then refuses
    snow = {"number": "INC1", "state": "6"}
    assert client.post("/api/webhooks/servicenow", json=snow).status_code == 401
    assert client.post("/api/webhooks/servicenow", json=snow,
                       headers=BEARER).status_code == 403


def test_servicenow_webhook_shared_secret(wired_apps):
    client = wired_apps(servicenow_webhook_secret=SNOW_SECRET)
    body = {"number": "INC0010001", "state": "2"}
    assert client.post("/api/webhooks/servicenow", json=body).status_code == 401
    assert client.post("/api/webhooks/servicenow", json=body,
                       headers={"X-MLC-Webhook-Secret": "guess"}).status_code == 403
    ok = client.post("/api/webhooks/servicenow", json=body,
                     headers={"X-MLC-Webhook-Secret": SNOW_SECRET})
    assert ok.status_code == 200
    assert (ok.json["outcome"], ok.json["status"]) == ("not_terminal", "In Progress")
    incomplete = client.post("/api/webhooks/servicenow", json={"state": "6"},
                             headers={"X-MLC-Webhook-Secret": SNOW_SECRET})
    assert incomplete.status_code == 400 and "'number'" in incomplete.json["message"]


def test_ticket_routes_are_in_the_openapi_document(wired_client):
    paths = wired_client.get("/api/openapi.json").json["paths"]
    for path in ("/api/tickets", "/api/tickets/{key}", "/api/tickets/{key}/transition",
                 "/api/notifications", "/api/webhooks/jira", "/api/webhooks/servicenow"):
        assert path in paths, path
    schema = wired_client.get("/api/openapi.json").json["components"]["schemas"]
    assert schema["TransitionRequest"]["required"] == ["status"]
    status_doc = schema["TransitionRequest"]["properties"]["status"]["description"]
    assert "Open, In Progress, In Review" in status_doc and "Done, Rejected" in status_doc
    assert "Resolved, Closed, Canceled" in status_doc
