"""The Camunda 7-compatible /engine-rest and the ModelOp-compatible /mlc-service/rest, through
Flask's test client: the Modeler's requests replayed byte for byte, the external-task API with
typed variables, and Camunda's error bodies."""

from __future__ import annotations

import json

from tests.support.api import BPMN, MODELER, api_app, client, deploy_files  # noqa: F401
from tests.support.bpmn import definitions

ER = "/engine-rest"


def replay(client, name: str, extra_headers: dict | None = None):
    """Post a captured Modeler deploy request exactly as the Modeler sent it."""
    headers = json.loads((MODELER / f"{name}.headers.json").read_text())
    headers.update(extra_headers or {})
    body = (MODELER / f"{name}.body").read_bytes()
    return client.post(f"{ER}/deployment/create", data=body, headers=headers)


def deploy_signal_start(client) -> dict:
    r = replay(client, "deploy_signal_start")
    assert r.status_code == 200, r.json
    return r.json


# ---------------------------------------------------------------- what the Modeler calls


def test_modeler_connection_check_and_version(client):
    r = client.get(f"{ER}/deployment?maxResults=0", headers={"accept": "application/json"})
    assert r.status_code == 200 and r.json == []
    assert client.get(f"{ER}/version").json["version"].startswith("7.")
    assert client.get(f"{ER}/engine").json == [{"name": "default"}]


def test_modeler_deploy_request_replayed(client):
    body = deploy_signal_start(client)
    assert body["name"] == "signal_start" and body["source"] == "Camunda Modeler"
    assert body["deploymentTime"].endswith("+0000")
    assert body["links"][0]["href"].endswith(f"/engine-rest/deployment/{body['id']}")
    (definition,) = body["deployedProcessDefinitions"].values()
    assert definition["key"] == "signal_start" and definition["version"] == 1
    assert definition["resource"] == "signal_start.bpmn"
    assert body["deployedDecisionDefinitions"] is None
    # enable-duplicate-filtering=true: a second press of Deploy keeps version 1
    again = deploy_signal_start(client)
    (same,) = again["deployedProcessDefinitions"].values()
    assert same["id"] == definition["id"]
    listed = client.get(f"{ER}/deployment").json
    assert [d["name"] for d in listed] == ["signal_start", "signal_start"]
    assert client.get(f"{ER}/deployment/count").json == {"count": 2}
    assert client.get(f"{ER}/deployment/{body['id']}").json["id"] == body["id"]
    assert client.get(f"{ER}/deployment/nope").status_code == 404


def test_modeler_deploy_with_tenant_and_form_attachment(client):
    r = replay(client, "deploy_with_tenant_and_form")
    assert r.status_code == 200
    assert r.json["tenantId"] == "risk"
    assert list(r.json["deployedProcessDefinitions"].values())[0]["key"] == "signal_start"


def test_modeler_parse_error_dialog_body(client):
    r = replay(client, "deploy_broken")
    assert r.status_code == 400
    body = r.json
    assert body["type"] == "ParseException"
    # the prefix the Modeler tests for to show its parse-error dialog
    assert body["message"].startswith("ENGINE-09005 Could not parse BPMN process. Errors: \n* ")
    assert "resource broken.bpmn" in body["message"]
    errors = body["details"]["broken.bpmn"]["errors"]
    assert errors[0]["mainElementId"] == "Task_echo" and errors[0]["elementIds"] == ["Task_echo"]
    assert body["details"]["broken.bpmn"]["warnings"] == []


def test_deploy_flags_and_errors(client):
    data = {"deployment-name": "x", "enable-duplicate-filtering": "false",
            "loop.bpmn": ((BPMN / "loop.bpmn").open("rb"), "loop.bpmn")}
    assert client.post(f"{ER}/deployment/create", data=data,
                       content_type="multipart/form-data").status_code == 200
    data["loop.bpmn"] = ((BPMN / "loop.bpmn").open("rb"), "loop.bpmn")
    r = client.post(f"{ER}/deployment/create", data=data, content_type="multipart/form-data")
    # Camunda's default: no duplicate filtering, so the same file becomes version 2
    assert list(r.json["deployedProcessDefinitions"].values())[0]["version"] == 2
    data = {"deploy-changed-only": "true",
            "loop.bpmn": ((BPMN / "loop.bpmn").open("rb"), "loop.bpmn")}
    r = client.post(f"{ER}/deployment/create", data=data, content_type="multipart/form-data")
    assert list(r.json["deployedProcessDefinitions"].values())[0]["version"] == 2
    r = client.post(f"{ER}/deployment/create", data={"deployment-name": "empty"},
                    content_type="multipart/form-data")
    assert r.status_code == 400 and r.json["type"] == "InvalidRequestException"
    r = client.post(f"{ER}/deployment/create", json={})
    assert r.status_code == 415 and set(r.json) == {"type", "message"}


