"""Batch scoring against S3 (moto's server on 127.0.0.1) and the redundant-execution guard."""

from __future__ import annotations

import io
import threading
import time

import boto3
import pandas as pd
import pytest
from moto.server import ThreadedMotoServer

from connectors.jobs import DataStore, JobService, ScoringOptions
from connectors.registry import JobStore, RedundantExecutionError
from connectors.samples import sample_frame
from tests.support.jobs import (  # noqa: F401 - fixtures
    data_root,
    jobs,
    model_pool,
    registry,
    sample,
    signals,
    write_model,
)


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    bucket = f"b-{time.monotonic_ns()}"
    client.create_bucket(Bucket=bucket)
    return client, bucket


@pytest.fixture
def s3_jobs(database, registry, data_root, model_pool, s3_endpoint, s3):
    return JobService(registry, JobStore(database),
                      DataStore([str(data_root)], s3_endpoint_url=s3_endpoint), pool=model_pool)


def test_scoring_from_and_to_s3_prefixes(s3_jobs, sample, s3):
    client, bucket = s3
    _, snapshot, _ = sample
    for i in range(3):
        buf = io.BytesIO()
        sample_frame(30, seed=i, with_label=False).to_parquet(buf)
        client.put_object(Bucket=bucket, Key=f"in/part-{i}.parquet", Body=buf.getvalue())
    client.put_object(Bucket=bucket, Key="in/_SUCCESS", Body=b"")
    client.put_object(Bucket=bucket, Key="in/nested/skip.parquet", Body=b"x")
    job = s3_jobs.score(snapshot.id, f"s3://{bucket}/in/", f"s3://{bucket}/out",
                        ScoringOptions(parallelism=2))
    assert job.state == "succeeded", job.reason
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="out/")
                  ["Contents"])
    assert keys == [f"out/part-{i}.parquet" for i in range(3)]
    body = client.get_object(Bucket=bucket, Key="out/part-1.parquet")["Body"].read()
    assert len(pd.read_parquet(io.BytesIO(body))) == 30
    assert job.outputs["destination"] == f"s3://{bucket}/out"


def test_s3_existing_output_is_refused_then_overwritten(s3_jobs, sample, s3):
    client, bucket = s3
    _, snapshot, paths = sample
    client.put_object(Bucket=bucket, Key="res/test.csv", Body=b"old")
    refused = s3_jobs.score(snapshot.id, str(paths["test"]), f"s3://{bucket}/res")
    assert refused.state == "failed" and "already exists" in refused.reason
    done = s3_jobs.score(snapshot.id, str(paths["test"]), f"s3://{bucket}/res",
                         ScoringOptions(overwrite=True))
    assert done.state == "succeeded", done.reason
    body = client.get_object(Bucket=bucket, Key="res/test.csv")["Body"].read()
    assert len(pd.read_csv(io.BytesIO(body))) == 200


def test_s3_source_without_data_fails_with_reason(s3_jobs, sample, s3):
    _, bucket = s3
    _, snapshot, _ = sample
    job = s3_jobs.score(snapshot.id, f"s3://{bucket}/nothing/", f"s3://{bucket}/out")
    assert job.state == "failed" and "names no data files" in job.reason


def test_concurrent_identical_executions_are_refused(jobs, registry, data_root, tmp_path):
    gate = tmp_path / "gate"
    started = tmp_path / "started"
    model = registry.register_model("gated", "classification")
    source = write_model(tmp_path / "gated", f"""
        import os, time
        import pandas as pd
        def predict(df):
            open({str(started)!r}, "w").close()
            while not os.path.exists({str(gate)!r}):
                time.sleep(0.02)
            return pd.Series([1] * len(df))
    """)
    snapshot = registry.create_snapshot(model.id, source)
    sample_frame(5, with_label=False).to_csv(data_root / "in.csv", index=False)
    results = {}
    first = threading.Thread(target=lambda: results.setdefault("first", jobs.score(
        snapshot.id, str(data_root / "in.csv"), str(data_root / "out"),
        ScoringOptions(file_timeout=120))))
    first.start()
    try:
        deadline = time.monotonic() + 120
        while not started.exists():  # the first execution is running its model
            assert first.is_alive() and time.monotonic() < deadline, results
            time.sleep(0.02)
        second = jobs.score(snapshot.id, f"file://{data_root / 'in.csv'}",
                            str(data_root / "." / "out"))
        different = jobs.score(snapshot.id, str(data_root / "in.csv"), str(data_root / "o2"),
                               ScoringOptions(file_timeout=120, job_timeout=0.01))
    finally:
        gate.touch()
        first.join()
    assert second.state == "failed"
    assert second.reason.startswith("redundant execution: job " + results["first"].id)
    assert "redundant" not in (different.reason or "")
    assert results["first"].state == "succeeded", results["first"].reason
    after = jobs.score(snapshot.id, str(data_root / "in.csv"), str(data_root / "out"),
                       ScoringOptions(overwrite=True))
    assert after.state == "succeeded", after.reason


def test_a_holder_whose_lease_lapsed_is_taken_over(database, registry, sample):
    _, snapshot, _ = sample
    store = JobStore(database, lease_seconds=-1)  # every lease is already expired
    dead = store.create("scoring", snapshot_id=snapshot.id, model_id=None, inputs={})
    store.start(dead.id, "k" * 64)
    live = store.create("scoring", snapshot_id=snapshot.id, model_id=None, inputs={})
    assert store.start(live.id, "k" * 64).state == "running"
    assert store.get(dead.id).reason == "abandoned: lease expired"
    healthy = JobStore(database)
    third = healthy.create("scoring", snapshot_id=snapshot.id, model_id=None, inputs={})
    store.renew_lease(live.id)
    healthy.renew_lease(live.id)
    with pytest.raises(RedundantExecutionError):
        healthy.start(third.id, "k" * 64)
