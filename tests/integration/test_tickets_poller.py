"""The poller: decisions made on Jira / ServiceNow reach the waiting process once."""

from __future__ import annotations

import logging

import pytest

from connectors.tickets import LocalTicketBackend, TicketResolver, TicketService, TicketStore
from connectors.tickets.handlers import make_create_ticket_handler
from connectors.tickets.jira_backend import JiraTicketBackend
from connectors.tickets.poller import TicketPoller
from connectors.tickets.servicenow_backend import ServiceNowTicketBackend
from tests.fakes.correlator import RecordingCorrelator
from tests.fakes.jira import running_fake_jira
from tests.fakes.servicenow import running_fake_servicenow
from tests.fakes.tasks import task_context


@pytest.fixture
def world(database):
    with running_fake_jira() as (jira_url, jira), \
            running_fake_servicenow() as (snow_url, snow):
        store = TicketStore(database)
        correlator = RecordingCorrelator()
        resolver = TicketResolver(store, correlator)
        backends = {
            "local": LocalTicketBackend(store, resolver),
            "jira": JiraTicketBackend(jira_url, jira.user, jira.token, max_retries=0,
                                      timeout=5),
            "servicenow": ServiceNowTicketBackend(snow_url, snow.user, snow.password,
                                                  max_retries=0, timeout=5),
        }
        service = TicketService(backends, store, "jira")
        yield {"jira": jira, "snow": snow, "correlator": correlator, "store": store,
               "create": make_create_ticket_handler(service),
               "poller": TicketPoller(store, resolver, backends)}


def open_ticket(world, system, task):
    result = world["create"](task_context(
        "ticket.create", {"TICKET_SYSTEM": system}, properties={"kind": "review"},
        idempotency_key=f"i:{task}:1", instance_id=f"inst-{task}"))
    key = result["TICKET_KEY"]
    world["correlator"].wait_for(key, f"inst-{task}", system)
    return key


def test_jira_decision_is_delivered_once(world):
    key = open_ticket(world, "jira", "a")
    assert world["poller"].poll_once() == []
    world["jira"].set_status(key, "In Review")
    assert world["poller"].poll_once() == []
    assert world["store"].get(key, "jira").status == "In Review"
    world["jira"].set_status(key, "Done", customfield_10050="2027-06-30")
    [resolution] = world["poller"].poll_once()
    assert (resolution.outcome, resolution.instance_ids) == ("resolved", ["inst-a"])
    variables = world["correlator"].calls[0]["variables"]
    assert variables["TICKET_STATUS"] == "Done" and variables["EXPIRATION_DATE"] == "2027-06-30"
    assert world["poller"].poll_once() == []
    assert len(world["correlator"].calls) == 1


def test_servicenow_decision_is_delivered(world):
    key = open_ticket(world, "servicenow", "b")
    assert key.startswith("INC")
    world["snow"].set_state(key, "8")
    [resolution] = world["poller"].poll_once()
    assert (resolution.outcome, resolution.status) == ("resolved", "Canceled")
    assert world["correlator"].calls[0]["correlation"] == {"TICKET_REF": f"servicenow:{key}"}


def test_a_system_that_is_down_does_not_stop_the_others(world, caplog):
    jira_key = open_ticket(world, "jira", "c")
    snow_key = open_ticket(world, "servicenow", "d")
    world["jira"].set_status(jira_key, "Rejected")
    world["snow"].set_state(snow_key, "7")
    world["jira"].down = True
    with caplog.at_level(logging.WARNING):
        results = world["poller"].poll_once()
    assert [r.ticket_key for r in results] == [snow_key]
    assert "Jira" in caplog.text and world["jira"].token not in caplog.text
    world["jira"].down = False
    assert [r.ticket_key for r in world["poller"].poll_once()] == [jira_key]


def test_decision_made_before_the_process_waited_is_delivered_later(world):
    key = open_ticket(world, "jira", "e")
    world["correlator"].waiting.clear()
    world["jira"].set_status(key, "Done")
    assert [r.outcome for r in world["poller"].poll_once()] == ["not_waiting"]
    world["correlator"].wait_for(key, "inst-e", "jira")
    assert [r.outcome for r in world["poller"].poll_once()] == ["resolved"]


def test_local_decision_without_waiting_process_is_retried_by_the_poller(world):
    local = world["poller"].backends["local"]
    result = world["create"](task_context("ticket.create", {"TICKET_SYSTEM": "local"},
                                          properties={"kind": "review"},
                                          idempotency_key="i:f:1"))
    key = result["TICKET_KEY"]
    _, resolution = local.transition_and_resolve(key, "Done")
    assert resolution.outcome == "not_waiting"
    world["correlator"].wait_for(key, "inst-f", "local")
    assert [r.outcome for r in world["poller"].poll_once()] == ["resolved"]