def test_start_by_id_as_the_modeler_does_and_by_key(client):
    body = deploy_signal_start(client)
    (definition_id,) = body["deployedProcessDefinitions"]
    r = client.post(f"{ER}/process-definition/{definition_id}/start",
                    json={"businessKey": "bk", "variables": {
                        "n": {"value": 3, "type": "Integer"},
                        "cfg": {"value": '{"a": [1, 2]}', "type": "Json"},
                        "obj": {"value": '{"b": true}', "type": "Object", "valueInfo": {
                            "objectTypeName": "java.util.HashMap",
                            "serializationDataFormat": "application/json"}},
                        "when": {"value": "2024-01-31T12:00:00.000+0000", "type": "Date"},
                        "none": {"value": None, "type": "Null"},
                        "plain": {"value": "untyped"}}},
                    headers={"content-type": "application/json"})
    assert r.status_code == 200, r.json
    inst = r.json
    assert inst["definitionId"] == definition_id and inst["businessKey"] == "bk"
    assert inst["ended"] is False and inst["links"][0]["rel"] == "self"
    variables = client.get(f"{ER}/process-instance/{inst['id']}/variables").json
    assert variables["n"] == {"type": "Integer", "value": 3, "valueInfo": {}}
    assert variables["cfg"]["type"] == "Json" and json.loads(variables["cfg"]["value"]) == {"a": [1, 2]}
    assert json.loads(variables["obj"]["value"]) == {"b": True}
    assert variables["when"]["value"] == "2024-01-31T12:00:00.000+0000"
    assert variables["none"]["type"] == "Null" and variables["plain"]["type"] == "String"
    one = client.get(f"{ER}/process-instance/{inst['id']}/variables/n").json
    assert one["value"] == 3
    data = client.get(f"{ER}/process-instance/{inst['id']}/variables/plain/data")
    assert data.data == b"untyped"
    r = client.get(f"{ER}/process-instance/{inst['id']}/variables/missing")
    assert r.status_code == 404 and r.json["type"] == "InvalidRequestException"
    by_key = client.post(f"{ER}/process-definition/key/signal_start/start", json={})
    assert by_key.status_code == 200
    tenant = client.post(f"{ER}/process-definition/key/signal_start/tenant-id/t1/start",
                         json={"withVariablesInReturn": True, "variables": {"v": {"value": True}}})
    assert tenant.json["variables"]["v"] == {"type": "Boolean", "value": True, "valueInfo": {}}


def test_start_errors_are_camunda_shaped(client):
    deploy_signal_start(client)
    r = client.post(f"{ER}/process-definition/key/nope/start", json={})
    assert r.status_code == 404 and r.json["type"] == "InvalidRequestException"
    assert "nope" in r.json["message"]
    assert client.post(f"{ER}/process-definition/nope:1:x/start", json={}).status_code == 404
    bad = [({"n": {"value": "x", "type": "Integer"}}, "Integer"),
           ({"n": {"value": 2 ** 40, "type": "Integer"}}, "out of range"),
           ({"n": {"value": "{", "type": "Json"}}, "not valid JSON"),
           ({"n": {"value": "AAA=", "type": "Bytes"}}, "not supported"),
           ({"n": {"value": "x", "type": "Object", "valueInfo": {
               "serializationDataFormat": "application/x-java-serialized-object"}}}, "serialization"),
           ({"n": {"value": 1, "type": "Unicorn"}}, "unknown variable type"),
           ({"n": {"value": "yesterday", "type": "Date"}}, "Date"),
           ({"n": 5}, "n")]
    for variables, words in bad:
        r = client.post(f"{ER}/process-definition/key/signal_start/start",
                        json={"variables": variables})
        assert r.status_code == 400, (variables, r.json)
        assert words in r.json["message"] and set(r.json) == {"type", "message"}
    r = client.post(f"{ER}/process-definition/key/signal_start/start", data="{",
                    content_type="application/json")
    assert r.status_code == 400 and r.json["type"] == "InvalidRequestException"


