"""``mlc tickets`` and ``mlc notifications`` click groups over a real database."""

from __future__ import annotations

import json
from types import SimpleNamespace

import click
import pytest
from click.testing import CliRunner

from connectors.notifications import NotificationFeed
from connectors.notifications.cli import notifications
from connectors.tickets import TicketRequest, build_ticket_components
from connectors.tickets.cli import tickets
from mlc.cli import CommandLine
from mlc.settings import Settings
from tests.fakes.correlator import RecordingCorrelator


@pytest.fixture
def obj(sqlite_database):
    return SimpleNamespace(db=sqlite_database, settings=Settings(), engine=RecordingCorrelator())


@click.group(cls=CommandLine)
def mlc() -> None:
    """Stands in for the lead's ``mlc`` group (its class applies the one-line error policy)."""


mlc.add_command(tickets)
mlc.add_command(notifications)


def run(group, obj, *args):
    return CliRunner().invoke(mlc, [group.name, *args], obj=obj)


def test_list_show_and_transition_resume_the_process(obj):
    parts = build_ticket_components(obj.settings, obj.db, obj.engine)
    parts.service.open_ticket(TicketRequest("review", "Review churn v2", "body",
                                            idempotency_key="k", instance_id="i-1"))
    obj.engine.wait_for("MLC-1", "i-1", "local")

    listed = run(tickets, obj, "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [t["key"] for t in json.loads(listed.output)] == ["MLC-1"]
    assert "Review churn v2" in run(tickets, obj, "list").output

    moved = run(tickets, obj, "transition", "MLC-1", "Done",
                "--field", "Expiration Date=2027-06-30", "--json")
    assert moved.exit_code == 0, moved.output
    answer = json.loads(moved.output)
    assert answer["ticket"]["status"] == "Done"
    assert answer["resolution"] == {"outcome": "resolved", "system": "local", "ticket_key": "MLC-1",
                                    "status": "Done", "instance_ids": ["i-1"],
                                    "message": "Done resumed the waiting process"}
    assert obj.engine.calls[0]["variables"]["EXPIRATION_DATE"] == "2027-06-30"

    assert json.loads(run(tickets, obj, "list", "--json").output) == []
    shown = json.loads(run(tickets, obj, "show", "MLC-1", "--json").output)
    assert shown["fields"] == {"Expiration Date": "2027-06-30"}
    assert [e["event"] for e in shown["events"]] == ["created", "transition"]
    assert "Expiration Date: 2027-06-30" in run(tickets, obj, "show", "MLC-1").output


@pytest.mark.parametrize("args, reason", [
    (("show", "MLC-404"), "ticket 'MLC-404' does not exist"),
    (("transition", "MLC-404", "Done"), "ticket 'MLC-404' does not exist"),
])
def test_errors_exit_non_zero_with_one_line(obj, args, reason):
    result = run(tickets, obj, *args)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {reason}"


def test_bad_field_option_is_refused(obj):
    parts = build_ticket_components(obj.settings, obj.db, obj.engine)
    parts.service.open_ticket(TicketRequest("review", "s", "d"))
    result = run(tickets, obj, "transition", "MLC-1", "Done", "--field", "no-equals-sign")
    assert result.exit_code == 1 and "Name=value" in result.stderr


def test_notifications_list(obj):
    feed = NotificationFeed(obj.db)
    feed.add(channel="feed", status="success", title="batch done", instance_id="i-1")
    feed.add(channel="slack", status="error", title="back test failed")
    result = run(notifications, obj, "list", "--json", "--channel", "feed")
    assert result.exit_code == 0
    assert [n["title"] for n in json.loads(result.output)] == ["batch done"]
    text = run(notifications, obj, "list").output.splitlines()
    assert "back test failed" in text[0] and "batch done" in text[1]


def test_factory_refuses_a_default_system_without_its_url(sqlite_database):
    from engine.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="MLC_JIRA_URL"):
        build_ticket_components(Settings(tickets="jira"), sqlite_database, RecordingCorrelator())
    parts = build_ticket_components(
        Settings(tickets="servicenow", servicenow_url="https://x.service-now.com",
                 servicenow_user="u", servicenow_password="p", jira_url="https://jira.example",
                 jira_user="u", jira_token="t"), sqlite_database, RecordingCorrelator())
    assert sorted(parts.service.backends) == ["jira", "local", "servicenow"]
    assert parts.service.default_system == "servicenow"
