"""The REST faces of the engine core: user tasks (native and Camunda), conditional starts,
operator variable writes, and ``Idempotency-Key`` on starts, signals and messages."""

from __future__ import annotations

import io

from tests.support.api import api_app, client  # noqa: F401
from tests.support.bpmn import bpmn, chain, flow

START, END = '<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />'
USER = ('<bpmn:userTask id="approve" name="Approve" camunda:candidateGroups="risk">'
        '<bpmn:extensionElements><camunda:formData><camunda:formField id="ok" type="boolean" />'
        '</camunda:formData></bpmn:extensionElements></bpmn:userTask>')


def deploy(client, name: str, data: bytes) -> None:
    r = client.post("/api/deployments", data={"file": (io.BytesIO(data), name)},
                    content_type="multipart/form-data")
    assert r.status_code in (200, 201), r.json


def start(client, key: str, headers=None, **variables) -> dict:
    r = client.post(f"/api/process-definitions/{key}/start", json={"variables": variables},
                    headers=headers or {})
    assert r.status_code == 201, r.json
    return r.json


def test_user_tasks_over_the_native_api(client):
    deploy(client, "u.bpmn", bpmn("approval", START, USER, END, chain("s", "approve", "e")))
    instance = start(client, "approval")
    [task] = client.get("/api/user-tasks?candidate_group=risk").json
    assert task["name"] == "Approve" and task["form"]["fields"][0]["id"] == "ok"
    short = task["id"][:8]  # as tables show ids: a unique prefix will do
    assert client.get(f"/api/user-tasks/{short}").json["id"] == task["id"]
    assert client.post(f"/api/user-tasks/{short}/claim", json={"user": "ana"}).json[
        "assignee"] == "ana"
    refused = client.post(f"/api/user-tasks/{task['id']}/complete",
                          json={"variables": {"ok": True}, "user": "bob"})
    assert refused.status_code == 409 and "ana" in refused.json["message"]
    assert client.post(f"/api/user-tasks/{task['id']}/complete",
                       json={"variables": {"ok": True}, "user": "ana"}).status_code == 204
    done = client.get(f"/api/process-instances/{instance['id']}").json
    assert done["status"] == "completed" and done["variables"] == {"ok": True}
    assert client.get(f"/api/user-tasks/{task['id']}").status_code == 404


def test_user_tasks_over_camunda_rest(client):
    deploy(client, "u.bpmn", bpmn("approval", START, USER, END, chain("s", "approve", "e")))
    instance = start(client, "approval")
    [task] = client.get("/engine-rest/task?candidateGroup=risk").json
    assert task["taskDefinitionKey"] == "approve" and task["processInstanceId"] == instance["id"]
    assert client.post(f"/engine-rest/task/{task['id']}/claim",
                       json={"userId": "ana"}).status_code == 204
    assert client.get(f"/engine-rest/task/{task['id']}").json["assignee"] == "ana"
    assert client.post(f"/engine-rest/task/{task['id']}/complete", json={
        "variables": {"ok": {"value": True, "type": "Boolean"}}}).status_code == 204
    assert client.get(f"/api/process-instances/{instance['id']}").json["status"] == "completed"


def test_conditional_start_over_both_apis(client):
    cond = ('<bpmn:startEvent id="s"><bpmn:conditionalEventDefinition><bpmn:condition '
            'xsi:type="bpmn:tFormalExpression">${temperature &gt; 30}</bpmn:condition>'
            '</bpmn:conditionalEventDefinition></bpmn:startEvent>')
    deploy(client, "c.bpmn", bpmn("hot", cond, END, flow("s", "e")))
    assert client.post("/api/conditions", json={"variables": {"temperature": 10}}).json == {
        "started": []}
    [started] = client.post("/api/conditions", json={"variables": {"temperature": 40}}).json[
        "started"]
    assert client.get(f"/api/process-instances/{started}").json["status"] == "completed"
    camunda = client.post("/engine-rest/condition", json={
        "variables": {"temperature": {"value": 33, "type": "Integer"}}})
    assert camunda.status_code == 200 and len(camunda.json) == 1


def test_operator_variable_write_is_audited_and_fires_conditions(client):
    cond = ('<bpmn:intermediateCatchEvent id="until"><bpmn:conditionalEventDefinition>'
            '<bpmn:condition xsi:type="bpmn:tFormalExpression">${go}</bpmn:condition>'
            '</bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>')
    deploy(client, "v.bpmn", bpmn("gate", START, cond, END, chain("s", "until", "e")))
    instance = start(client, "gate", go=False)
    r = client.post(f"/api/process-instances/{instance['id']}/variables",
                    json={"variables": {"go": True}, "reason": "released by ops"})
    assert r.status_code == 200 and r.json["status"] == "completed"
    history = client.get(f"/api/process-instances/{instance['id']}/history").json
    [audit] = [h for h in history if h["kind"] == "operator.set_variables"]
    assert audit["data"] == {"names": ["go"], "reason": "released by ops"}
    assert any(h["kind"] == "variable.changed" and h["name"] == "go" for h in history)
    again = client.post(f"/api/process-instances/{instance['id']}/variables",
                        json={"variables": {"go": False}})
    assert again.status_code == 409
    assert client.post(f"/api/process-instances/{instance['id']}/variables",
                       json={"variables": {}}).status_code == 400


def test_idempotency_key_answers_a_repeat_without_doing_it_twice(client):
    deploy(client, "w.bpmn", bpmn(
        "waits", START, '<bpmn:intermediateCatchEvent id="w"><bpmn:signalEventDefinition '
        'signalRef="S" /></bpmn:intermediateCatchEvent>', END, chain("s", "w", "e"),
        extra='<bpmn:signal id="S" name="go" />'))
    first = start(client, "waits", headers={"Idempotency-Key": "k-start-1"})
    again = start(client, "waits", headers={"Idempotency-Key": "k-start-1"})
    assert again["id"] == first["id"]
    assert len(client.get("/api/process-instances?key=waits").json) == 1
    signal = {"name": "go"}
    one = client.post("/api/signals", json=signal, headers={"Idempotency-Key": "k-sig"}).json
    two = client.post("/api/signals", json=signal, headers={"Idempotency-Key": "k-sig"}).json
    assert one == two == {"started": [], "resumed": [first["id"]], "unheard": False}
    misuse = client.post("/api/signals", json=signal, headers={"Idempotency-Key": "k-start-1"})
    assert misuse.status_code == 409 and "start" in misuse.json["message"]
    camunda = client.post("/engine-rest/process-definition/key/waits/start", json={},
                          headers={"Idempotency-Key": "k-camunda"})
    repeat = client.post("/engine-rest/process-definition/key/waits/start", json={},
                         headers={"Idempotency-Key": "k-camunda"})
    assert camunda.json["id"] == repeat.json["id"]