def test_definitions_listed(client):
    deploy_signal_start(client)
    (d,) = client.get(f"{ER}/process-definition?key=signal_start&latestVersion=true").json
    assert client.get(f"{ER}/process-definition/{d['id']}").json["key"] == "signal_start"
    assert client.get(f"{ER}/process-definition/key/signal_start").json["id"] == d["id"]
    assert client.get(f"{ER}/process-definition/key/nope").status_code == 404
    assert client.get(f"{ER}/process-definition?maxResults=0").json == []


# ---------------------------------------------------------------- signals, messages, instances


def test_signal_is_204_and_starts_subscribed_process(client):
    deploy_signal_start(client)
    r = client.post(f"{ER}/signal", json={"name": "run-back-test",
                                          "variables": {"MODEL": {"value": "m1", "type": "String"}}})
    assert r.status_code == 204 and r.data == b""
    (inst,) = client.get(f"{ER}/process-instance?processDefinitionKey=signal_start").json
    assert client.get(f"{ER}/process-instance/{inst['id']}/variables/MODEL").json["value"] == "m1"
    assert client.post(f"{ER}/signal", json={}).status_code == 400
    r = client.post(f"{ER}/signal", json={"name": "x", "executionId": "e1"})
    assert r.status_code == 400 and "executionId" in r.json["message"]


def test_message_with_result_and_camunda_400_when_nothing_waits(client):
    deploy_files(client, "service_flow.bpmn", prefix=ER)
    started = client.post(f"{ER}/process-definition/key/service_flow/start",
                          json={"businessKey": "k1", "variables": {"MODEL_ID": {"value": "m"}}}).json
    application = client.application.extensions["mlc_application"]
    (task,) = application.tasks.fetch_and_lock("w", ["model.get-snapshot"], 1)
    application.tasks.complete(task.id, "w", {})
    client.post(f"{ER}/signal", json={"name": "go"})
    r = client.post(f"{ER}/message", json={
        "messageName": "ticket.resolved", "businessKey": "k1", "resultEnabled": True,
        "variablesInResultEnabled": True,
        "processVariables": {"status": {"value": "Done", "type": "String"}}})
    assert r.status_code == 200, r.json
    (result,) = r.json
    assert result["resultType"] == "Execution"
    assert result["execution"]["processInstanceId"] == started["id"]
    assert result["variables"]["status"]["value"] == "Done"
    r = client.post(f"{ER}/message", json={"messageName": "ticket.resolved", "businessKey": "k1"})
    assert r.status_code == 400 and "Cannot correlate message" in r.json["message"]
    r = client.post(f"{ER}/message", json={"messageName": "m", "processInstanceId": "x"})
    assert r.status_code == 400
    assert client.post(f"{ER}/message", json={"businessKey": "k"}).status_code == 400


def test_process_instance_queries(client):
    deploy_signal_start(client)
    for _ in range(3):
        client.post(f"{ER}/signal", json={"name": "run-back-test"})
    listed = client.get(f"{ER}/process-instance").json
    assert len(listed) == 3
    assert client.get(f"{ER}/process-instance/count").json == {"count": 3}
    assert len(client.get(f"{ER}/process-instance?firstResult=1&maxResults=1").json) == 1
    assert client.get(f"{ER}/process-instance?businessKey=none").json == []
    assert client.get(f"{ER}/process-instance?maxResults=-1").status_code == 400
    one = client.get(f"{ER}/process-instance/{listed[0]['id']}").json
    assert one["id"] == listed[0]["id"]
    assert client.delete(f"{ER}/process-instance/{listed[0]['id']}").status_code == 204
    assert client.get(f"{ER}/process-instance/count").json == {"count": 2}
    assert client.delete(f"{ER}/process-instance/{listed[0]['id']}").status_code == 409
    assert client.get(f"{ER}/process-instance/nope").status_code == 404


# ---------------------------------------------------------------- external tasks


def fetch(client, worker="w1", topic="test.echo", **extra):
    body = {"workerId": worker, "maxTasks": 5,
            "topics": [{"topicName": topic, "lockDuration": 10_000, **extra}]}
    r = client.post(f"{ER}/external-task/fetchAndLock", json=body)
    assert r.status_code == 200, r.json
    return r.json


