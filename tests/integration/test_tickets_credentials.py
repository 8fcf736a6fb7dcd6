"""Credentials written into MLC_JIRA_URL / MLC_SERVICENOW_URL (``https://user:pw@host``) are
used to authenticate and appear nowhere else: not in logs, history, incidents, the
external-task API or ticket links (issue 15)."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import pytest

import connectors.tickets  # noqa: F401 - registers the tables create_all makes
from connectors.tickets import build_ticket_components, register_ticket_handlers
from mlc.settings import Settings
from tests.fakes.jira import running_fake_jira
from tests.support.api import make_app
from tests.support.bpmn import bpmn, chain, external
from tests.support.engine import Harness

TICKET = bpmn("ask", '<bpmn:startEvent id="s"/>',
              external("t", "ticket.create", extra='<bpmn:extensionElements>'
                       '<camunda:properties><camunda:property name="kind" value="review"/>'
                       '<camunda:property name="system" value="jira"/></camunda:properties>'
                       '<camunda:failedJobRetryTimeCycle>R2/PT0S'
                       '</camunda:failedJobRetryTimeCycle></bpmn:extensionElements>'),
              '<bpmn:endEvent id="e"/>', chain("s", "t", "e"))


@pytest.fixture
def jira():
    with running_fake_jira() as (url, state):
        yield url, state


def with_credentials(url: str, user: str, secret: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{quote(user, safe='')}:{quote(secret, safe='')}@{rest}"


def test_credentials_in_the_jira_url_authenticate_and_never_show(database, jira, caplog):
    url, state = jira
    caplog.set_level(logging.DEBUG)
    harness = Harness(database)
    settings = Settings(database_url=database.test_url, tickets="jira",
                        jira_url=with_credentials(url, state.user, state.token))
    parts = build_ticket_components(settings, database, harness.engine)
    register_ticket_handlers(harness.handlers, parts.service)
    harness.deploy("ask.bpmn", TICKET)

    opened = harness.engine.start("ask").id  # Jira up: the URL's credentials work
    harness.drain()
    assert harness.status(opened) == "completed"
    [ticket] = parts.store.list(system="jira")
    assert ticket.url == f"{url}/browse/{ticket.key}"

    state.down = True  # Jira down: the failure is reported, without the credentials
    failing = harness.engine.start("ask").id
    harness.drain()
    [incident] = harness.engine.incidents()
    assert incident.instance_id == failing and "Jira at " + url in incident.message

    client = make_app(database).test_client()
    seen = [caplog.text, json.dumps([h.to_json() for h in harness.engine.history(failing)]),
            json.dumps([h.to_json() for h in harness.engine.history(opened)]),
            json.dumps([i.to_json() for i in harness.engine.incidents()]),
            client.get("/api/external-tasks").get_data(as_text=True),
            client.get(f"/engine-rest/external-task?processInstanceId={failing}")
            .get_data(as_text=True),
            client.get("/api/incidents").get_data(as_text=True),
            json.dumps([t.to_dict() for t in parts.store.list()]), repr(parts.service.backends)]
    for text in seen:
        assert state.token not in text and quote(state.token, safe="") not in text
        assert quote(state.user, safe="") + ":" not in text


def test_servicenow_url_credentials_are_stripped_and_used(database):
    from connectors.tickets.servicenow_backend import ServiceNowTicketBackend

    backend = ServiceNowTicketBackend("https://admin:pa%3Ass@dev1.service-now.com/", "", "")
    assert backend.url == "https://dev1.service-now.com"
    assert backend._session.auth == ("admin", "pa:ss")
    assert "pa:ss" not in repr(backend)
