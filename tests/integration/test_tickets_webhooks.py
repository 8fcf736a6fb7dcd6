"""Jira and ServiceNow webhooks: signatures, parsing, duplicate deliveries, resolution."""

from __future__ import annotations

import json

import pytest

from connectors.tickets import (
    TicketResolver,
    TicketStore,
    WebhookAuthenticationError,
    WebhookSignatureError,
)
from connectors.tickets.backend import Ticket
from connectors.tickets.jira_backend import JiraTicketBackend
from connectors.tickets.webhooks import TicketWebhookReceiver, jira_signature
from engine.errors import ConfigurationError, ValidationError
from tests.fakes.correlator import RecordingCorrelator
from tests.fakes.jira import running_fake_jira

SECRET = "jira-webhook-secret"
SNOW_SECRET = "snow-webhook-secret"


def jira_payload(key="MLC-7", to="Done", event="jira:issue_updated", field="status", **fields):
    return json.dumps({
        "timestamp": 1761000000000, "webhookEvent": event,
        "issue": {"key": key, "fields": {"status": {"name": to}, **fields}},
        "changelog": {"items": [{"field": field, "fieldtype": "jira",
                                 "fromString": "In Review", "toString": to}]},
    }).encode()


def signed(body: bytes, delivery: str = "d-1", secret: str = SECRET) -> dict[str, str]:
    return {"X-Hub-Signature": jira_signature(secret, body),
            "X-Atlassian-Webhook-Identifier": delivery, "Content-Type": "application/json"}


@pytest.fixture
def store(database):
    store = TicketStore(database)
    store.record_remote(Ticket(key="MLC-7", system="jira", status="Open", kind="review",
                               idempotency_key="i-1:Review:1", instance_id="i-1"))
    return store


@pytest.fixture
def correlator():
    correlator = RecordingCorrelator()
    correlator.wait_for("MLC-7", "i-1", "jira")
    return correlator


@pytest.fixture
def receiver(store, correlator):
    return TicketWebhookReceiver(store, TicketResolver(store, correlator), jira_secret=SECRET,
                                 servicenow_secret=SNOW_SECRET)


def test_signed_done_resumes_the_waiting_process(receiver, correlator, store):
    body = jira_payload(customfield_10050="2027-06-30")
    outcome = receiver.handle_jira_webhook(body, signed(body))
    assert outcome.to_dict() == {"outcome": "resolved", "system": "jira", "ticket_key": "MLC-7",
                                 "status": "Done", "instance_ids": ["i-1"], "reason": ""}
    [call] = correlator.calls
    assert call["name"] == "ticket.resolved" and call["correlation"] == {"TICKET_REF": "jira:MLC-7"}
    assert call["variables"]["TICKET_STATUS"] == "Done"
    assert call["variables"]["TICKET_FIELDS"] == {"customfield_10050": "2027-06-30"}
    assert store.get("MLC-7", "jira").status == "Done"


def test_missing_signature_is_401(receiver, correlator):
    body = jira_payload()
    with pytest.raises(WebhookAuthenticationError) as failure:
        receiver.handle_jira_webhook(body, {"X-Atlassian-Webhook-Identifier": "d-1"})
    assert failure.value.status == 401
    assert not isinstance(failure.value, WebhookSignatureError)
    assert correlator.calls == []


@pytest.mark.parametrize("headers", [
    lambda body: signed(body, secret="another-secret"),
    lambda body: {"X-Hub-Signature": "sha256=" + "0" * 64},
    lambda body: {"X-Hub-Signature": jira_signature(SECRET, body + b" ")},
    lambda body: {"X-Hub-Signature": jira_signature(SECRET, body)[len("sha256="):]},
])
def test_bad_signature_is_403(receiver, correlator, headers):
    body = jira_payload()
    with pytest.raises(WebhookSignatureError) as failure:
        receiver.handle_jira_webhook(body, headers(body))
    assert failure.value.status == 403
    assert correlator.calls == []


def test_header_names_are_case_insensitive(receiver):
    body = jira_payload()
    headers = {k.lower(): v for k, v in signed(body).items()}
    assert receiver.handle_jira_webhook(body, headers).outcome == "resolved"


def test_no_secret_configured_refuses_every_delivery(store, correlator):
    receiver = TicketWebhookReceiver(store, TicketResolver(store, correlator))
    body = jira_payload()
    with pytest.raises(ConfigurationError):
        receiver.handle_jira_webhook(body, signed(body, secret=""))


def test_duplicate_delivery_is_dropped_even_after_a_restart(store, correlator, receiver):
    body = jira_payload(to="In Review")
    assert receiver.handle_jira_webhook(body, signed(body, "d-9")).outcome == "not_terminal"
    restarted = TicketWebhookReceiver(store, TicketResolver(store, correlator),
                                      jira_secret=SECRET)
    done = jira_payload(to="Done")
    # Same delivery id as before: Jira redelivering, even if the body differed.
    assert restarted.handle_jira_webhook(done, signed(done, "d-9")).outcome == "duplicate"
    assert correlator.calls == []
    assert restarted.handle_jira_webhook(done, signed(done, "d-10")).outcome == "resolved"
    assert restarted.handle_jira_webhook(done, signed(done, "d-11")).outcome == \
        "already_resolved"
    assert len(correlator.calls) == 1


