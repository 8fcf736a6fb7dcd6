"""The OpenAPI document says what every JSON route answers with, and real answers of a
wired server validate against it (so /api/docs can be trusted)."""

from __future__ import annotations

import jsonschema
import pytest

from engine import Database
from tests.support.cockpit import build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One world for the module: the calls below read it, or change what no later call reads."""
    folder = tmp_path_factory.mktemp("openapi")
    db = Database(f"sqlite:///{folder / 'mlc.db'}")
    db.test_url = f"sqlite:///{folder / 'mlc.db'}"  # type: ignore[attr-defined]
    db.create_all()
    built = build_world(db, folder)
    yield built
    built.application.close()
    db.dispose()


def schema_of(doc, method, path, status="200"):
    content = doc["paths"][path][method]["responses"][status]["content"]
    return {**content["application/json"]["schema"], "components": doc["components"]}


def test_every_json_answer_has_a_schema(world):
    doc = world.client.get("/api/openapi.json").json
    undocumented = [(method, path, code) for path, ops in doc["paths"].items()
                    for method, op in ops.items() for code, response in op["responses"].items()
                    if code.startswith("2") and code != "204" and "content" not in response]
    assert undocumented == []


@pytest.mark.parametrize("method, path, status, call", [
    ("get", "/api/process-instances", "200", lambda w: ("/api/process-instances", None)),
    ("get", "/api/process-instances/{instance_id}", "200",
     lambda w: (f"/api/process-instances/{w.ids['flow']}", None)),
    ("get", "/api/process-instances/{instance_id}/history", "200",
     lambda w: (f"/api/process-instances/{w.ids['flow']}/history", None)),
    ("get", "/api/process-definitions", "200", lambda w: ("/api/process-definitions", None)),
    ("post", "/api/process-definitions/{key}/start", "201",
     lambda w: ("/api/process-definitions/flow/start", {"variables": {"a": 1}})),
    ("get", "/api/incidents", "200", lambda w: ("/api/incidents", None)),
    ("get", "/api/external-tasks", "200", lambda w: ("/api/external-tasks", None)),
    ("post", "/api/decisions/{key}/evaluate", "200",
     lambda w: ("/api/decisions/classification_approval/evaluate",
                {"variables": {"STAGE": "DEV", "roc_auc": 0.9, "f1": 0.9}})),
    ("post", "/api/signals", "200", lambda w: ("/api/signals", {"name": "nobody"})),
    ("get", "/api/models", "200", lambda w: ("/api/models", None)),
    ("get", "/api/models/{model_id}/snapshots", "200",
     lambda w: (f"/api/models/{w.ids['model']}/snapshots", None)),
    ("get", "/api/snapshots/{snapshot_id}", "200",
     lambda w: (f"/api/snapshots/{w.ids['snapshot']}", None)),
    ("get", "/api/runtimes", "200", lambda w: ("/api/runtimes", None)),
    ("get", "/api/deployed-models", "200", lambda w: ("/api/deployed-models", None)),
    ("get", "/api/jobs", "200", lambda w: ("/api/jobs", None)),
    ("get", "/api/tickets", "200", lambda w: ("/api/tickets", None)),
    ("get", "/api/tickets/{key}", "200", lambda w: (f"/api/tickets/{w.ids['ticket']}", None)),
    ("post", "/api/tickets/{key}/transition", "200",
     lambda w: (f"/api/tickets/{w.ids['ticket']}/transition", {"status": "Done"})),
    ("get", "/api/tickets/{system}/{key}", "200",
     lambda w: (f"/api/tickets/local/{w.ids['ticket']}", None)),
    ("post", "/api/tickets/{system}/{key}/transition", "200",
     lambda w: (f"/api/tickets/local/{w.ids['ticket']}/transition", {"status": "Rejected"})),
    ("get", "/api/notifications", "200", lambda w: ("/api/notifications", None)),
    ("get", "/api/automations", "200", lambda w: ("/api/automations", None)),
    ("get", "/api/automations/{name}", "200", lambda w: ("/api/automations/churn-daily", None)),
    ("post", "/api/automations/{name}/pause", "200",
     lambda w: ("/api/automations/churn-daily/pause", None)),
    ("get", "/healthz", "200", lambda w: ("/healthz", None)),
    ("get", "/engine-rest/process-instance", "200", lambda w: ("/engine-rest/process-instance", None)),
    ("get", "/engine-rest/process-definition", "200",
     lambda w: ("/engine-rest/process-definition", None)),
    ("get", "/engine-rest/external-task", "200", lambda w: ("/engine-rest/external-task", None)),
    ("get", "/engine-rest/deployment", "200", lambda w: ("/engine-rest/deployment", None)),
    ("get", "/engine-rest/process-instance/{instance_id}/variables", "200",
     lambda w: (f"/engine-rest/process-instance/{w.ids['flow']}/variables", None)),
])
def test_real_answers_validate_against_their_schema(world, method, path, status, call):
    doc = world.client.get("/api/openapi.json").json
    url, body = call(world)
    response = world.client.open(url, method=method.upper(), json=body)
    assert str(response.status_code) == status, response.text
    jsonschema.validate(response.json, schema_of(doc, method, path, status))
