"""The hostile-input corpus (tests/fixtures/hostile) against every JSON and upload route of a
real ``mlc serve``: every answer is a 4xx with a message, never a 5xx, and the server is
healthy afterwards (issue 15)."""

from __future__ import annotations

import re

import pytest
import requests

from connectors.tickets.webhooks import jira_signature
from tests.support.serve import ROOT, Server

pytestmark = pytest.mark.slow

CORPUS = ROOT / "tests" / "fixtures" / "hostile"
BODIES = sorted((CORPUS / "bodies").iterdir())
UPLOADS = sorted((CORPUS / "uploads").iterdir())
QUERIES = sorted((CORPUS / "sql").iterdir())
DEEP = b'{"name": "n", "variables": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
JIRA_SECRET = "hostile-jira-secret"
SNOW_SECRET = "hostile-servicenow-secret"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("hostile")
    (tmp_path / "data").mkdir()
    srv = Server(tmp_path, workers=0, env={
        "MLC_JIRA_WEBHOOK_SECRET": JIRA_SECRET, "MLC_SERVICENOW_WEBHOOK_SECRET": SNOW_SECRET,
        "MLC_DATA_ROOTS": str(tmp_path / "data")})
    yield srv
    srv.stop()


def json_routes(server: Server) -> list[tuple[str, str]]:
    """(method, path) of every documented route that takes a JSON body, ids filled in."""
    paths = requests.get(server.base + "/api/openapi.json", timeout=30).json()["paths"]
    routes = []
    for path, methods in paths.items():
        for method, op in methods.items():
            content = (op.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                routes.append((method.upper(), re.sub(r"\{[^}]+\}", "x", path)))
    return routes


def refused(response: requests.Response, what: str) -> None:
    assert 400 <= response.status_code < 500, (what, response.status_code, response.text[:300])
    body = response.json()
    assert isinstance(body.get("message"), str) and body["message"].strip(), (what, body)


def test_every_json_route_refuses_every_hostile_body(server):
    routes = json_routes(server)
    assert len(routes) >= 25  # the native, Camunda and ModelOp routes
    session = requests.Session()
    for method, path in routes:
        for name, data in [(p.name, p.read_bytes()) for p in BODIES] + [("deep", DEEP)]:
            r = session.request(method, server.base + path, data=data, timeout=60,
                                headers={"Content-Type": "application/json"})
            refused(r, f"{method} {path} {name}")
    assert requests.get(server.base + "/healthz", timeout=30).status_code == 200


def test_signed_webhooks_refuse_every_hostile_body(server):
    for name, data in [(p.name, p.read_bytes()) for p in BODIES] + [("deep", DEEP)]:
        jira = requests.post(server.base + "/api/webhooks/jira", data=data, timeout=60,
                             headers={"X-Hub-Signature": jira_signature(JIRA_SECRET, data),
                                      "Content-Type": "application/json"})
        refused(jira, f"jira webhook {name}")
        snow = requests.post(server.base + "/api/webhooks/servicenow", data=data, timeout=60,
                             headers={"X-MLC-Webhook-Secret": SNOW_SECRET,
                                      "Content-Type": "application/json"})
        refused(snow, f"servicenow webhook {name}")


def test_both_deployment_routes_refuse_every_hostile_file(server):
    for upload in UPLOADS:
        data = upload.read_bytes()
        native = requests.post(server.base + "/api/deployments", timeout=60,
                               files={"file": (upload.name, data)})
        refused(native, f"/api/deployments {upload.name}")
        camunda = requests.post(server.rest + "/deployment/create", timeout=60,
                                data={"deployment-name": "hostile"},
                                files={upload.name: (upload.name, data)})
        refused(camunda, f"/engine-rest/deployment/create {upload.name}")
    assert requests.get(server.base + "/api/process-definitions", timeout=30).json() == []


def test_metric_sql_that_is_not_one_select_over_the_views_is_refused(server):
    for query in QUERIES:
        body = {"name": "hostile-sql", "model_id": "m",
                "trigger": {"__kind__": "MetricBasedTrigger", "name": "q",
                            "metric": {"__kind__": "SqlMetric", "sql_query": query.read_text()}},
                "action": {"__kind__": "BuildAndDeploy",
                           "build_spec": {"__kind__": "BuildSpecifications",
                                          "git_uri": "file:///srv/git/m.git"}}}
        r = requests.post(server.base + "/api/automations", json=body, timeout=60)
        refused(r, f"metric query {query.name}")


def test_the_server_is_healthy_and_working_after_the_corpus(server):
    assert requests.get(server.base + "/healthz", timeout=30).status_code == 200
    r = requests.post(server.base + "/api/signals", json={"name": "still.alive"}, timeout=30)
    assert r.status_code == 200 and r.json() == {"started": [], "resumed": [],
                                                "unheard": True}
    log = server.output()
    assert "Traceback" not in log and not re.search(r" 5\d\d [\d.]+ms", log)
