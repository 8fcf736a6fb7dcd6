"""Runtime engines (``local`` | ``dask`` + scheduler) over REST, the CLI, matching and the job
topics; and cancelling jobs (REST, CLI, the local pool). The Dask cluster itself is exercised
in test_dask_runtime.py."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest

from connectors.jobs import ScoringOptions
from connectors.jobs.topics import ModelTopics
from connectors.registry import tables
from connectors.samples import sample_frame
from engine.db import utcnow
from engine.errors import BpmnError, ConflictError
from tests.integration.test_api_registry import created, problem_fields, services
from tests.integration.test_jobs_cli import run  # noqa: F401 - fixture
from tests.support.api import wired_client  # noqa: F401 - fixture
from tests.support.jobs import (  # noqa: F401 - fixtures
    context,
    data_root,
    jobs,
    model_pool,
    registry,
    sample,
    signals,
    write_model,
)

DASK = {"name": "dask-dev", "stage": "DEV", "engine": "dask", "scheduler": "tcp://dask:8786"}


def test_runtimes_take_an_engine_and_a_scheduler(wired_client):
    local = created(wired_client.post("/api/runtimes", json={"name": "batch", "stage": "DEV"}))
    dask = created(wired_client.post("/api/runtimes", json={**DASK,
                                                            "service_tags": ["churn-svc"]}))
    assert (local["engine"], local["scheduler"]) == ("local", None)
    assert (dask["engine"], dask["scheduler"]) == ("dask", "tcp://dask:8786")
    assert wired_client.get("/api/runtimes/dask-dev").json == dask
    spec = wired_client.get("/api/openapi.json").json
    body = spec["components"]["schemas"]["RuntimeCreate"]["properties"]
    assert body["engine"]["enum"] == ["local", "dask"] and "scheduler" in body


@pytest.mark.parametrize("body,message", [
    ({"engine": "dask"}, "engine 'dask' needs a scheduler address"),
    ({"engine": "dask", "scheduler": "http://dask:8786"}, "is not an address like"),
    ({"engine": "dask", "scheduler": "tcp://dask"}, "is not an address like"),
    ({"engine": "dask", "scheduler": "tcp://dask:port"}, "is not an address like"),
    ({"engine": "dask", "scheduler": "tcp://dask:8786/x"}, "is not an address like"),
    ({"scheduler": "tcp://dask:8786"}, "scheduler applies only to engine 'dask'"),
    ({"engine": "dask", "scheduler": "tcp://dask:8786", "endpoints": ["http://x"]},
     "takes no endpoints"),
])
def test_bad_engine_and_scheduler_pairs_are_refused_by_name(wired_client, body, message):
    response = wired_client.post("/api/runtimes", json={"name": "r", "stage": "DEV", **body})
    assert response.status_code == 400, response.json
    assert message in response.json["message"]
    assert wired_client.get("/api/runtimes").json == []


def test_an_unknown_engine_is_a_field_problem(wired_client):
    assert problem_fields(wired_client.post("/api/runtimes", json={
        "name": "r", "stage": "DEV", "engine": "spark"})) == ["engine"]


def test_cli_adds_and_lists_a_dask_runtime(run):
    added = run("runtimes", "add", "dask-dev", "--stage", "DEV", "--engine", "dask",
                "--scheduler", "tcp://dask:8786", "--json")
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["engine"] == "dask"
    assert "dask tcp://dask:8786" in run("runtimes", "list").output
    refused = run("runtimes", "add", "bad", "--stage", "DEV", "--engine", "dask")
    assert refused.exit_code == 1 and "needs a scheduler address" in refused.output


def test_a_dask_runtime_is_matched_like_any_other(registry):
    registry.add_runtime("batch-dev", "DEV", service_tags=["churn-svc"])
    dask = registry.add_runtime("dask-dev", "DEV", service_tags=["churn-svc"], engine="dask",
                                scheduler="tcp://dask:8786")
    registry.add_runtime("dask-prod", "PROD", service_tags=["churn-svc"], engine="dask",
                         scheduler="tcp://dask:8786")
    assert [r.id for r in registry.match_runtimes("DEV", "churn-svc")][0] == dask.id
    assert {r.name for r in registry.match_runtimes("DEV", "churn-svc")} == {"batch-dev",
                                                                           "dask-dev"}


def test_job_topics_run_on_the_named_runtime_and_refuse_an_unknown_one(jobs, registry, sample,
                                                                       data_root):
    _, snapshot, paths = sample
    local = registry.add_runtime("batch-dev", "DEV")
    topics = ModelTopics(registry, jobs)
    out = topics.metrics(context("job.metrics", {"SNAPSHOT_ID": snapshot.id,
                                                 "RUNTIME_ID": local.id}))
    assert jobs.get(out["JOB_ID"]).inputs["runtime"]["engine"] == "local"
    with pytest.raises(BpmnError) as caught:
        topics.scoring(context("job.scoring", {
            "SNAPSHOT_ID": snapshot.id, "RUNTIME_ID": "no-such-runtime",
            "INPUT_FILE": str(paths["test"]), "OUTPUT_FILE": str(data_root / "o")}))
    assert caught.value.error_code == "NO_RUNTIME" and "no-such-runtime" in caught.value.message


SLEEPY = """
    import time
    def predict(df):
        with open({marks!r}, "a") as fh:
            fh.write("started\\n")
        time.sleep(60)
        return df.iloc[:, 0]