def start_echo(client, variables=None, business_key=None) -> dict:
    """Deploy (once) and start the Modeler-made echo process: it waits on topic test.echo."""
    if not client.get(f"{ER}/process-definition?key=echo").json:
        assert deploy_files(client, "echo.bpmn", folder=MODELER, prefix=ER).status_code == 200
    r = client.post(f"{ER}/process-definition/key/echo/start",
                    json={"variables": variables or {}, "businessKey": business_key})
    assert r.status_code == 200, r.json
    return r.json


def test_fetch_complete_with_typed_variables(client):
    start_echo(client, {"MODEL": {"value": "m1", "type": "String"},
                        "n": {"value": 2 ** 40, "type": "Long"}})
    (task,) = fetch(client, includeExtensionProperties=True)
    assert task["topicName"] == "test.echo" and task["workerId"] == "w1"
    assert task["variables"]["MODEL"] == {"type": "String", "value": "m1", "valueInfo": {}}
    assert task["variables"]["n"]["type"] == "Long"
    assert task["extensionProperties"] == {"kind": "echo"}
    assert task["processDefinitionKey"] == "echo"
    assert task["processDefinitionId"].startswith("echo:1:")
    assert task["lockExpirationTime"].endswith("+0000")
    assert fetch(client) == []  # locked
    listed = client.get(f"{ER}/external-task?topicName=test.echo&locked=true").json
    assert [t["id"] for t in listed] == [task["id"]]
    assert client.get(f"{ER}/external-task/count?notLocked=true").json == {"count": 0}
    assert client.get(f"{ER}/external-task/{task['id']}").json["id"] == task["id"]
    r = client.post(f"{ER}/external-task/{task['id']}/complete",
                    json={"workerId": "intruder", "variables": {}})
    assert r.status_code == 409 and r.json["type"] == "RestException"
    r = client.post(f"{ER}/external-task/{task['id']}/extendLock",
                    json={"workerId": "w1", "newDuration": 60_000})
    assert r.status_code == 204
    r = client.post(f"{ER}/external-task/{task['id']}/complete", json={
        "workerId": "w1", "variables": {"score": {"value": 0.93, "type": "Double"},
                                        "report": {"value": '{"ok": true}', "type": "Json"}}})
    assert r.status_code == 204
    inst = client.get(f"/api/process-instances/{task['processInstanceId']}").json
    assert inst["status"] == "completed"
    assert inst["variables"]["score"] == 0.93 and inst["variables"]["report"] == {"ok": True}
    r = client.post(f"{ER}/external-task/{task['id']}/complete", json={"workerId": "w1"})
    assert r.status_code == 404 and r.json["type"] == "InvalidRequestException"
    assert "mlc_external_task_duration_seconds_count" in client.get("/metrics").get_data(as_text=True)


def test_variables_filter_and_business_key_filter(client):
    start_echo(client, {"a": {"value": 1}, "b": {"value": 2}}, business_key="bk-9")
    assert fetch(client, businessKey="other") == []
    (task,) = fetch(client, variables=["a"], businessKey="bk-9")
    assert set(task["variables"]) == {"a"} and task["businessKey"] == "bk-9"


def test_failure_with_retries_then_incident(client):
    start_echo(client)
    (task,) = fetch(client)
    r = client.post(f"{ER}/external-task/{task['id']}/failure", json={
        "workerId": "w1", "errorMessage": "flaky", "errorDetails": "trace", "retries": 1,
        "retryTimeout": 0})
    assert r.status_code == 204
    (again,) = fetch(client)
    assert again["id"] == task["id"] and again["retries"] == 1
    assert again["errorMessage"] == "flaky" and again["errorDetails"] == "trace"
    client.post(f"{ER}/external-task/{task['id']}/failure",
                json={"workerId": "w1", "errorMessage": "dead", "retries": 0})
    assert client.get("/api/incidents").json[0]["message"] == "dead"
    r = client.post(f"{ER}/external-task/{task['id']}/failure",
                    json={"workerId": "w1", "retries": -1})
    assert r.status_code == 400


def test_bpmn_error_caught_by_boundary_event(client):
    start_echo(client)
    (task,) = fetch(client)
    r = client.post(f"{ER}/external-task/{task['id']}/bpmnError", json={
        "workerId": "w1", "errorCode": "ECHO_REFUSED", "errorMessage": "no",
        "variables": {"why": {"value": "bad input", "type": "String"}}})
    assert r.status_code == 204
    history = client.get(f"/api/process-instances/{task['processInstanceId']}/history").json
    assert any(h["kind"] == "bpmn_error.thrown" for h in history)
    assert client.get(f"/api/process-instances/{task['processInstanceId']}").json["status"] == "completed"
    r = client.post(f"{ER}/external-task/{task['id']}/bpmnError", json={"workerId": "w1"})
    assert r.status_code == 400


