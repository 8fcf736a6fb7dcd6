"""End to end: a real ``mlc serve`` subprocess on 127.0.0.1 driven by the real PyPI package
``camunda-external-task-client-python3`` (EngineClient, ExternalTaskClient/Worker), the
Modeler's deploy request, ModelOp signals, token auth and graceful shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests
from camunda.client.engine_client import EngineClient
from camunda.external_task.external_task_worker import ExternalTaskWorker

from tests.support.api import MODELER, ROOT, TOKEN
from tests.support.serve import Server, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path)
    yield srv
    srv.stop()


@pytest.fixture
def external_only(tmp_path):
    """No embedded workers: every topic (even one with an in-process handler, such as
    model.get-snapshot) waits for external workers like the Camunda client."""
    srv = Server(tmp_path, workers=0)
    yield srv
    srv.stop()


@pytest.fixture
def secured(tmp_path):
    srv = Server(tmp_path, token=TOKEN)
    yield srv
    srv.stop()


def worker(srv: Server, name: str = "py-worker") -> ExternalTaskWorker:
    return ExternalTaskWorker(worker_id=name, base_url=srv.rest, config={
        "maxTasks": 1, "lockDuration": 10_000, "asyncResponseTimeout": 1000,
        "retries": 0, "retryTimeout": 0, "sleepSeconds": 0, **srv.client_config()})


def test_engine_client_starts_and_external_task_worker_completes(server):
    server.deploy("deploy_signal_start")
    server.deploy_file(MODELER / "echo.bpmn")
    engine = EngineClient(server.rest)
    started = engine.start_process("echo", {"x": 41, "name": "model-a"}, business_key="bk-1")
    assert started["businessKey"] == "bk-1"
    running = engine.get_process_instance(process_key="echo")
    assert [i["id"] for i in running] == [started["id"]]
    seen = {}

    def handle(task):
        seen.update(task.get_variables(), props=task.get_extension_properties())
        return task.complete({"echoed": task.get_variable("x") + 1, "report": {"ok": True}})

    worker(server).fetch_and_execute("test.echo", handle)
    assert seen["x"] == 41 and seen["name"] == "model-a" and seen["props"] == {"kind": "echo"}
    detail = server.api(f"/api/process-instances/{started['id']}").json()
    assert detail["status"] == "completed"
    assert detail["variables"]["echoed"] == 42 and detail["variables"]["report"] == {"ok": True}


def test_bpmn_error_and_failure_from_the_client(server):
    server.deploy_file(MODELER / "echo.bpmn")
    engine = EngineClient(server.rest)
    refused = engine.start_process("echo", {})
    worker(server).fetch_and_execute(
        "test.echo", lambda t: t.bpmn_error("ECHO_REFUSED", "refused", {"why": "no data"}))
    assert server.api(f"/api/process-instances/{refused['id']}").json()["status"] == "completed"
    failing = engine.start_process("echo", {})
    worker(server).fetch_and_execute(
        "test.echo", lambda t: t.failure("boom", "stack", max_retries=0, retry_timeout=0))
    incidents = server.api("/api/incidents").json()
    assert [i["instance_id"] for i in incidents] == [failing["id"]]
    assert incidents[0]["message"] == "boom"


def test_message_correlation_and_variable_read_through_engine_client(external_only):
    server = external_only
    server.deploy_file(ROOT / "tests" / "fixtures" / "bpmn" / "service_flow.bpmn")
    engine = EngineClient(server.rest)
    inst = engine.start_process("service_flow", {"MODEL_ID": "m-9"}, business_key="bk-9")
    worker(server).fetch_and_execute("model.get-snapshot",
                                     lambda t: t.complete({"snapshot": "s-1"}))
    r = requests.post(server.rest + "/signal", json={"name": "go"}, timeout=30)
    assert r.status_code == 204
    result = engine.correlate_message("ticket.resolved", business_key="bk-9",
                                      process_variables={"status": "Done"})
    assert result[0]["execution"]["processInstanceId"] == inst["id"]
    value = engine.get_process_instance_variable(inst["id"], "status", with_meta=True)
    assert value["type"] == "String"
    assert server.api(f"/api/process-instances/{inst['id']}").json()["active_activities"] == ["pause"]


def test_long_poll_returns_a_task_created_while_waiting(server):
    server.deploy_file(MODELER / "echo.bpmn")
    got = []
    long_poller = ExternalTaskWorker("long-poller", server.rest, config={
        "maxTasks": 1, "lockDuration": 10_000, "asyncResponseTimeout": 20_000})
    thread = threading.Thread(target=lambda: got.extend(
        long_poller.client.fetch_and_lock("test.echo")))
    thread.start()
    time.sleep(0.5)  # let the poll start waiting (correctness does not depend on it)
    started = EngineClient(server.rest).start_process("echo", {})
    thread.join(timeout=60)
    assert [t["processInstanceId"] for t in got] == [started["id"]]


def test_modelop_signals_against_serve(server):
    server.deploy("deploy_signal_start")
    body = {"name": "run-back-test", "variables": {"MODEL": {"value": "m", "type": "String"}}}
    assert requests.post(server.base + "/mlc-service/rest/signal", json=body,
                         timeout=30).status_code == 204
    r = requests.post(server.base + "/mlc-service/rest/signalResponsive", json=body, timeout=30)
    assert r.status_code == 200 and len(r.json()["started"]) == 1


def test_token_auth_with_bearer_and_basic(secured):
    assert requests.get(secured.base + "/healthz", timeout=30).status_code == 200
    r = requests.get(secured.rest + "/version", timeout=30)
    assert r.status_code == 401 and r.json()["type"] == "AuthenticationException"
    assert requests.get(secured.rest + "/version", auth=("modeler", TOKEN),
                        timeout=30).status_code == 200
    assert requests.get(secured.base + "/api/incidents", auth=("x", "wrong"),
                        timeout=30).status_code == 401
    secured.deploy_file(MODELER / "echo.bpmn")
    engine = EngineClient(secured.rest, config=secured.client_config())
    started = engine.start_process("echo", {"x": 1})
    worker(secured).fetch_and_execute("test.echo", lambda t: t.complete({}))
    assert secured.api(f"/api/process-instances/{started['id']}").json()["status"] == "completed"
    with pytest.raises(Exception, match="401"):
        EngineClient(secured.rest).start_process("echo", {})


def test_sigterm_shuts_down_cleanly_during_a_long_poll(server):
    poll = threading.Thread(target=lambda: requests.post(
        server.rest + "/external-task/fetchAndLock", timeout=60, json={
            "workerId": "w", "asyncResponseTimeout": 30_000,
            "topics": [{"topicName": "t", "lockDuration": 1000}]}))
    poll.start()
    time.sleep(0.3)
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=60) == 0
    poll.join(timeout=60)
    assert "mlc stopped" in server.output()


def test_serve_refuses_public_host_without_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    env.update(MLC_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", "from mlc.cli import main; main()", "serve",
                           "--host", "0.0.0.0", "--port", str(free_port())],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "without MLC_API_TOKEN" in done.stderr
