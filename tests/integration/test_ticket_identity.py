"""A ticket is the pair (system, key): local ``MLC-1`` and Jira ``MLC-1`` (the default Jira
project is also ``MLC``) are two tickets, in storage, the API, webhooks, the poller, the
process variables and the ``ticket.resolved`` correlation (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete

import connectors.notifications  # noqa: F401 - registers the tables create_all makes
import connectors.registry  # noqa: F401
import connectors.tickets  # noqa: F401
from connectors.tickets.backend import Ticket
from connectors.tickets.webhooks import jira_signature
from engine import clock
from engine.persistence import InstanceVariable
from mlc.sample import deploy_shipped
from mlc.settings import Settings
from mlc.wiring import build_application
from tests.fakes.jira import running_fake_jira
from tests.support.api import make_wired_app
from tests.support.processes import Mlc

SECRET = "identity-webhook-secret"


def jira_done(key: str, delivery: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({
        "webhookEvent": "jira:issue_updated",
        "issue": {"key": key, "fields": {"status": {"name": "Done"}}},
        "changelog": {"items": [{"field": "status", "fromString": "Open", "toString": "Done"}]},
    }).encode()
    return body, {"X-Hub-Signature": jira_signature(SECRET, body),
                  "X-Atlassian-Webhook-Identifier": delivery,
                  "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def jira():
    with running_fake_jira() as (url, state):
        yield url, state


@pytest.fixture
def mlc(database, tmp_path: Path, jira):
    """The whole MLC with local tickets by default and Jira (project MLC) configured too."""
    clock.reset()
    url, state = jira
    data_root = tmp_path / "data"
    data_root.mkdir()
    settings = Settings(database_url=database.test_url, data_roots=[str(data_root)],
                        tickets="local", jira_url=url, jira_user=state.user,
                        jira_token=state.token, jira_project="MLC",
                        jira_webhook_secret=SECRET)
    application = build_application(settings, migrate=False)
    deploy_shipped(application.engine)
    world = Mlc(application, data_root)
    world.install()
    yield world
    application.close()
    clock.reset()


def waiting_on_local_review(mlc) -> tuple[dict, str]:
    _snap, instance = mlc.snapshot(tags=["run_test", "jira"], schedules=[])
    assert instance.active_activities == ["Event_review_resolved"]
    key = instance.variables["REVIEW_TICKET"]
    assert mlc.tickets.store.get(key, "local").status == "Open"
    return instance, key


def test_a_signed_jira_webhook_does_not_resume_the_process_waiting_on_the_local_ticket(mlc):
    instance, key = waiting_on_local_review(mlc)
    assert key == "MLC-1" and instance.variables["TICKET_REF"] == "local:MLC-1"
    body, headers = jira_done(key, "d-1")  # Jira's MLC-1, unknown to the local index
    outcome = mlc.tickets.webhooks.handle_jira_webhook(body, headers)
    assert outcome.outcome == "not_waiting" and outcome.instance_ids == []
    mlc.drain()
    assert mlc.refresh(instance).active_activities == ["Event_review_resolved"]
    assert mlc.tickets.store.get(key, "local").status == "Open"

    # the same key opened on Jira and indexed for another instance: still not this one
    mlc.tickets.store.record_remote(Ticket(key=key, system="jira", status="Open",
                                           kind="review", instance_id="someone-else"))
    body, headers = jira_done(key, "d-2")
    outcome = mlc.tickets.webhooks.handle_jira_webhook(body, headers)
    assert outcome.outcome == "not_waiting"
    assert mlc.refresh(instance).active_activities == ["Event_review_resolved"]
    assert mlc.tickets.store.get(key, "local").status == "Open"

    mlc.decide(key, "Done", {"Expiration Date": "2027-06-30"})  # the local decision resumes
    assert mlc.refresh(instance).status == "completed"


def test_an_instance_without_the_ref_variable_still_resumes_from_its_own_ticket(mlc):
    """Instances that waited before the upgrade have TICKET_KEY only: the ticket's index row
    names its instance, so the decision reaches that instance and no other."""
    instance, key = waiting_on_local_review(mlc)
    with mlc.application.db.write_session() as s:  # as an instance from before the upgrade
        s.execute(delete(InstanceVariable).where(InstanceVariable.name == "TICKET_REF"))
    mlc.decide(key, "Done")
    assert mlc.refresh(instance).status == "completed"


def test_api_addresses_tickets_by_system_and_key(database, jira, tmp_path):
    url, state = jira
    app = make_wired_app(database, jira_url=url, jira_user=state.user, jira_token=state.token,
                         jira_project="MLC", data_roots=[str(tmp_path)])
    try:
        store = app.extensions["mlc_application"].services.tickets.store
        local, _ = store.insert_local(kind="review", summary="s", description="", status="Open",
                                      fields={}, idempotency_key="k-1", instance_id=None)
        client = app.test_client()
        assert client.get(f"/api/tickets/{local.key}").json["system"] == "local"
        store.record_remote(Ticket(key=local.key, system="jira", status="In Review",
                                   kind="review"))
        ambiguous = client.get(f"/api/tickets/{local.key}")
        assert ambiguous.status_code == 409
        assert "local/MLC-1" in ambiguous.json["message"] and "jira/MLC-1" in ambiguous.json[
            "message"]
        assert client.get("/api/tickets/jira/MLC-1").json["status"] == "In Review"
        assert client.get("/api/tickets/local/MLC-1").json["status"] == "Open"
        assert client.get("/api/tickets/servicenow/MLC-1").status_code == 404
        assert client.get("/api/tickets/nosuch/MLC-1").status_code == 404
        moved = client.post("/api/tickets/local/MLC-1/transition", json={"status": "Rejected"})
        assert moved.status_code == 200 and moved.json["ticket"]["system"] == "local"
        assert store.get("MLC-1", "jira").status == "In Review"
        assert client.post("/api/tickets/MLC-1/transition",
                           json={"status": "Done"}).status_code == 409
    finally:
        app.extensions["mlc_application"].close()
