"""Deployed decision services and business knowledge models are evaluated by id or name over
``/api/decisions/{key}/evaluate`` (like decisions), and so are models that import each other
when deployed together."""

from __future__ import annotations

import io
from pathlib import Path

from tests.support.api import api_app, client  # noqa: F401

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dmn"
SERVICE = (FIXTURES / "greeter_service.dmn").read_text()
USER, LIBRARY = ((FIXTURES / "imports" / n).read_text() for n in ("user.dmn", "lib.dmn"))


def deploy(client, *files):
    data = {f"file{i}": (io.BytesIO(text.encode()), name)
            for i, (name, text) in enumerate(files)}
    return client.post("/api/deployments", data=data, content_type="multipart/form-data")


def evaluate(client, key, **variables):
    return client.post(f"/api/decisions/{key}/evaluate", json={"variables": variables})


def test_decision_service_and_bkm_by_id_and_by_name(client):
    deployed = deploy(client, ("svc.dmn", SERVICE))
    assert deployed.status_code == 201, deployed.json
    assert {d["key"] for d in deployed.json["decisions"]} == \
        {"greeting", "message", "greeter", "twice"}
    for key in ("greeter", "Greeter Service"):
        r = evaluate(client, key, Who="Ada", Greeting="Hi")
        assert r.status_code == 200, r.json
        assert r.json["value"] == "Hi Ada" and r.json["outputs"] == {"Message": "Hi Ada"}
    for key in ("twice", "Twice"):
        assert evaluate(client, key, v=21).json["value"] == 42
    wrong = evaluate(client, "Twice", w=1)
    assert wrong.status_code == 200 and wrong.json["value"] is None and wrong.json["errors"]


def test_models_that_import_each_other_deploy_together(client):
    alone = deploy(client, ("user.dmn", USER))
    assert alone.status_code == 400 and "urn:lib" in alone.json["message"]
    together = deploy(client, ("user.dmn", USER), ("lib.dmn", LIBRARY))
    assert together.status_code == 201, together.json
    assert evaluate(client, "Next", n=1).json["value"] == 2
