"""Values no database should hold, handled the same on SQLite and PostgreSQL (issue 15):
NaN/Infinity, NUL characters and absurd nesting get a 400 naming the reason (or fail the task
that produced them), and an unreachable database answers 503 with Retry-After."""

from __future__ import annotations

import json

import pytest

from connectors.notifications import NotificationFeed
from engine.db import Database
from tests.support.api import make_app
from tests.support.bpmn import bpmn, chain, external
from tests.support.engine import Harness

ONE_TASK = bpmn("one", '<bpmn:startEvent id="s"/>',
                external("t", "produce", extra='<bpmn:extensionElements>'
                         '<camunda:failedJobRetryTimeCycle>R1/PT0S'
                         '</camunda:failedJobRetryTimeCycle></bpmn:extensionElements>'),
                '<bpmn:endEvent id="e"/>', chain("s", "t", "e"))


@pytest.fixture
def client(database):
    app = make_app(database)
    app.extensions["mlc_application"].engine.deploy([("one.bpmn", ONE_TASK)])
    return app.test_client()


def post_raw(client, path: str, text: str):
    return client.post(path, data=text, content_type="application/json")


@pytest.mark.parametrize("body, reason", [
    ('{"variables": {"x": NaN}}', "NaN is not a JSON number"),
    ('{"variables": {"x": -Infinity}}', "-Infinity is not a JSON number"),
    ('{"variables": {"x": [1e400]}}', "JSON body.variables.x[0] is inf"),
])
def test_nan_and_infinity_are_refused_with_the_reason(client, body, reason):
    r = post_raw(client, "/api/process-definitions/one/start", body)
    assert r.status_code == 400 and reason in r.json["message"]
    assert client.get("/api/process-instances").json == []
    r = client.post("/engine-rest/process-definition/key/one/start", json={
        "variables": {"x": {"value": "[NaN]", "type": "Json"}}})
    assert r.status_code == 400 and "NaN is not a JSON number" in r.json["message"]


@pytest.mark.parametrize("request_args", [
    dict(path="/api/process-definitions/one/start", json={"business_key": "a\x00b"}),
    dict(path="/api/process-definitions/one/start", json={"variables": {"x": "a\x00"}}),
    dict(path="/api/process-definitions/one/start", json={"variables": {"a\x00": 1}}),
    dict(path="/api/signals", json={"name": "s\x00"}),
    dict(path="/api/process-instances?status=wait%00ing", method="GET"),
    dict(path="/api/process-instances/x%00y", method="GET"),
])
def test_nul_characters_are_refused_on_both_databases(client, request_args):
    method = request_args.pop("method", "POST")
    r = client.open(method=method, **request_args)
    assert r.status_code == 400 and "NUL character" in r.json["message"]
    assert client.get("/api/process-instances").json == []


def test_a_nul_in_a_deployment_form_field_is_refused(client):
    r = client.post("/api/deployments", data={"name": "x\x00y", "file": (
        __import__("io").BytesIO(ONE_TASK), "one.bpmn")}, content_type="multipart/form-data")
    assert r.status_code == 400 and "form field 'name'" in r.json["message"]


def test_a_100k_deep_body_is_a_400_and_the_server_answers_after(client):
    deep = "[" * 100_000 + "]" * 100_000
    for path in ("/api/signals", "/engine-rest/signal", "/api/process-definitions/one/start"):
        r = post_raw(client, path, '{"name": "s", "variables": ' + deep + "}")
        assert r.status_code == 400 and "nested deeper than 100 levels" in r.json["message"]
    shallow = json.dumps({"name": "s", "variables": {"v": [[[1]]]}})
    assert post_raw(client, "/api/signals", shallow).status_code == 200


def test_a_handler_result_with_nan_fails_the_task_with_the_reason(database):
    harness = Harness(database)
    harness.handle("produce", lambda ctx: {"metrics": {"auc": float("nan")}})
    harness.deploy("one.bpmn", ONE_TASK)
    instance = harness.engine.start("one").id
    harness.drain()
    [incident] = harness.engine.incidents()
    assert incident.instance_id == instance
    assert "result.metrics.auc is nan: NaN and Infinity are not JSON numbers" in incident.message


def test_json_columns_refuse_nan_on_both_databases(database):
    """The last line of defence: what reaches a JSON column unchecked fails the same way."""
    feed = NotificationFeed(database)
    with pytest.raises(Exception) as failure:
        feed.add(channel="local", status="sent", title="t", data={"value": float("inf")})
    assert "Out of range float values are not JSON compliant" in str(failure.value)
    assert feed.list() == []


def test_an_unreachable_database_answers_503_with_retry_after(tmp_path):
    down = Database("postgresql://mlc:mlc@127.0.0.1:1/none?connect_timeout=2")
    down.test_url = "postgresql://mlc:mlc@127.0.0.1:1/none"
    client = make_app(down).test_client()
    for path in ("/api/process-instances", "/engine-rest/process-instance"):
        r = client.get(path)
        assert r.status_code == 503 and r.headers["Retry-After"] == "5"
        assert "database is unavailable" in r.json["message"]
    assert client.get("/healthz").status_code == 503
    r = client.post("/api/signals", json={"name": "s"})
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
