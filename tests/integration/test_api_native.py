"""The native /api over a real database: every route, and every error code it can answer."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC

from flask import Blueprint

from engine.db import Database
from tests.support.api import (  # noqa: F401
    BPMN,
    MODELER,
    api_app,
    client,
    deploy_files,
    make_app,
)


def application_of(client):
    return client.application.extensions["mlc_application"]


def start_service_flow(client, business_key=None, **variables):
    variables.setdefault("MODEL_ID", "m-1")
    r = client.post("/api/process-definitions/service_flow/start",
                    json={"variables": variables, "business_key": business_key})
    assert r.status_code == 201, r.json
    return r.json


def finish_load(client, instance_id):
    tasks = application_of(client).tasks
    locked = tasks.fetch_and_lock("w", ["model.get-snapshot"], 10)
    for t in locked:
        if t.instance_id == instance_id:
            tasks.complete(t.id, "w", {"loaded": True})
        else:
            tasks.unlock(t.id)


# ---------------------------------------------------------------- system


def test_healthz_reports_database(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json == {"status": "ok", "database": "reachable"}


def test_healthz_answers_503_when_database_is_gone(database):
    app = make_app(database)
    database.dispose()
    # a server that refuses connections stands in for a database that went away
    app.extensions["mlc_application"].engine.db = Database("postgresql://nobody@127.0.0.1:1/none")
    r = app.test_client().get("/healthz")
    assert r.status_code == 503 and r.json["error"] == "unavailable"


def test_metrics_counts_instances_tasks_and_incidents(client):
    deploy_files(client, "service_flow.bpmn")
    start_service_flow(client)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'mlc_process_instances{status="waiting"} 1' in text
    assert 'mlc_external_tasks{state="available"} 1' in text
    assert "mlc_open_incidents 0" in text
    assert client.get("/metrics").content_type.startswith("text/plain")


def test_openapi_document_is_generated_from_request_schemas(client):
    doc = client.get("/api/openapi.json").json
    assert doc["openapi"].startswith("3.")
    start = doc["paths"]["/api/process-definitions/{key}/start"]["post"]
    assert start["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("StartRequest")
    assert "business_key" in doc["components"]["schemas"]["StartRequest"]["properties"]
    assert "/engine-rest/external-task/fetchAndLock" in doc["paths"]
    assert "/mlc-service/rest/signalResponsive" in doc["paths"]
    params = {p["name"] for p in doc["paths"]["/api/process-instances"]["get"]["parameters"]}
    assert {"status", "key", "business_key", "limit", "offset"} <= params


# ---------------------------------------------------------------- deployments


def test_deploy_then_redeploy_filters_unchanged(client):
    r = deploy_files(client, "service_flow.bpmn", "loop.bpmn")
    assert r.status_code == 201
    assert {p["key"] for p in r.json["processes"]} == {"service_flow", "loop"}
    again = deploy_files(client, "loop.bpmn")
    assert again.status_code == 201 and again.json["filtered"] == ["loop"]
    assert client.get("/api/process-definitions?key=loop").json[0]["version"] == 1


def test_deploy_refuses_bad_files_with_located_problems(client):
    r = deploy_files(client, "broken.bpmn", folder=MODELER)
    assert r.status_code == 400
    assert r.json["error"] == "validation_error"
    assert any(p["element_id"] == "Task_echo" for p in r.json["problems"])
    r = client.post("/api/deployments", data={"f": (io.BytesIO(b"x"), "notes.txt")},
                    content_type="multipart/form-data")
    assert r.status_code == 400 and "only .bpmn and .dmn" in r.json["message"]
    r = client.post("/api/deployments", data={"f": (io.BytesIO(b"<oops"), "x.bpmn")},
                    content_type="multipart/form-data")
    assert r.status_code == 400


def test_deploy_needs_multipart_with_files(client):
    assert client.post("/api/deployments", json={"a": 1}).status_code == 415
    r = client.post("/api/deployments", data={"name": "n"}, content_type="multipart/form-data")
    assert r.status_code == 400 and "at least one" in r.json["message"]
    r = client.post("/api/deployments", data={"duplicate_filtering": "maybe",
                                              "f": ((BPMN / "loop.bpmn").open("rb"), "loop.bpmn")},
                    content_type="multipart/form-data")
    assert r.status_code == 400 and "duplicate_filtering" in r.json["message"]


def test_oversized_body_is_413_json(database):
    small = make_app(database, MAX_CONTENT_LENGTH=1000).test_client()
    r = small.post("/api/deployments", data={"f": (io.BytesIO(b"x" * 5000), "big.bpmn")},
                   content_type="multipart/form-data")
    assert r.status_code == 413 and r.json["error"] == "request_entity_too_large"
    r = small.post("/api/signals", data=json.dumps({"name": "x" * 5000}),
                   content_type="application/json")
    assert r.status_code == 413


# ---------------------------------------------------------------- definitions and start


def test_list_definitions_latest_only(client):
    deploy_files(client, "loop.bpmn")
    changed = (BPMN / "loop.bpmn").read_bytes().replace(b"Counting loop", b"Counting loop 2")
    client.post("/api/deployments", data={"f": (io.BytesIO(changed), "loop.bpmn")},
                content_type="multipart/form-data")
    assert [d["version"] for d in client.get("/api/process-definitions").json] == [1, 2]
    latest = client.get("/api/process-definitions?latest_only=true").json
    assert [d["version"] for d in latest] == [2]
    assert client.get("/api/process-definitions?latest_only=perhaps").status_code == 400


def test_start_runs_to_completion_with_variables(client):
    deploy_files(client, "loop.bpmn")
    r = client.post("/api/process-definitions/loop/start",
                    json={"variables": {"limit": 5}, "business_key": "bk-1"})
    assert r.status_code == 201
    assert r.json["status"] == "completed" and r.json["variables"]["i"] == 5
    assert r.json["business_key"] == "bk-1"


def test_start_errors(client):
    deploy_files(client, "loop.bpmn")
    assert client.post("/api/process-definitions/nope/start", json={}).status_code == 404
    r = client.post("/api/process-definitions/loop/start", json={"variables": [1]})
    assert r.status_code == 400 and r.json["problems"][0]["field"] == "variables"
    r = client.post("/api/process-definitions/loop/start", json={"variabels": {}})
    assert r.status_code == 400 and "variabels" in r.json["message"]
    r = client.post("/api/process-definitions/loop/start", data="{not json",
                    content_type="application/json")
    assert r.status_code == 400 and "malformed JSON" in r.json["message"]
    r = client.post("/api/process-definitions/loop/start", data="limit=1",
                    content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415
    r = client.post("/api/process-definitions/loop/start", json=[1, 2])
    assert r.status_code == 400 and "JSON object" in r.json["message"]
    # the loop needs `limit`: evaluating its gateway fails at run time -> 422, nothing stored
    r = client.post("/api/process-definitions/loop/start", json={})
    assert r.status_code == 422
    assert client.get("/api/process-instances").json == []


# ---------------------------------------------------------------- signals and messages


def test_signal_resumes_waiting_instance_and_message_moves_it_on(client):
    deploy_files(client, "service_flow.bpmn")
    inst = start_service_flow(client, business_key="bk-7")
    finish_load(client, inst["id"])
    r = client.post("/api/signals", json={"name": "go", "variables": {"x": 1}})
    assert r.status_code == 200 and r.json == {"started": [], "resumed": [inst["id"]],
                                        "unheard": False}
    r = client.post("/api/messages", json={"name": "ticket.resolved", "business_key": "bk-7",
                                           "variables": {"status": "Done"}})
    assert r.status_code == 200 and r.json == {"instances": [inst["id"]]}
    detail = client.get(f"/api/process-instances/{inst['id']}").json
    assert detail["active_activities"] == ["pause"] and detail["variables"]["status"] == "Done"


def test_a_signal_nobody_hears_is_answered_unheard_and_logged(client, caplog):
    caplog.set_level(logging.WARNING, logger="mlc.engine")
    r = client.post("/api/signals", json={"name": "nosuch"})
    assert r.status_code == 200
    assert r.json == {"started": [], "resumed": [], "unheard": True}
    [warning] = [rec for rec in caplog.records if rec.levelno == logging.WARNING]
    assert "'nosuch' was not heard" in warning.getMessage()
    # Camunda's route keeps its contract: 204 and no body
    camunda = client.post("/engine-rest/signal", json={"name": "nosuch"})
    assert camunda.status_code == 204 and camunda.data == b""
    modelop = client.post("/mlc-service/rest/signalResponsive", json={"name": "nosuch"})
    assert modelop.status_code == 200 and modelop.json == {"started": [], "resumed": []}


def test_signal_and_message_errors(client):
    assert client.post("/api/signals", json={"name": ""}).status_code == 400
    assert client.post("/api/signals", json={}).status_code == 400
    r = client.post("/api/messages", json={"name": "ticket.resolved"})
    assert r.status_code == 404 and r.json["error"] == "not_found"
    deploy_files(client, "service_flow.bpmn")
    for _ in range(2):
        finish_load(client, start_service_flow(client)["id"])
    client.post("/api/signals", json={"name": "go"})
    r = client.post("/api/messages", json={"name": "ticket.resolved"})
    assert r.status_code == 409 and r.json["error"] == "conflict"
    r = client.post("/api/messages", json={"name": "ticket.resolved", "correlation": {"a": [1]}})
    assert r.status_code == 400
    r = client.post("/api/messages", json={"name": "ticket.resolved", "all": True})
    assert r.status_code == 200 and len(r.json["instances"]) == 2


# ---------------------------------------------------------------- instances


def test_instances_filter_and_paginate(client):
    deploy_files(client, "service_flow.bpmn", "loop.bpmn")
    ids = [start_service_flow(client, business_key=f"b{i}")["id"] for i in range(3)]
    client.post("/api/process-definitions/loop/start", json={"variables": {"limit": 1}})
    assert len(client.get("/api/process-instances").json) == 4
    assert len(client.get("/api/process-instances?key=service_flow").json) == 3
    assert len(client.get("/api/process-instances?status=completed").json) == 1
    assert [i["id"] for i in client.get("/api/process-instances?business_key=b1").json] == [ids[1]]
    page1 = client.get("/api/process-instances?key=service_flow&limit=2").json
    page2 = client.get("/api/process-instances?key=service_flow&limit=2&offset=2").json
    assert len(page1) == 2 and len(page2) == 1
    assert {i["id"] for i in page1 + page2} == set(ids)
    assert client.get("/api/process-instances?status=sleeping").status_code == 400
    assert client.get("/api/process-instances?limit=0").status_code == 400
    assert client.get("/api/process-instances?offset=-1").status_code == 400
    assert client.get("/api/process-instances?limit=ten").status_code == 400


def test_pretty_json_and_iso_timestamps_on_request(client):
    deploy_files(client, "loop.bpmn")
    compact = client.get("/api/process-definitions")
    pretty = client.get("/api/process-definitions?pretty=1")
    assert b"\n" not in compact.data.strip()
    assert pretty.data.decode() == json.dumps(compact.json, indent=2) + "\n"
    assert pretty.mimetype == "application/json"


def test_instances_carry_the_outcome_and_filter_on_it(client):
    deploy_files(client, "loop.bpmn")
    started = [client.post("/api/process-definitions/loop/start", json={"variables": {
        "limit": 1, "OUTCOME": outcome}}).json for outcome in ("failed", "passed")]
    listed = client.get("/api/process-instances").json
    assert {(i["status"], i["outcome"]) for i in listed} == {("completed", "failed"),
                                                             ("completed", "passed")}
    failed = client.get("/api/process-instances?outcome=failed").json
    assert [i["id"] for i in failed] == [started[0]["id"]]
    by_prefix = client.get(f"/api/process-instances/{started[0]['id'][:8]}")
    assert by_prefix.status_code == 200 and by_prefix.json["id"] == started[0]["id"]
    history = client.get(f"/api/process-instances/{started[0]['id'][:8]}/history").json
    assert history[0]["kind"] == "instance.started"


def test_instance_detail_history_and_terminate(client):
    deploy_files(client, "service_flow.bpmn")
    inst = start_service_flow(client)
    detail = client.get(f"/api/process-instances/{inst['id']}").json
    assert detail["status"] == "waiting" and detail["active_activities"] == ["load"]
    assert detail["incidents"] == []
    kinds = [h["kind"] for h in client.get(f"/api/process-instances/{inst['id']}/history").json]
    assert kinds[0] == "instance.started"
    r = client.post(f"/api/process-instances/{inst['id']}/terminate", json={"reason": "test"})
    assert r.status_code == 200 and r.json["status"] == "terminated"
    r = client.post(f"/api/process-instances/{inst['id']}/terminate")
    assert r.status_code == 409
    assert client.get("/api/process-instances/nope").status_code == 404
    assert client.get("/api/process-instances/nope/history").status_code == 404
    assert client.post("/api/process-instances/nope/terminate").status_code == 404


# ---------------------------------------------------------------- incidents and tasks


def test_incident_listed_and_retried(client):
    deploy_files(client, "service_flow.bpmn")
    inst = start_service_flow(client)
    tasks = application_of(client).tasks
    (task,) = tasks.fetch_and_lock("w", ["model.get-snapshot"], 1)
    tasks.fail(task.id, "w", "boom", retries=0)
    incidents = client.get("/api/incidents").json
    assert len(incidents) == 1 and incidents[0]["instance_id"] == inst["id"]
    assert client.get("/api/incidents?status=resolved").json == []
    assert client.get("/api/incidents?status=bogus").status_code == 400
    r = client.post(f"/api/incidents/{incidents[0]['id']}/retry")
    assert r.status_code == 200 and r.json["status"] == "waiting"
    assert client.post(f"/api/incidents/{incidents[0]['id']}/retry").status_code == 409
    assert client.post("/api/incidents/nope/retry").status_code == 404
    assert len(client.get("/api/incidents?status=all").json) == 1


def test_external_tasks_listed(client):
    deploy_files(client, "service_flow.bpmn")
    inst = start_service_flow(client)
    listed = client.get("/api/external-tasks?topic=model.get-snapshot").json
    assert len(listed) == 1 and listed[0]["instance_id"] == inst["id"]
    assert listed[0]["properties"] == {"kind": "review"}
    assert client.get(f"/api/external-tasks?instance_id={inst['id']}").json == listed
    assert client.get(f"/api/external-tasks/{listed[0]['id']}").json["topic"] == "model.get-snapshot"
    assert client.get(f"/api/external-tasks/{listed[0]['id'][:8]}").json == listed[0]
    assert client.get("/api/external-tasks/nope").status_code == 404


def test_unknown_decision_is_404(client):
    r = client.post("/api/decisions/nope/evaluate", json={"variables": {}})
    assert r.status_code == 404


# ---------------------------------------------------------------- framework errors


def test_unknown_route_and_method_are_json(client):
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and r.json["error"] == "not_found"
    r = client.delete("/api/signals")
    assert r.status_code == 405 and "POST" in r.headers["Allow"] and r.json["error"]


def test_unexpected_error_is_json_500_without_traceback(database):
    bp = Blueprint("boom", __name__)

    @bp.route("/api/boom")
    def boom():
        raise RuntimeError("secret internals")

    from tests.support.api import make_application
    from web import create_app

    app = create_app(make_application(database), blueprints=[bp])
    r = app.test_client().get("/api/boom")
    assert r.status_code == 500 and r.json["error"] == "internal_error"
    assert "secret internals" not in r.get_data(as_text=True)


def test_timestamps_anywhere_in_an_answer_are_iso_8601(database):
    from datetime import datetime

    from flask import jsonify

    from tests.support.api import make_application
    from web import create_app

    bp = Blueprint("stamps", __name__)

    @bp.route("/api/stamps")
    def stamps():
        return jsonify({"at": datetime(2026, 11, 30, 8, 0, tzinfo=UTC)})

    app = create_app(make_application(database), blueprints=[bp])
    assert app.test_client().get("/api/stamps").json == {"at": "2026-11-30T08:00:00+00:00"}


def test_a_connector_route_on_an_app_built_without_connectors_is_404_not_configured(client):
    # make_app builds the application without mlc.wiring.register_handlers: no services
    for path, name in (("/api/models", "registry"), ("/api/jobs", "jobs"),
                       ("/api/notifications", "notifications")):
        r = client.get(path)
        assert r.status_code == 404, (path, r.json)
        assert r.json["error"] == "not_configured"
        assert f"no {name} service" in r.json["message"]
    assert client.get("/").status_code == 200  # the cockpit leaves those panels out instead