def test_failed_correlation_is_not_recorded_so_the_redelivery_works(store, receiver,
                                                                    correlator):
    correlator.waiting.clear()

    class Boom(RecordingCorrelator):
        def correlate_message(self, *a, **kw):
            raise RuntimeError("database is locked")

    flaky = TicketWebhookReceiver(store, TicketResolver(store, Boom()), jira_secret=SECRET)
    body = jira_payload()
    with pytest.raises(RuntimeError):
        flaky.handle_jira_webhook(body, signed(body, "d-5"))
    correlator.wait_for("MLC-7", "i-1", "jira")
    assert receiver.handle_jira_webhook(body, signed(body, "d-5")).outcome == "resolved"


@pytest.mark.parametrize("body", [
    jira_payload(event="jira:issue_created"),
    jira_payload(field="assignee"),
])
def test_other_events_and_changes_are_ignored(receiver, correlator, body):
    assert receiver.handle_jira_webhook(body, signed(body)).outcome == "ignored"
    assert correlator.calls == []


def test_body_that_is_not_json_is_a_validation_error(receiver):
    with pytest.raises(ValidationError):
        receiver.handle_jira_webhook(b"<xml/>", signed(b"<xml/>"))


def test_custom_fields_are_named_through_jira(store, correlator):
    with running_fake_jira() as (url, state):
        jira = JiraTicketBackend(url, state.user, state.token, max_retries=0, timeout=5)
        receiver = TicketWebhookReceiver(store, TicketResolver(store, correlator),
                                         jira_secret=SECRET,
                                         field_namers={"jira": jira.fields_by_name})
        body = jira_payload(customfield_10050="2027-06-30")
        receiver.handle_jira_webhook(body, signed(body))
    variables = correlator.calls[0]["variables"]
    assert variables["TICKET_FIELDS"] == {"Expiration Date": "2027-06-30"}
    assert variables["EXPIRATION_DATE"] == "2027-06-30"


@pytest.mark.parametrize("shape", [
    {"webhookEvent": "jira:issue_updated", "issue": "MLC-7"},
    {"webhookEvent": "jira:issue_updated", "issue": {"key": "MLC-7"}, "changelog": []},
    {"webhookEvent": "jira:issue_updated", "issue": {"key": "MLC-7"},
     "changelog": {"items": ["status"]}},
    {"webhookEvent": "jira:issue_updated", "issue": {"key": "MLC-7", "fields": [1]},
     "changelog": {"items": [{"field": "status", "toString": "Done"}]}},
])
def test_signed_body_of_the_wrong_shape_is_a_validation_error(receiver, correlator, shape):
    body = json.dumps(shape).encode()
    with pytest.raises(ValidationError):
        receiver.handle_jira_webhook(body, signed(body))
    assert correlator.calls == []


def test_servicenow_webhook_secret_and_resolution(store, correlator):
    store.record_remote(Ticket(key="INC0010001", system="servicenow", status="New"))
    correlator.wait_for("INC0010001", "i-2", "servicenow")
    receiver = TicketWebhookReceiver(store, TicketResolver(store, correlator),
                                     servicenow_secret=SNOW_SECRET)
    body = json.dumps({"number": "INC0010001", "state": "6",
                       "fields": {"Expiration Date": "2027-01-31"}}).encode()
    with pytest.raises(WebhookAuthenticationError) as missing:
        receiver.handle_servicenow_webhook(body, {})
    assert missing.value.status == 401
    with pytest.raises(WebhookSignatureError) as wrong:
        receiver.handle_servicenow_webhook(body, {"X-MLC-Webhook-Secret": "guess"})
    assert wrong.value.status == 403
    headers = {"X-MLC-Webhook-Secret": SNOW_SECRET, "X-MLC-Delivery-Id": "s-1"}
    outcome = receiver.handle_servicenow_webhook(body, headers)
    assert (outcome.outcome, outcome.status, outcome.instance_ids) == ("resolved", "Resolved",
                                                                       ["i-2"])
    assert correlator.calls[-1]["variables"]["EXPIRATION_DATE"] == "2027-01-31"
    assert receiver.handle_servicenow_webhook(body, headers).outcome == "duplicate"


def test_an_instance_waiting_without_the_ref_gets_its_own_tickets_decision_only(store):
    """Instances from before TICKET_REF wait with TICKET_KEY alone: the index row names the
    instance that opened the ticket, and only that instance may receive the decision."""
    correlator = RecordingCorrelator()
    correlator.wait_for("MLC-7", "i-1")  # the instance that opened Jira MLC-7 (no TICKET_REF)
    correlator.wait_for("MLC-8", "i-other")  # waits on a ticket of the same key elsewhere
    receiver = TicketWebhookReceiver(store, TicketResolver(store, correlator),
                                     jira_secret=SECRET)
    body = jira_payload()
    assert receiver.handle_jira_webhook(body, signed(body, "d-1")).instance_ids == ["i-1"]
    assert correlator.calls[-1]["correlation"] == {"TICKET_KEY": "MLC-7"}
    assert correlator.calls[-1]["instance_id"] == "i-1"
    unindexed = jira_payload(key="MLC-8")  # not opened through us: no instance on record
    outcome = receiver.handle_jira_webhook(unindexed, signed(unindexed, "d-2"))
    assert outcome.outcome == "not_waiting" and "i-other" in correlator.waiting
