"""The registry routes (models, snapshots, runtimes, deployed models, predictions, jobs) over
an app built by the real composition root, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest

from connectors.samples import CLASSIFIER_SOURCE, FEATURES
from tests.support.api import make_wired_app, wired_client  # noqa: F401
from tests.support.bpmn import bpmn, chain


def services(client):
    return client.application.extensions["mlc_application"].services


def created(response, status=201):
    assert response.status_code == status, response.json
    return response.json


def problem_fields(response, status=400):
    assert response.status_code == status, response.json
    return [p["field"] for p in response.json["problems"]]


@pytest.fixture
def model(wired_client):
    return created(wired_client.post("/api/models", json={
        "name": "churn", "methodology": "classification", "owner": "ds-team"}))


@pytest.fixture
def snapshot(wired_client, model):
    return created(wired_client.post(f"/api/models/{model['id']}/snapshots", json={
        "source": CLASSIFIER_SOURCE, "tags": ["run_test", "jira"], "stage": "DEV",
        "service_tag": "churn-svc", "metadata": {"threshold": 0.7},
        "expiration_date": "2027-06-30",
        "assets": [{"role": "TEST_DATA", "uri": "file:///data/test.csv", "format": "csv"}]}))


# ---------------------------------------------------------------- models


def test_models_create_list_and_get_by_id_or_name(wired_client, model):
    assert model["name"] == "churn" and model["owner"] == "ds-team"
    assert [m["id"] for m in wired_client.get("/api/models").json] == [model["id"]]
    assert wired_client.get(f"/api/models/{model['id']}").json == model
    assert wired_client.get("/api/models/churn").json == model


def test_model_errors(wired_client, model):
    assert problem_fields(wired_client.post("/api/models", json={
        "name": "x", "methodology": "clustering"})) == ["methodology"]
    assert problem_fields(wired_client.post("/api/models", json={
        "methodology": "regression"})) == ["name"]
    assert problem_fields(wired_client.post("/api/models", json={
        "name": "x", "methodology": "regression", "colour": "red"})) == ["colour"]
    assert problem_fields(wired_client.post("/api/models", json={
        "name": "a\x00b", "methodology": "regression"})) == ["name"]
    duplicate = wired_client.post("/api/models", json={"name": "churn",
                                                       "methodology": "regression"})
    assert duplicate.status_code == 409 and "already exists" in duplicate.json["message"]
    missing = wired_client.get("/api/models/nope")
    assert missing.status_code == 404 and missing.json["error"] == "not_found"
    assert wired_client.get("/api/models/nope/snapshots").status_code == 404


# ---------------------------------------------------------------- snapshots


def test_snapshot_create_broadcasts_mlc_snapshot_created(wired_client, model):
    engine = client_engine(wired_client)
    engine.deploy([("on_snapshot.bpmn", bpmn(
        "on_snapshot", '<bpmn:startEvent id="s"><bpmn:signalEventDefinition '
        'signalRef="SigCreated" /></bpmn:startEvent>',
        '<bpmn:userTask id="look" />', '<bpmn:endEvent id="e" />', chain("s", "look", "e"),
        extra='<bpmn:signal id="SigCreated" name="mlc.snapshot.created" />'))])
    snap = created(wired_client.post(f"/api/models/{model['id']}/snapshots",
                                     json={"source": CLASSIFIER_SOURCE}))
    [instance] = engine.list_instances(key="on_snapshot")
    variables = engine.get_instance(instance.id).variables
    assert variables["MODEL_ID"] == model["id"] and variables["SNAPSHOT_ID"] == snap["id"]


def client_engine(client):
    return client.application.extensions["mlc_application"].engine


def test_snapshots_listed_and_shown(wired_client, model, snapshot):
    assert snapshot["version"] == 1 and snapshot["tags"] == ["run_test", "jira"]
    assert snapshot["expiration_date"] == "2027-06-30T00:00:00+00:00"
    assert snapshot["assets"][0]["role"] == "TEST_DATA"
    for stamp in (snapshot["created_at"], snapshot["assets"][0]["created_at"]):  # ISO 8601
        assert datetime.fromisoformat(stamp).tzinfo is not None, stamp
    second = created(wired_client.post("/api/models/churn/snapshots",
                                       json={"source": CLASSIFIER_SOURCE}))
    listed = wired_client.get(f"/api/models/{model['id']}/snapshots").json
    assert [s["version"] for s in listed] == [1, 2] and listed[1]["id"] == second["id"]
    assert wired_client.get(f"/api/snapshots/{snapshot['id']}").json == snapshot
    assert wired_client.get(f"/api/snapshots/{snapshot['id'][:8]}").json == snapshot  # prefix


def test_snapshot_errors(wired_client, model):
    url = f"/api/models/{model['id']}/snapshots"
    assert problem_fields(wired_client.post(url, json={})) == ["source"]
    assert problem_fields(wired_client.post(url, json={
        "source": "x", "stage": "QA"})) == ["stage"]
    assert problem_fields(wired_client.post(url, json={
        "source": "x", "assets": [{"role": "NOTES", "uri": "u"}]})) == ["assets.0.role"]
    assert problem_fields(wired_client.post(url, json={
        "source": "x", "expiration_date": "next year"})) == ["expiration_date"]
    assert wired_client.post("/api/models/nope/snapshots",
                             json={"source": "x"}).status_code == 404
    assert wired_client.get("/api/snapshots/nope").status_code == 404
    not_json = wired_client.post(url, data="source=x", content_type="text/plain")
    assert not_json.status_code == 415


# ---------------------------------------------------------------- runtimes and deployments


def test_runtimes_create_list_get_and_errors(wired_client):
    batch = created(wired_client.post("/api/runtimes", json={"name": "batch-dev",
                                                             "stage": "DEV"}))
    online = created(wired_client.post("/api/runtimes", json={
        "name": "online-dev", "stage": "DEV", "service_tags": ["churn-svc"],
        "endpoints": ["http://127.0.0.1:9000"]}))
    assert {r["id"] for r in wired_client.get("/api/runtimes").json} == {batch["id"],
                                                                          online["id"]}
    assert wired_client.get("/api/runtimes/online-dev").json == online
    assert wired_client.get("/api/runtimes/nope").status_code == 404
    assert wired_client.post("/api/runtimes", json={"name": "batch-dev",
                                                    "stage": "DEV"}).status_code == 409
    assert problem_fields(wired_client.post("/api/runtimes", json={
        "name": "r", "stage": "dev-ish"})) == ["stage"]
    assert problem_fields(wired_client.post("/api/runtimes", json={
        "name": "r", "stage": "DEV", "endpoints": "http://x"})) == ["endpoints"]


@pytest.fixture
def deployments(wired_client, snapshot):
    registry = services(wired_client).registry
    batch_rt = registry.add_runtime("batch-dev", "DEV")
    online_rt = registry.add_runtime("online-dev", "DEV", endpoints=["http://127.0.0.1:9"])
    return registry.deploy(snapshot["id"], batch_rt.id), \
        registry.deploy(snapshot["id"], online_rt.id)


def test_deployed_models_listed_filtered_and_shown(wired_client, deployments, snapshot):
    batch, online = deployments
    everything = wired_client.get("/api/deployed-models").json
    assert {d["id"] for d in everything} == {batch.id, online.id}
    [only] = wired_client.get("/api/deployed-models?mode=online").json
    assert only["id"] == online.id and only["state"] == "deployed"
    assert (only["runtime_name"], only["model_name"]) == ("online-dev", "churn")
    assert len(wired_client.get(f"/api/deployed-models?runtime_id={batch.runtime_id}").json) == 1
    assert len(wired_client.get(
        f"/api/deployed-models?snapshot_id={snapshot['id']}&state=deployed").json) == 2
    assert wired_client.get("/api/deployed-models?state=retired").json == []
    assert problem_fields(wired_client.get("/api/deployed-models?mode=streaming")) == ["mode"]
    assert wired_client.get(f"/api/deployed-models/{batch.id}").json["mode"] == "batch"
    assert wired_client.get(f"/api/deployed-models/{batch.id[:8]}").json["id"] == batch.id
    assert wired_client.get("/api/deployed-models/nope").status_code == 404


def test_predict_with_an_online_deployment(wired_client, deployments):
    batch, online = deployments
    records = [dict.fromkeys(FEATURES, 0.5), dict.fromkeys(FEATURES, -1.0)]
    answer = wired_client.post(f"/api/deployed-models/{online.id}/predict",
                               json={"records": records})
    assert answer.status_code == 200, answer.json
    predictions = answer.json["predictions"]
    assert len(predictions) == 2 and set(predictions[0]) == {"prediction", "score"}
    # one record alone scores as it did beside another (up to the last bit: BLAS may sum a
    # batch of two in another order than a batch of one)
    [alone] = wired_client.post(f"/api/deployed-models/{online.id}/predict",
                                json={"records": records[:1]}).json["predictions"]
    assert alone["prediction"] == predictions[0]["prediction"]
    assert alone["score"] == pytest.approx(predictions[0]["score"], rel=1e-12)
    assert services(wired_client).predictor.loads == 1

    batch_only = wired_client.post(f"/api/deployed-models/{batch.id}/predict",
                                   json={"records": records})
    assert batch_only.status_code == 409 and "batch-only" in batch_only.json["message"]
    assert wired_client.post("/api/deployed-models/nope/predict",
                             json={"records": records}).status_code == 404
    assert problem_fields(wired_client.post(f"/api/deployed-models/{online.id}/predict",
                                            json={"records": "f0=1"})) == ["records"]
    assert problem_fields(wired_client.post(f"/api/deployed-models/{online.id}/predict",
                                            json={})) == ["records"]
    rejected = wired_client.post(f"/api/deployed-models/{online.id}/predict",
                                 json={"records": [{"f0": 1.0}]})
    assert rejected.status_code == 400 and "rejected the records" in rejected.json["message"]


# ---------------------------------------------------------------- jobs


def test_jobs_listed_filtered_and_shown(wired_client, snapshot):
    store = services(wired_client).jobs.store
    metrics = store.create("metrics", snapshot_id=snapshot["id"],
                           model_id=snapshot["model_id"], inputs={"input": "file:///t.csv"})
    store.finish(metrics.id, succeeded=True, metrics={"accuracy": 0.9}, log_tail="done")
    scoring = store.create("scoring", snapshot_id=snapshot["id"],
                           model_id=snapshot["model_id"], inputs={})
    assert {j["id"] for j in wired_client.get("/api/jobs").json} == {metrics.id, scoring.id}
    [succeeded] = wired_client.get("/api/jobs?state=succeeded").json
    assert succeeded["id"] == metrics.id and succeeded["metrics"] == {"accuracy": 0.9}
    assert [j["id"] for j in wired_client.get("/api/jobs?type=scoring").json] == [scoring.id]
    assert len(wired_client.get(f"/api/jobs?snapshot_id={snapshot['id']}&limit=1").json) == 1
    shown = wired_client.get(f"/api/jobs/{metrics.id}").json
    assert shown["log_tail"] == "done" and shown["inputs"] == {"input": "file:///t.csv"}
    assert wired_client.get("/api/jobs/nope").status_code == 404
    assert problem_fields(wired_client.get("/api/jobs?type=painting")) == ["type"]
    assert problem_fields(wired_client.get("/api/jobs?limit=0")) == ["limit"]


def test_oversized_body_is_413(database):
    app = make_wired_app(database, config={"MAX_CONTENT_LENGTH": 1024})
    try:
        big = {"records": [dict.fromkeys(FEATURES, 0.123456789)] * 50}
        answer = app.test_client().post("/api/deployed-models/x/predict", json=big)
        assert answer.status_code == 413 and answer.json["error"] == "request_entity_too_large"
    finally:
        app.extensions["mlc_application"].close()


def test_registry_routes_are_in_the_openapi_document(wired_client):
    paths = wired_client.get("/api/openapi.json").json["paths"]
    for path in ("/api/models", "/api/models/{model_id}", "/api/models/{model_id}/snapshots",
                 "/api/snapshots/{snapshot_id}", "/api/runtimes", "/api/deployed-models",
                 "/api/deployed-models/{deployment_id}/predict", "/api/jobs",
                 "/api/jobs/{job_id}"):
        assert path in paths, path
    assert "requestBody" in paths["/api/models/{model_id}/snapshots"]["post"]


@pytest.mark.parametrize("path", ["/api/models/a%00b", "/api/snapshots/a%00b",
                                  "/api/deployed-models?model_id=a%00b", "/api/jobs/" + "x" * 300])
def test_unstorable_ids_are_4xx_on_every_back_end(wired_client, path):
    # PostgreSQL refuses NUL characters outright; an id longer than any column cannot exist
    answer = wired_client.get(path)
    assert answer.status_code in (400, 404), answer.json
    assert answer.json["error"] in ("validation_error", "not_found")
