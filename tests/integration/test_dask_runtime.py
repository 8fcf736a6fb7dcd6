"""Scoring and metrics jobs on a ``dask`` runtime: a real ``distributed.LocalCluster`` with two
worker *processes* (preloading ``connectors.jobs.dask_tasks`` as docs/deploy.md says), against
the local process pool on the same files.

One cluster serves the module (starting one costs seconds), so the tests share an xdist group;
each test waits until both workers are back (the killed-worker test restarts one).
"""

from __future__ import annotations

import logging
import os
import threading
import time

import pandas as pd
import pytest

import connectors.registry  # noqa: F401 - tables
from connectors.jobs import DataStore, JobService, ScoringOptions
from connectors.registry import JobStore, SqlModelRegistry
from connectors.samples import CLASSIFIER_SOURCE, copy_sample_data, sample_frame
from tests.support.jobs import RecordingSignals, model_pool, write_model  # noqa: F401 - fixtures

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dask")]

S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                  "AWS_DEFAULT_REGION": "us-east-1"}

# Sleeps for the seconds in its ``sleep`` column, notes each file's ``id`` in MARKS, and
# returns ``id`` * 2, so every output can be checked against its input.
SLEEPY_MODEL = """
    import time
    import pandas as pd

    def predict(df):
        with open({marks!r}, "a") as fh:
            fh.write(f"{{df['id'].iloc[0]}}\\n")
        print(f"scoring file {{df['id'].iloc[0]}}", flush=True)
        time.sleep(float(df["sleep"].iloc[0]))
        return pd.DataFrame({{"prediction": df["id"] * 2}})
"""


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=":0", silence_logs=logging.CRITICAL,
                         preload=["connectors.jobs.dask_tasks"],  # warm model interpreters
                         env=S3_CREDENTIALS)  # workers hold their own S3 credentials
    client = Client(local, set_as_default=False)
    yield local, client
    client.close()
    local.close()


@pytest.fixture
def client(cluster):
    _, client = cluster
    client.wait_for_workers(2, timeout=60)
    return client


@pytest.fixture
def setup(sqlite_database, tmp_path, cluster, model_pool):
    """A registry with a dask runtime on the cluster, and a job service on this machine."""
    local, _ = cluster
    root = tmp_path / "data"
    root.mkdir()
    registry = SqlModelRegistry(sqlite_database, RecordingSignals())
    runtime = registry.add_runtime("dask-dev", "DEV", service_tags=["churn-svc"],
                                   engine="dask", scheduler=local.scheduler_address)
    jobs = JobService(registry, JobStore(sqlite_database), DataStore([str(root)]),
                      pool=model_pool)
    return registry, jobs, runtime, root


def sleepy_snapshot(registry, tmp_path, root):
    marks = root / "marks.txt"
    source = write_model(tmp_path / "sleepy", SLEEPY_MODEL.format(marks=str(marks)))
    model = registry.register_model(f"sleepy-{os.urandom(3).hex()}", "regression")
    return registry.create_snapshot(model.id, source), marks