def test_unlock_and_lock_errors(client):
    start_echo(client)
    (task,) = fetch(client)
    assert client.post(f"{ER}/external-task/{task['id']}/unlock").status_code == 204
    assert fetch(client, worker="w2")[0]["workerId"] == "w2"
    r = client.post(f"{ER}/external-task/{task['id']}/extendLock",
                    json={"workerId": "w2", "newDuration": 0})
    assert r.status_code == 400
    assert client.post(f"{ER}/external-task/nope/unlock").status_code == 404


def test_fetch_and_lock_validation_and_long_poll_timeout(client):
    r = client.post(f"{ER}/external-task/fetchAndLock", json={"maxTasks": 1, "topics": []})
    assert r.status_code == 400 and "workerId" in r.json["message"]
    r = client.post(f"{ER}/external-task/fetchAndLock", json={
        "workerId": "w", "topics": [{"topicName": "t"}]})
    assert r.status_code == 400 and "lockDuration" in r.json["message"]
    r = client.post(f"{ER}/external-task/fetchAndLock", json={
        "workerId": "w", "asyncResponseTimeout": 10 ** 9, "topics": []})
    assert r.status_code == 400
    r = client.post(f"{ER}/external-task/fetchAndLock", json={
        "workerId": "w", "topics": [{"topicName": "t", "lockDuration": 1,
                                     "processVariables": {"a": 1}}]})
    assert r.status_code == 400 and "processVariables" in r.json["message"]
    # long polling with nothing to do ends with [] once the timeout passes
    r = client.post(f"{ER}/external-task/fetchAndLock", json={
        "workerId": "w", "asyncResponseTimeout": 300, "usePriority": True, "sorting": None,
        "topics": [{"topicName": "t", "lockDuration": 1000}]})
    assert r.status_code == 200 and r.json == []


def test_unknown_camunda_route_is_camunda_shaped(client):
    r = client.get(f"{ER}/case-instance")
    assert r.status_code == 404 and set(r.json) == {"type", "message"}


# ---------------------------------------------------------------- ModelOp


def test_modelop_signal_and_signal_responsive(client):
    deploy_signal_start(client)
    body = {"name": "run-back-test", "variables": {"MODEL": {"value": "m2", "type": "String"}}}
    r = client.post("/mlc-service/rest/signal", json=body)
    assert r.status_code == 204
    r = client.post("/mlc-service/rest/signalResponsive", json=body)
    assert r.status_code == 200
    (started,) = r.json["started"]
    assert started["definitionId"].startswith("signal_start:")
    assert len(client.get(f"{ER}/process-instance?processDefinitionKey=signal_start").json) == 2
    r = client.post("/mlc-service/rest/signalResponsive", json={"variables": {}})
    assert r.status_code == 400 and r.json["type"] == "InvalidRequestException"


def test_signal_started_instance_reaches_its_first_wait_state(client):
    deploy_signal_start(client)
    r = client.post("/mlc-service/rest/signalResponsive", json={"name": "run-back-test"})
    (started,) = r.json["started"]
    detail = client.get(f"/api/process-instances/{started['id']}").json
    assert detail["active_activities"] == ["Task_echo"]
    assert fetch(client)[0]["processInstanceId"] == started["id"]


def test_version_tags_are_shown_and_a_call_activity_calls_by_tag(client):
    import io

    from tests.integration.test_coverage_activities import tag_caller, tagged

    for name, body in (("v1.bpmn", tagged("release-1", 1)), ("v2.bpmn", tagged(None, 2)),
                       ("caller.bpmn", tag_caller("by_tag", "release-1"))):
        r = client.post(f"{ER}/deployment/create", content_type="multipart/form-data",
                        data={"file0": (io.BytesIO(definitions(body)), name)})
        assert r.status_code == 200, r.json
    listed = client.get(f"{ER}/process-definition?key=tagged").json
    assert sorted((d["version"], d["versionTag"]) for d in listed) == [(1, "release-1"),
                                                                      (2, None)]
    started = client.post(f"{ER}/process-definition/key/by_tag/start",
                          json={"withVariablesInReturn": True}).json
    assert started["ended"] is True and started["variables"]["v"]["value"] == 1
