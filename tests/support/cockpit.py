"""Fixtures of the cockpit's route tests: a wired app over a fresh database holding a small
world (processes waiting, an incident, a review ticket, a model with a deployment, a decision,
an automation), and helpers that submit forms with their CSRF token as a browser would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from connectors.tickets import TicketRequest
from engine import InstanceRecord, Worker
from tests.support.api import ROOT, make_wired_app
from tests.support.bpmn import bpmn, chain, external

TOKEN = "cockpit-token-for-tests"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"|"csrf": "([^"]+)"')

RETRY_ONCE = ('<bpmn:extensionElements><camunda:failedJobRetryTimeCycle>R1/PT1M'
              '</camunda:failedJobRetryTimeCycle></bpmn:extensionElements>')
REVIEW = ('<bpmn:extensionElements><camunda:properties><camunda:property name="kind" '
          'value="review" /></camunda:properties></bpmn:extensionElements>')
MESSAGE = ('<bpmn:message id="m_resolved" name="ticket.resolved" />'
           '<bpmn:message id="m_go" name="go" />')


def flow_bpmn() -> bytes:
    """call (fails while FAIL is true) -> wait for message "go" -> end."""
    return bpmn("flow", '<bpmn:startEvent id="s" />', external("call", "cockpit.call", RETRY_ONCE),
                '<bpmn:intermediateCatchEvent id="wait_go" name="Wait for go">'
                '<bpmn:messageEventDefinition messageRef="m_go" /></bpmn:intermediateCatchEvent>',
                '<bpmn:endEvent id="e" />', chain("s", "call", "wait_go", "e"), extra=MESSAGE)


def review_bpmn() -> bytes:
    """open a local review ticket -> wait for ticket.resolved -> end."""
    return bpmn("review", '<bpmn:startEvent id="s" />', external("open", "ticket.create", REVIEW),
                '<bpmn:intermediateCatchEvent id="wait_review">'
                '<bpmn:messageEventDefinition messageRef="m_resolved" /></bpmn:intermediateCatchEvent>',
                '<bpmn:endEvent id="e" />', chain("s", "open", "wait_review", "e"), extra=MESSAGE)


@dataclass
class World:
    app: Any
    client: Any
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def application(self):
        return self.app.extensions["mlc_application"]

    def drain(self) -> int:
        worker = Worker(self.application.engine, self.application.handlers, worker_id="cockpit-test")
        ran = 0
        while ran < 50 and worker.run_once():
            ran += 1
        return ran

    def token_of(self, path: str) -> str:
        """The CSRF token a page's forms (or the modeler's script) carry."""
        page = self.client.get(path)
        assert page.status_code == 200, page.text
        found = CSRF.search(page.text)
        assert found, f"{path} has no form"
        return found.group(1) or found.group(2)

    def submit(self, page: str, action: str, form: dict | None = None, **kwargs):
        """POST ``form`` to ``action`` with the CSRF token of ``page``, as the browser would."""
        data = {"csrf_token": self.token_of(page), **(form or {})}
        return self.client.post(action, data=data, **kwargs)

    def instance(self, instance_id: str) -> InstanceRecord:
        return self.application.engine.get_instance(instance_id)


def build_world(database, tmp_path, **settings) -> World:
    app = make_wired_app(database, tickets="local", data_roots=[str(tmp_path)], **settings)
    world = World(app, app.test_client())
    application = world.application
    fail = {"on": True}

    def call(ctx):
        if fail["on"]:
            raise RuntimeError("the model registry is down")
        return {"called": True}

    application.handlers.register("cockpit.call", call)
    world.ids["fail"] = fail  # type: ignore[assignment]
    application.engine.deploy([("flow.bpmn", flow_bpmn()), ("review.bpmn", review_bpmn()),
                      ("classification_approval.dmn",
                       (ROOT / "dmn" / "classification_approval.dmn").read_bytes())])
    world.ids["flow"] = application.engine.start("flow", {"endpoint": "http://down"}, "bk-1").id
    world.ids["review"] = application.engine.start("review", {"MODEL_ID": "m"}).id
    world.drain()
    [incident] = application.engine.incidents()
    world.ids["incident"] = incident.id
    world.ids["ticket"] = application.engine.get_instance(world.ids["review"]).variables["TICKET_KEY"]

    registry = application.services.registry
    model = registry.register_model("churn", "classification", owner="ops")
    snapshot = registry.create_snapshot(model.id, "sample:classifier", tags=["run_test"],
                                        dmn_decision_key="classification_approval")
    registry.record_test_results(snapshot.id, {
        "roc_auc": 0.91, "f1": 0.84, "accuracy": 0.88,
        "confusion_matrix": {"labels": [0, 1], "matrix": [[40, 5], [7, 48]]}})
    batch = registry.add_runtime("batch-dev", "DEV", service_tags=["churn"])
    deployment = registry.deploy(snapshot.id, batch.id)
    job = application.services.jobs.store.create("metrics", snapshot_id=snapshot.id,
                                           model_id=model.id, inputs={"input": "test.csv"})
    application.services.tickets.service.open_ticket(TicketRequest(
        kind="test_failure", summary="Model test failed: churn", description="## Failure\nboom"))
    world.ids.update(model=model.id, snapshot=snapshot.id, deployment=deployment.id, job=job.id)
    headers = {"Authorization": f"Bearer {TOKEN}"} if settings.get("api_token") else {}
    created = world.client.post("/api/automations", headers=headers, json={
        "name": "churn-daily", "model_id": "churn",
        "trigger": {"__kind__": "ScheduledTrigger", "interval": "Daily"},
        "action": {"__kind__": "BuildAndDeploy", "build_spec": {
            "__kind__": "BuildSpecifications", "git_uri": "file:///nowhere/models.git#churn"}}})
    assert created.status_code == 200, created.text
    return world


@pytest.fixture
def world(sqlite_database, tmp_path):
    built = build_world(sqlite_database, tmp_path)
    yield built
    built.application.close()


@pytest.fixture
def guarded(sqlite_database, tmp_path):
    """The same world behind ``MLC_API_TOKEN``."""
    built = build_world(sqlite_database, tmp_path, api_token=TOKEN)
    yield built
    built.application.close()
