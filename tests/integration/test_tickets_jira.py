"""The Jira back end through the real ``jira`` client against a fake Jira on 127.0.0.1."""

from __future__ import annotations

import base64
import logging

import pytest

from connectors.tickets import TicketService, TicketStore, TicketSystemError
from connectors.tickets.backend import TicketRequest, idempotency_tag
from connectors.tickets.handlers import make_create_ticket_handler
from connectors.tickets.jira_backend import JiraTicketBackend
from engine.errors import BpmnError, ConfigurationError, NotFoundError
from tests.fakes.jira import running_fake_jira
from tests.fakes.tasks import task_context

REVIEW_VARIABLES = {
    "MODEL_ID": "m-42", "MODEL_NAME": "credit-risk", "MODEL_VERSION": "3", "SNAPSHOT_ID": "s-7",
    "TEST_RESULTS": {"auc": 0.93, "f1": 0.81}, "CHANGES": "retrained on Q1 data",
    "TICKET_FIELDS": {"Expiration Date": "2027-06-30"},
}


@pytest.fixture
def jira():
    with running_fake_jira() as (url, state):
        yield url, state


@pytest.fixture
def backend(jira):
    url, state = jira
    return JiraTicketBackend(url, state.user, state.token, "MLC", max_retries=0, timeout=5)


@pytest.fixture
def create(sqlite_database, backend):
    service = TicketService({"jira": backend}, TicketStore(sqlite_database), "jira")
    return make_create_ticket_handler(service)


def issue_posts(state):
    return [r for r in state.requests if r.method == "POST" and r.path == "/rest/api/2/issue"]


def test_review_ticket_content_labels_and_custom_field_by_name(jira, create):
    _, state = jira
    result = create(task_context("ticket.create", REVIEW_VARIABLES,
                                 properties={"kind": "review"}))
    assert result == {"TICKET_KEY": "MLC-1", "TICKET_REF": "jira:MLC-1"}
    [post] = issue_posts(state)
    fields = post.json["fields"]
    assert fields["project"] == {"key": "MLC"}
    assert fields["issuetype"] == {"name": "Task"}
    assert fields["summary"] == "Review requested: credit-risk v3 (snapshot s-7)"
    assert "||Metric||Value||\n|auc|0.93|\n|f1|0.81|" in fields["description"]
    assert "retrained on Q1 data" in fields["description"]
    assert fields["customfield_10050"] == "2027-06-30"
    assert fields["labels"] == ["mlc", "mlc-review", idempotency_tag("instance-1:Task_1:1")]


def test_field_list_is_fetched_once(jira, backend):
    _, state = jira
    for n in range(2):
        backend.create(TicketRequest("review", f"t{n}", "d", idempotency_key=f"k{n}",
                                     fields={"Expiration Date": "2027-01-01"}))
    assert state.paths("GET").count("/rest/api/2/field") == 1


def test_unknown_field_name_is_a_configuration_error(backend):
    with pytest.raises(ConfigurationError, match="no field named 'Colour'"):
        backend.create(TicketRequest("review", "t", "d", fields={"Colour": "red"}))


def test_retried_task_opens_one_issue(jira, create):
    _, state = jira
    ctx = task_context("ticket.create", REVIEW_VARIABLES, properties={"kind": "review"})
    assert create(ctx) == create(ctx) == {"TICKET_KEY": "MLC-1", "TICKET_REF": "jira:MLC-1"}
    assert len(issue_posts(state)) == 1


def test_issue_opened_before_a_worker_crash_is_found_by_label(jira, backend, create):
    _, state = jira
    # An earlier attempt created the issue, then died before the local index was written.
    backend.create(TicketRequest("review", "t", "d", idempotency_key="instance-1:Task_1:1"))
    result = create(task_context("ticket.create", REVIEW_VARIABLES,
                                 properties={"kind": "review"}, attempt=2))
    assert result == {"TICKET_KEY": "MLC-1", "TICKET_REF": "jira:MLC-1"}
    assert len(issue_posts(state)) == 1
    search = [r for r in state.requests if r.path == "/rest/api/2/search"][-1]
    assert idempotency_tag("instance-1:Task_1:1") in search.query["jql"]


def test_jira_down_fails_the_task_for_retry_then_one_issue(jira, create, caplog):
    _, state = jira
    caplog.set_level(logging.DEBUG)
    ctx = task_context("ticket.create", REVIEW_VARIABLES, properties={"kind": "review"})
    state.down = True
    for _attempt in (1, 2):
        with pytest.raises(TicketSystemError) as failure:
            create(ctx)
        assert not isinstance(failure.value, BpmnError)  # consumes a retry, no routing
    assert state.issues == {}
    state.down = False
    assert create(ctx) == {"TICKET_KEY": "MLC-1", "TICKET_REF": "jira:MLC-1"}
    assert create(ctx) == {"TICKET_KEY": "MLC-1", "TICKET_REF": "jira:MLC-1"}
    assert list(state.issues) == ["MLC-1"]
    basic = base64.b64encode(f"{state.user}:{state.token}".encode()).decode()
    for text in (str(failure.value), caplog.text):
        assert state.token not in text and basic not in text
    # The client's error (whose text holds the Authorization header) is not chained on.
    assert failure.value.__cause__ is None and failure.value.__context__ is None
    assert "HTTP 503" in str(failure.value)


def test_get_reads_status_and_custom_fields_by_name(jira, backend):
    _, state = jira
    ticket = backend.create(TicketRequest("review", "t", "d"))
    state.set_status(ticket.key, "Done", customfield_10050="2027-06-30",
                     customfield_10060={"value": "m-42"})
    fresh = backend.get(ticket.key)
    assert fresh.status == "Done"
    assert fresh.fields == {"Expiration Date": "2027-06-30", "Model Id": "m-42"}
    assert fresh.kind == "review"
    assert fresh.url.endswith("/browse/MLC-1")


def test_transition_with_fields_comment_and_list_open(jira, backend):
    _, state = jira
    first = backend.create(TicketRequest("review", "a", "d"))
    second = backend.create(TicketRequest("test_failure", "b", "d"))
    done = backend.transition(first.key, "Done", {"Expiration Date": "2028-01-31"})
    assert done.status == "Done" and done.fields["Expiration Date"] == "2028-01-31"
    backend.comment(second.key, "rerun scheduled")
    assert state.comments[second.key] == ["rerun scheduled"]
    assert [t.key for t in backend.list_open()] == [second.key]
    with pytest.raises(NotFoundError, match="cannot move to 'Shipped'"):
        backend.transition(second.key, "Shipped")


def test_unknown_issue_is_not_found(backend):
    with pytest.raises(NotFoundError):
        backend.get("MLC-404")


def test_bad_credentials_are_a_configuration_error_without_the_token(jira):
    url, state = jira
    wrong = JiraTicketBackend(url, state.user, "wrong-token-value", max_retries=0, timeout=5)
    with pytest.raises(ConfigurationError) as failure:
        wrong.get("MLC-1")
    assert "wrong-token-value" not in str(failure.value)
    assert "wrong-token-value" not in repr(wrong)