def sleepy_files(folder, sleeps: dict[str, float]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index, (name, seconds) in enumerate(sleeps.items()):
        pd.DataFrame({"id": [index * 100 + r for r in range(50)],
                      "sleep": [seconds] * 50}).to_csv(folder / name, index=False)


def busy_runners(client) -> int:
    """Model processes (``connectors.jobs.runner``) under the Dask workers other than their
    warm spares: those a job holds, or that were left running."""
    def count() -> int:
        import psutil

        from connectors.jobs.dask_tasks import MODELS

        spares, alive = MODELS.pool.spare_pids, 0
        for child in psutil.Process().children(recursive=True):
            try:  # a process killed a moment ago may be a zombie until it is reaped
                running = "connectors.jobs.runner" in " ".join(child.cmdline())
            except psutil.Error:
                continue
            alive += running and child.pid not in spares
        return alive

    return sum(client.run(count).values())


def warm(client) -> None:
    """Wait until every worker's warm interpreter has started (the previous test's job may
    have just released its processes, and their replacements take seconds to start)."""
    def ready() -> None:
        from connectors.jobs.dask_tasks import MODELS

        MODELS.pool.wait_ready(120)

    client.run(ready)


def wait_until(predicate, timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_scoring_on_dask_writes_what_the_local_pool_writes(setup, client):
    registry, jobs, runtime, root = setup
    model = registry.register_model("churn", "classification")
    snapshot = registry.create_snapshot(model.id, CLASSIFIER_SOURCE)
    inputs = root / "in"
    inputs.mkdir()
    for i in range(4):
        sample_frame(2_000, seed=i, with_label=False).to_parquet(inputs / f"part-{i}.parquet")
    options = ScoringOptions(parallelism=2, output_format="feather")
    seen: list[tuple[int, int, int]] = []

    on_dask = jobs.score(snapshot.id, str(inputs), str(root / "dask"), options,
                         runtime="dask-dev", progress=lambda *p: seen.append(p))
    local = jobs.score(snapshot.id, str(inputs), str(root / "local"), options)

    assert on_dask.state == "succeeded", on_dask.reason
    assert local.state == "succeeded", local.reason
    assert on_dask.inputs["runtime"] == {"id": runtime.id, "name": "dask-dev", "engine": "dask",
                                         "scheduler": runtime.scheduler}
    assert seen[0] == (0, 4, 0) and seen[-1] == (4, 4, 8_000)
    assert [s[0] for s in seen] == [0, 1, 2, 3, 4]
    assert on_dask.outputs["files_done"] == 4 and on_dask.outputs["rows"] == 8_000
    assert [f["output"] for f in on_dask.outputs["files"]] == \
        [f["output"].replace("/local/", "/dask/") for f in local.outputs["files"]]
    for i in range(4):
        dask_out = pd.read_feather(root / "dask" / f"part-{i}.feather")
        assert dask_out.equals(pd.read_feather(root / "local" / f"part-{i}.feather"))
        assert list(dask_out.columns) == ["prediction", "score"] and len(dask_out) == 2_000
    assert wait_until(lambda: busy_runners(client) == 0, 10), "model processes left over"


def test_scoring_on_dask_reads_and_writes_s3(setup, client, monkeypatch):
    import io

    import boto3
    from moto.server import ThreadedMotoServer

    registry, local_jobs, _, root = setup
    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket="jobs")
        for i in range(3):
            body = sample_frame(500, seed=i, with_label=False).to_csv(index=False).encode()
            s3.put_object(Bucket="jobs", Key=f"in/part-{i}.csv", Body=body)
        model = registry.register_model("churn", "classification")
        snapshot = registry.create_snapshot(model.id, CLASSIFIER_SOURCE)
        jobs = JobService(registry, local_jobs.store,
                          DataStore([str(root)], s3_endpoint_url=endpoint))
        options = ScoringOptions(parallelism=2, output_format="parquet")
        on_dask = jobs.score(snapshot.id, "s3://jobs/in/", "s3://jobs/dask", options,
                             runtime="dask-dev")
        local = jobs.score(snapshot.id, "s3://jobs/in/", "s3://jobs/local", options)
        assert on_dask.state == "succeeded", on_dask.reason
        assert local.state == "succeeded", local.reason
        for i in range(3):
            frames = [pd.read_parquet(io.BytesIO(s3.get_object(
                Bucket="jobs", Key=f"{where}/part-{i}.parquet")["Body"].read()))
                for where in ("dask", "local")]
            assert len(frames[0]) == 500 and frames[0].equals(frames[1])
        jobs.close()
    finally:
        server.stop()


def test_metrics_on_dask_equal_the_local_pool_and_name_a_missing_label(setup, client, tmp_path):
    registry, jobs, _, root = setup
    paths = copy_sample_data(root / "sample")
    model = registry.register_model("churn", "classification")
    snapshot = registry.create_snapshot(model.id, CLASSIFIER_SOURCE, assets=[
        {"role": "TEST_DATA", "uri": str(paths["test"]), "format": "csv"}])

    on_dask = jobs.run_metrics(snapshot.id, runtime="dask-dev")
    local = jobs.run_metrics(snapshot.id)

    assert on_dask.state == "succeeded", on_dask.reason
    assert on_dask.metrics == local.metrics and on_dask.metrics["roc_auc"] > 0.8
    assert on_dask.outputs == local.outputs
    assert registry.get_snapshot(snapshot.id).test_results["job_id"] == local.id

    sample_frame(20, with_label=False).to_csv(root / "nolabel.csv", index=False)
    unlabelled = jobs.run_metrics(snapshot.id, input_uri=str(root / "nolabel.csv"),
                                  runtime="dask-dev")
    assert unlabelled.state == "failed"
    assert unlabelled.reason == f"test data {root / 'nolabel.csv'} has no label column 'label'"


def test_a_file_past_its_timeout_is_killed_on_the_worker_and_fails_the_job(setup, client,
                                                                          tmp_path):
    registry, jobs, _, root = setup
    snapshot, _ = sleepy_snapshot(registry, tmp_path, root)
    sleepy_files(root / "in", {"fast.csv": 0, "slow.csv": 60})
    warm(client)  # so that fast.csv is done long before slow.csv's 3 seconds are up
    started = time.monotonic()
    job = jobs.score(snapshot.id, str(root / "in"), str(root / "out"),
                     ScoringOptions(parallelism=2, file_timeout=3), runtime="dask-dev")
    assert time.monotonic() - started < 45
    assert job.state == "failed", job.reason
    assert job.reason == "file slow.csv exceeded file_timeout of 3s", job.reason
    assert "scoring file 100" in job.log_tail  # what the model printed on the worker
    assert (root / "out" / "fast.csv").exists() and not (root / "out" / "slow.csv").exists(), job.log_tail
    assert job.outputs["files_done"] == 1
    assert wait_until(lambda: busy_runners(client) == 0), "the slow model still runs"


def test_the_job_timeout_cancels_the_dask_tasks(setup, client, tmp_path):
    registry, jobs, _, root = setup
    snapshot, _ = sleepy_snapshot(registry, tmp_path, root)
    sleepy_files(root / "in", {f"slow-{i}.csv": 60 for i in range(3)})
    started = time.monotonic()
    job = jobs.score(snapshot.id, str(root / "in"), str(root / "out"),
                     ScoringOptions(parallelism=3, job_timeout=4), runtime="dask-dev")
    assert time.monotonic() - started < 45
    assert job.state == "failed", job.reason
    assert job.reason.startswith("the job exceeded its job_timeout of 4s (while scoring slow-"), \
        job.reason
    assert wait_until(lambda: busy_runners(client) == 0), "the models still run"


def test_cancel_stops_the_dask_tasks_and_records_cancelled(setup, client, tmp_path):
    registry, jobs, _, root = setup
    snapshot, marks = sleepy_snapshot(registry, tmp_path, root)
    sleepy_files(root / "in", {f"slow-{i}.csv": 60 for i in range(4)})
    finished: list = []
    worker = threading.Thread(target=lambda: finished.append(jobs.score(
        snapshot.id, str(root / "in"), str(root / "out"), ScoringOptions(parallelism=2),
        runtime="dask-dev")))
    worker.start()
    assert wait_until(lambda: marks.exists() and len(marks.read_text().split()) == 2, 60)
    [running] = jobs.list(state="running")
    assert jobs.cancel(running.id).state == "cancelling"
    worker.join(timeout=30)
    assert not worker.is_alive(), "the job did not stop"
    [job] = finished
    assert job.id == running.id and job.state == "cancelled"
    assert job.reason == "cancelled on request"
    assert wait_until(lambda: busy_runners(client) == 0), "the models still run"
    assert len(marks.read_text().split()) == 2  # the queued files never started


def test_an_unreachable_scheduler_fails_the_job_with_its_address(sqlite_database, tmp_path,
                                                                 monkeypatch):
    import socket

    from connectors.jobs import _dask_executor

    monkeypatch.setattr(_dask_executor, "CONNECT_SECONDS", 1.0)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = tmp_path / "data"
    root.mkdir()
    registry = SqlModelRegistry(sqlite_database, RecordingSignals())
    registry.add_runtime("gone", "DEV", engine="dask", scheduler=f"tcp://127.0.0.1:{port}")
    model = registry.register_model("churn", "classification")
    snapshot = registry.create_snapshot(model.id, CLASSIFIER_SOURCE)
    sample_frame(10, with_label=False).to_csv(root / "in.csv", index=False)
    jobs = JobService(registry, JobStore(sqlite_database), DataStore([str(root)]))
    job = jobs.score(snapshot.id, str(root / "in.csv"), str(root / "out"), runtime="gone")
    assert job.state == "failed"
    assert job.reason.startswith(f"cannot reach the Dask scheduler tcp://127.0.0.1:{port}")


# Like SLEEPY_MODEL, but the first attempt at the file with id 100 kills the Dask worker
# process running it (the model process's parent) mid-file, after noting its pid in VICTIM.
WORKER_KILLING_MODEL = """
    import os
    import signal
    import time
    import pandas as pd

    def predict(df):
        first = int(df["id"].iloc[0])
        with open({marks!r}, "a") as fh:
            fh.write(f"{{first}}\\n")
        if first == 100 and not os.path.exists({victim!r}):
            with open({victim!r}, "w") as fh:
                fh.write(str(os.getppid()))
            os.kill(os.getppid(), signal.SIGKILL)
            os._exit(1)
        time.sleep(float(df["sleep"].iloc[0]))
        return pd.DataFrame({{"prediction": df["id"] * 2}})
"""


def test_a_killed_dask_worker_has_its_files_run_again(setup, client, tmp_path):
    """Last in the module: the cluster has one worker fewer until its nanny restarts it."""
    registry, jobs, _, root = setup
    marks, victim = root / "marks.txt", root / "victim.txt"
    source = write_model(tmp_path / "killer",
                         WORKER_KILLING_MODEL.format(marks=str(marks), victim=str(victim)))
    snapshot = registry.create_snapshot(registry.register_model("killer", "regression").id,
                                        source)
    sleepy_files(root / "in", {f"part-{i}.csv": 1 for i in range(6)})
    workers_before = set(client.run(os.getpid).values())

    job = jobs.score(snapshot.id, str(root / "in"), str(root / "out"),
                     ScoringOptions(parallelism=2), runtime="dask-dev")

    assert int(victim.read_text()) in workers_before, "the model did not kill a Dask worker"
    assert job.state == "succeeded", job.reason
    assert job.outputs["files_done"] == 6 and job.outputs["rows"] == 300
    for i in range(6):
        scored = pd.read_csv(root / "out" / f"part-{i}.csv")
        assert scored["prediction"].tolist() == [2 * (i * 100 + r) for r in range(50)]
    started = marks.read_text().split()
    assert started.count("100") == 2, "the killed worker's file was not run again"
    assert sorted(set(started)) == sorted(str(i * 100) for i in range(6))