"""


def test_cancel_kills_the_local_processes_and_records_cancelled(jobs, registry, data_root,
                                                                tmp_path):
    marks = tmp_path / "marks.txt"
    model = registry.register_model("sleepy", "classification")
    snapshot = registry.create_snapshot(
        model.id, write_model(tmp_path / "m", SLEEPY.format(marks=str(marks))))
    for i in range(3):
        sample_frame(5, seed=i, with_label=False).to_csv(data_root / f"in-{i}.csv", index=False)
    finished: list = []
    worker = threading.Thread(target=lambda: finished.append(jobs.score(
        snapshot.id, str(data_root), str(data_root / "out"), ScoringOptions(parallelism=2))))
    worker.start()
    deadline = time.monotonic() + 30
    while not marks.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    [running] = jobs.list(state="running")
    assert jobs.cancel(running.id).state == "cancelling"
    worker.join(timeout=20)
    assert not worker.is_alive()
    [job] = finished
    assert (job.state, job.reason) == ("cancelled", "cancelled on request")
    assert job.finished_at is not None and not (data_root / "out" / "in-0.csv").exists()
    with pytest.raises(ConflictError, match="already cancelled"):
        jobs.cancel(job.id)


def test_cancel_over_rest_answers_202_then_409_and_404(wired_client, tmp_path):
    registry = services(wired_client).registry
    store = services(wired_client).jobs.store
    model = registry.register_model("m", "classification")
    snapshot = registry.create_snapshot(model.id, "sample:classifier")
    job = store.create("scoring", snapshot_id=snapshot.id, model_id=model.id, inputs={})
    store.start(job.id, None)
    response = wired_client.post(f"/api/jobs/{job.id}/cancel")
    assert response.status_code == 202 and response.json["state"] == "cancelling"
    assert store.cancel_requested(job.id)
    store.finish(job.id, succeeded=False, cancelled=True, reason="cancelled on request")
    again = wired_client.post(f"/api/jobs/{job.id}/cancel")
    assert again.status_code == 409 and "already cancelled" in again.json["message"]
    assert wired_client.post("/api/jobs/nope/cancel").status_code == 404
    assert wired_client.get("/api/jobs?state=cancelled").json[0]["id"] == job.id


def test_a_cancel_before_the_job_starts_records_it_cancelled(jobs, sample, data_root):
    _, snapshot, paths = sample
    store = jobs.store
    original = store.create

    def create_then_cancel(*args, **kwargs):
        job = original(*args, **kwargs)
        store.request_cancel(job.id)
        return job

    store.create = create_then_cancel
    job = jobs.run_metrics(snapshot.id)
    assert (job.state, job.reason) == ("cancelled", "cancelled on request")


def test_a_job_whose_node_died_is_cancelled_at_once(jobs, sample):
    _, snapshot, _ = sample
    store = jobs.store
    job = store.create("scoring", snapshot_id=snapshot.id, model_id=snapshot.model_id,
                       inputs={})
    store.start(job.id, "the-execution-key")
    with store.db.write_session() as s:  # its node was killed: the lease is no longer renewed
        s.get(tables.JobRow, job.id).lease_expires_at = utcnow() - timedelta(seconds=1)

    cancelled = store.request_cancel(job.id)

    assert cancelled.state == "cancelled" and cancelled.finished_at is not None
    assert "stopped renewing its lease" in cancelled.reason
    assert store.start(store.create("scoring", snapshot_id=snapshot.id,
                                    model_id=snapshot.model_id, inputs={}).id,
                       "the-execution-key").state == "running"  # the key was released
