"""The local ticket back end, the ticket.create handler and local transitions, on a real DB."""

from __future__ import annotations

import pytest

from connectors.tickets import (
    LocalTicketBackend,
    TicketResolver,
    TicketService,
    TicketStore,
    register_ticket_handlers,
)
from engine.errors import NotFoundError, ValidationError
from engine.handlers import HandlerRegistry
from tests.fakes.correlator import RecordingCorrelator
from tests.fakes.tasks import task_context


@pytest.fixture
def correlator():
    return RecordingCorrelator()


@pytest.fixture
def local(database, correlator):
    store = TicketStore(database)
    resolver = TicketResolver(store, correlator)
    backend = LocalTicketBackend(store, resolver)
    service = TicketService({"local": backend}, store)
    registry = HandlerRegistry()
    register_ticket_handlers(registry, service)
    return backend, registry.get("ticket.create").handler, store


def test_create_ticket_returns_key_and_stores_content(local):
    backend, create, _ = local
    result = create(task_context("ticket.create", {"MODEL_NAME": "churn", "MODEL_ID": "m1",
                                                   "TEST_RESULTS": {"auc": 0.7}},
                                 properties={"kind": "test_failure"}))
    assert result == {"TICKET_KEY": "MLC-1", "TICKET_REF": "local:MLC-1"}
    ticket = backend.get("MLC-1")
    assert ticket.status == "Open" and ticket.kind == "test_failure"
    assert ticket.summary == "Model test failed: churn"
    assert "auc  0.7" in ticket.description
    assert ticket.instance_id == "instance-1"


def test_retried_task_opens_one_ticket(local):
    backend, create, _ = local
    first = create(task_context("ticket.create", properties={"kind": "review"}, attempt=1))
    again = create(task_context("ticket.create", properties={"kind": "review"}, attempt=2))
    other = create(task_context("ticket.create", properties={"kind": "review"},
                                idempotency_key="instance-1:Task_2:1"))
    assert first == again == {"TICKET_KEY": "MLC-1", "TICKET_REF": "local:MLC-1"}
    assert other == {"TICKET_KEY": "MLC-2", "TICKET_REF": "local:MLC-2"}
    assert [t.key for t in backend.list_open()] == ["MLC-1", "MLC-2"]


def test_result_variable_property_renames_output(local):
    _, create, _ = local
    result = create(task_context("ticket.create", properties={
        "kind": "review", "resultVariable": "REVIEW_TICKET"}))
    assert result == {"REVIEW_TICKET": "MLC-1", "TICKET_REF": "local:MLC-1"}


def test_unknown_kind_is_refused(local):
    _, create, _ = local
    with pytest.raises(ValidationError, match="kind must be one of"):
        create(task_context("ticket.create", properties={"kind": "banana"}))


def test_terminal_transition_resumes_waiting_process_once(local, correlator):
    backend, create, store = local
    create(task_context("ticket.create", properties={"kind": "review"}))
    correlator.wait_for("MLC-1", "instance-1", "local")
    backend.transition("MLC-1", "In Review")
    assert correlator.calls == []
    ticket, resolution = backend.transition_and_resolve(
        "MLC-1", "Done", {"Expiration Date": "2027-06-30"})
    assert ticket.status == "Done"
    assert resolution.outcome == "resolved" and resolution.instance_ids == ["instance-1"]
    assert correlator.calls == [{
        "name": "ticket.resolved", "business_key": None,
        "correlation": {"TICKET_REF": "local:MLC-1"}, "instance_id": None,
        "variables": {"TICKET_STATUS": "Done",
                      "TICKET_FIELDS": {"Expiration Date": "2027-06-30"},
                      "EXPIRATION_DATE": "2027-06-30"}}]
    _, again = backend.transition_and_resolve("MLC-1", "Done")
    assert again.outcome == "already_resolved"
    assert len(correlator.calls) == 1
    assert [e["event"] for e in store.events("MLC-1")] == ["created", "transition", "transition",
                                                            "transition"]


def test_decision_without_waiting_process_is_kept_and_can_be_delivered_later(local, correlator):
    backend, create, store = local
    create(task_context("ticket.create", properties={"kind": "review"}))
    _, resolution = backend.transition_and_resolve("MLC-1", "Rejected")
    assert resolution.outcome == "not_waiting"
    assert backend.get("MLC-1").status == "Rejected"
    assert store.resolved_at("local", "MLC-1") is None
    correlator.wait_for("MLC-1", system="local")
    _, later = backend.transition_and_resolve("MLC-1", "Rejected")
    assert later.outcome == "resolved"


def test_comment_and_unknown_ticket(local):
    backend, create, store = local
    create(task_context("ticket.create", properties={"kind": "error"}))
    backend.comment("MLC-1", "looking at it")
    assert store.events("MLC-1")[-1]["body"] == "looking at it"
    with pytest.raises(NotFoundError):
        backend.get("MLC-99")
