"""Issue 12's promise end to end: a diagram with a multi-instance task, ids that collide with
names SpiffWorkflow used internally, an implicit split, a conditional event and compensation,
deployed to a real ``mlc serve`` over HTTP and run as Camunda runs it, driven by an external
worker over ``/engine-rest``."""

from __future__ import annotations

import time

import pytest
import requests

from tests.integration.test_serve_e2e import Server
from tests.support.bpmn import bpmn, chain, flow

pytestmark = pytest.mark.slow

DIAGRAM = bpmn(
    "Root",
    '<bpmn:startEvent id="Start" />',
    # an implicit parallel split: two flows leave a plain task
    '<bpmn:task id="End" />',
    # branch 1: a multi-instance external task over a collection, then compensation
    '<bpmn:serviceTask id="score_each" camunda:type="external" camunda:topic="score">'
    '<bpmn:multiInstanceLoopCharacteristics camunda:collection="${files}" '
    'camunda:elementVariable="file" /></bpmn:serviceTask>',
    '<bpmn:boundaryEvent id="Root.EndJoin" attachedToRef="score_each">'
    '<bpmn:compensateEventDefinition /></bpmn:boundaryEvent>',
    '<bpmn:serviceTask id="unscore" isForCompensation="true" '
    'camunda:expression="${execution.setVariable(\'undone\', true)}" />',
    '<bpmn:association id="assoc" sourceRef="Root.EndJoin" targetRef="unscore" />',
    '<bpmn:intermediateThrowEvent id="BoundaryEventSplit"><bpmn:compensateEventDefinition />'
    '</bpmn:intermediateThrowEvent>',
    # branch 2: waits until branch 1 has scored everything (a conditional event)
    '<bpmn:intermediateCatchEvent id="until_scored"><bpmn:conditionalEventDefinition>'
    '<bpmn:condition xsi:type="bpmn:tFormalExpression">${scored == 2}</bpmn:condition>'
    '</bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>',
    '<bpmn:parallelGateway id="join" />',
    '<bpmn:endEvent id="finish" />',
    flow("Start", "End"), flow("End", "score_each"), flow("End", "until_scored"),
    chain("score_each", "BoundaryEventSplit", "join"), chain("until_scored", "join", "finish"))


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path)
    yield srv
    srv.stop()


def test_camunda_semantics_through_mlc_serve(server):
    r = requests.post(server.base + "/api/deployments",
                      files={"file": ("semantics.bpmn", DIAGRAM)})
    assert r.status_code in (200, 201), r.text
    r = requests.post(server.base + "/api/process-definitions/Root/start",
                      json={"variables": {"files": ["a.csv", "b.csv"], "scored": 0}})
    assert r.status_code == 201, r.text
    instance = r.json()
    assert sorted(instance["active_activities"]) == ["score_each", "until_scored"]
    fetched = requests.post(server.rest + "/external-task/fetchAndLock", json={
        "workerId": "w", "maxTasks": 10, "topics": [
            {"topicName": "score", "lockDuration": 60000, "variables": ["file", "scored"]}]}).json()
    assert sorted(t["variables"]["file"]["value"] for t in fetched) == ["a.csv", "b.csv"]
    for n, task in enumerate(fetched, start=1):
        r = requests.post(server.rest + f"/external-task/{task['id']}/complete", json={
            "workerId": "w", "variables": {"scored": {"value": n, "type": "Integer"}}})
        assert r.status_code == 204, r.text
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done = requests.get(server.base + f"/api/process-instances/{instance['id']}").json()
        if done["status"] != "waiting":
            break
        time.sleep(0.2)
    assert done["status"] == "completed", done
    assert done["variables"]["scored"] == 2 and done["variables"]["undone"] is True
    history = requests.get(server.base + f"/api/process-instances/{instance['id']}/history").json()
    undone = [h for h in history if h["kind"] == "activity.completed"
              and h["activity_id"] == "unscore"]
    assert len(undone) == 2  # one compensation per completed inner instance
