"""The ServiceNow back end (Table API over requests) against a fake ServiceNow on 127.0.0.1."""

from __future__ import annotations

import logging

import pytest
import requests

from connectors.tickets import TicketService, TicketStore, TicketSystemError
from connectors.tickets.backend import TicketRequest, idempotency_tag
from connectors.tickets.handlers import make_create_ticket_handler
from connectors.tickets.servicenow_backend import ServiceNowTicketBackend
from engine.errors import ConfigurationError, NotFoundError
from tests.fakes.servicenow import running_fake_servicenow
from tests.fakes.tasks import task_context


@pytest.fixture
def snow():
    with running_fake_servicenow() as (url, state):
        yield url, state


@pytest.fixture
def backend(snow):
    url, state = snow
    return ServiceNowTicketBackend(url, state.user, state.password, max_retries=0, timeout=5)


@pytest.fixture
def create(sqlite_database, backend):
    service = TicketService({"local": object(), "servicenow": backend},
                            TicketStore(sqlite_database), "local")
    return make_create_ticket_handler(service)


def posts(state):
    return [r for r in state.requests if r.method == "POST"]


def test_back_test_incident_content_and_correlation_id(snow, create):
    _, state = snow
    result = create(task_context("ticket.create", {
        "TICKET_SYSTEM": "servicenow", "MODEL_NAME": "churn", "TEST_RESULTS": {"auc": 0.61},
        "TICKET_FIELDS": {"Expiration Date": "2027-06-30"}},
        properties={"kind": "test_failure"}))
    assert result == {"TICKET_KEY": "INC0010001", "TICKET_REF": "servicenow:INC0010001"}
    [post] = posts(state)
    assert post.path == "/api/now/table/incident"
    assert post.json["short_description"] == "Model test failed: churn"
    assert "auc  0.61" in post.json["description"] and "||" not in post.json["description"]
    assert post.json["correlation_id"] == idempotency_tag("instance-1:Task_1:1")
    assert post.json["u_expiration_date"] == "2027-06-30"


def test_retried_task_opens_one_incident(snow, backend, create):
    _, state = snow
    # An earlier attempt created the incident, then died before indexing it.
    backend.create(TicketRequest("test_failure", "t", "d", idempotency_key="instance-1:Task_1:1"))
    ctx = task_context("ticket.create", {"TICKET_SYSTEM": "servicenow"},
                       properties={"kind": "test_failure"}, attempt=2)
    assert create(ctx) == create(ctx) == {"TICKET_KEY": "INC0010001",
                                           "TICKET_REF": "servicenow:INC0010001"}
    assert len(posts(state)) == 1


def test_status_fields_transition_comment_and_list_open(snow, backend):
    _, state = snow
    first = backend.create(TicketRequest("review", "a", "d"))
    second = backend.create(TicketRequest("review", "b", "d"))
    assert first.status == "New"
    state.set_state(first.key, "6", u_expiration_date="2027-06-30")
    assert backend.get(first.key).status == "Resolved"
    assert backend.get(first.key).fields == {"Expiration Date": "2027-06-30"}
    moved = backend.transition(second.key, "In Progress", {"Resolution notes": "on it"})
    assert moved.status == "In Progress" and moved.fields["Resolution notes"] == "on it"
    backend.comment(second.key, "rerun scheduled")
    assert state.find(second.key)["comments"] == "rerun scheduled"
    assert [t.key for t in backend.list_open()] == [second.key]
    with pytest.raises(NotFoundError):
        backend.transition(second.key, "Shipped")
    with pytest.raises(NotFoundError):
        backend.get("INC404")


def test_servicenow_down_fails_without_secrets(snow, backend, caplog):
    _, state = snow
    caplog.set_level(logging.DEBUG)
    state.down = True
    with pytest.raises(TicketSystemError, match="HTTP 503") as failure:
        backend.create(TicketRequest("review", "t", "d", idempotency_key="k"))
    assert state.password not in str(failure.value) + caplog.text
    state.down = False
    assert backend.create(TicketRequest("review", "t", "d", idempotency_key="k")).key


def test_bad_password_is_a_configuration_error(snow):
    url, state = snow
    wrong = ServiceNowTicketBackend(url, state.user, "not-the-password", max_retries=0)
    with pytest.raises(ConfigurationError) as failure:
        wrong.get("INC1")
    assert "not-the-password" not in str(failure.value) + repr(wrong)


def test_query_answer_without_a_list_is_a_ticket_system_error(backend, monkeypatch):
    """A proxy or a scripted REST endpoint answering one object where the Table API answers
    a list: a clear TicketSystemError (the task fails and is retried), not a KeyError."""
    answer = requests.Response()
    answer.status_code = 200
    answer._content = b'{"result": {"number": "INC1"}}'
    monkeypatch.setattr(backend._session, "request", lambda *args, **kwargs: answer)
    with pytest.raises(TicketSystemError, match="without a list of records"):
        backend.get("INC1")
