"""The sample model batch-scored (and back-tested) on a ``dask`` runtime through the shipped
processes of a real ``mlc serve``, with a Dask scheduler and two worker processes started by
Dask's own CLI as docs/deploy.md starts them (``dask scheduler`` / ``dask worker --preload
connectors.jobs.dask_tasks``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pandas as pd
import pytest

from mlc.demo import BACK_TEST_JIRA, BATCH_JOB
from tests.acceptance.test_back_test_and_batch import deployed_model, started

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dask")]


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """A Dask scheduler and two worker processes as separate OS processes; yields the
    scheduler's address."""
    folder = tmp_path_factory.mktemp("dask")
    address_file = folder / "scheduler.json"
    log = open(folder / "dask.log", "ab")
    dask = [sys.executable, "-m", "dask"]
    started_processes = [subprocess.Popen(
        dask + ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                "--scheduler-file", str(address_file)],
        stdout=log, stderr=log, start_new_session=True)]
    try:
        deadline = time.monotonic() + 60
        while not address_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        started_processes.append(subprocess.Popen(
            dask + ["worker", "--scheduler-file", str(address_file), "--host", "127.0.0.1",
                    "--nworkers", "2", "--nthreads", "1", "--no-dashboard",
                    "--preload", "connectors.jobs.dask_tasks"],
            stdout=log, stderr=log, start_new_session=True))
        from distributed import Client

        address = json.loads(address_file.read_text())["address"]
        with Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=90)
        yield address
    finally:
        for process in reversed(started_processes):
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def scheduler_ran(address: str, prefix: str) -> bool:
    """Whether the scheduler has run tasks whose keys start with ``prefix``."""
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        names = client.run_on_scheduler(
            lambda dask_scheduler: [str(k) for k in dask_scheduler.task_prefixes])
    return any(name.startswith(prefix) for name in names)


def test_sample_model_batch_scored_on_a_dask_runtime(world, scheduler):
    client = world.client
    tag = f"dask-{uuid.uuid4().hex[:6]}"
    runtime = client.create_runtime(f"rt-{tag}", "DEV", service_tags=[tag], engine="dask",
                                    scheduler=scheduler)
    _, snapshot = deployed_model(world, tag, new_runtime=False)
    [deployment] = client.deployed_models(snapshot_id=snapshot["id"])
    assert deployment["runtime_id"] == runtime["id"] and deployment["mode"] == "batch"

    out = world.data_root / "scored" / tag
    done = started(world, BATCH_JOB, {"TAG": tag, "INPUT_FILE": world.files["test"],
                                      "OUTPUT_FILE": str(out), "OUTPUT_FORMAT": "parquet",
                                      "PARALLELISM": 2, "FILE_TIMEOUT": 120})
    assert done["variables"]["OUTCOME"] == "scored", done["variables"]
    assert done["variables"]["RUNTIME_ID"] == runtime["id"]
    assert done["variables"]["SCORED_ROWS"] == 200
    [job] = client.jobs(snapshot_id=snapshot["id"], type="scoring")
    assert job["state"] == "succeeded"
    assert job["inputs"]["runtime"]["engine"] == "dask"
    assert job["inputs"]["runtime"]["scheduler"] == scheduler
    scored = pd.read_parquet(out / "test.parquet")
    assert len(scored) == 200 and {"prediction", "score"} <= set(scored.columns)
    assert scheduler_ran(scheduler, "mlc-scoring")


def test_back_test_metrics_on_a_dask_runtime(world, scheduler):
    tag = f"dask-bt-{uuid.uuid4().hex[:6]}"
    runtime = world.client.create_runtime(f"rt-{tag}", "DEV", service_tags=[tag],
                                          engine="dask", scheduler=scheduler)
    model, _ = deployed_model(world, tag, new_runtime=False)
    done = started(world, BACK_TEST_JIRA, {"MODEL_ID": model["id"],
                                           "RUNTIME_ID": runtime["id"]})
    assert done["variables"]["OUTCOME"] == "passed", done["variables"]
    job = next(j for j in world.client.jobs(type="metrics")
               if j["id"] == done["variables"]["JOB_ID"])
    assert job["inputs"]["runtime"]["engine"] == "dask"
    assert done["variables"]["TEST_RESULTS"]["roc_auc"] > 0.8
