"""Batch scoring throughput through ``job.scoring``'s service against calling ``predict``
directly on the same files in the same run.

20 Parquet files x 100k rows of the sample classifier's features are generated into a temp
folder. The baseline imports the sample ``model.py`` in this process and, per file, reads,
predicts and writes exactly as a scoring process does. The service runs are measured with a
warm process pool (as in a long-running worker, where spares are started ahead of jobs) at
parallelism 1 and 2, and once cold (a fresh interpreter per job, as the CLI does).
Targets: overhead < 10% at parallelism 1, speed-up >= 1.6x at parallelism 2.

The same files are then scored on a ``dask`` runtime: a Dask scheduler and 1, then 2,
single-threaded worker processes started by Dask's CLI on this machine (preloading
``connectors.jobs.dask_tasks``, so each worker keeps a warm interpreter, as the local pool's
spares are warm), at parallelism equal to the workers, compared with the local pool at the
same parallelism. On one machine the
cluster can only add overhead (scheduler, client, results over TCP); what it buys is more
machines, which a single-host benchmark cannot show.

The machine is shared, so every warm figure is the best of ROUNDS rounds that alternate between
all the runs (a burst of someone else's load then hits every run alike, not one).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FILES, ROWS = 20, 100_000
ROUNDS = 5
ROOT = Path(__file__).resolve().parent.parent


def _direct(inputs: list[Path], out_dir: Path) -> float:
    from connectors.jobs.formats import read_frame, write_frame
    from connectors.jobs.model_side.mlc_frames import as_frame
    from connectors.samples import CLASSIFIER_DIR

    spec = importlib.util.spec_from_file_location("bench_model", CLASSIFIER_DIR / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    module.init(None)
    for path in inputs:
        frame = read_frame(path, "parquet")
        write_frame(as_frame(module.predict(frame), len(frame)), out_dir / path.name,
                    "parquet")
    return time.perf_counter() - start


def _timed_score(service, snapshot_id: str, data: Path, destination: Path, parallelism: int,
                 runtime: str | None = None) -> float:
    from connectors.jobs import ScoringOptions

    start = time.perf_counter()
    job = service.score(snapshot_id, str(data), str(destination),
                        ScoringOptions(parallelism=parallelism), runtime=runtime)
    elapsed = time.perf_counter() - start
    if not job.succeeded:
        raise RuntimeError(f"scoring into {destination.name} failed: {job.reason}")
    return elapsed


def _service_run(db, registry, snapshot_id: str, root: Path, data: Path, name: str,
                 parallelism: int, warm: bool) -> float:
    from connectors.jobs import DataStore, JobService, ProcessPool
    from connectors.registry import JobStore

    pool = ProcessPool(spares=parallelism if warm else 0)
    pool.wait_ready(120)
    service = JobService(registry, JobStore(db), DataStore([str(root)]), pool=pool)
    try:
        return _timed_score(service, snapshot_id, data, root / name, parallelism)
    finally:
        pool.close()


def _wait_warm() -> None:
    """Run on each Dask worker: block until its warm model interpreter has started."""
    from connectors.jobs.dask_tasks import MODELS

    MODELS.pool.wait_ready(120)


class _Cluster:
    """A Dask scheduler and ``workers`` single-threaded worker processes started by Dask's
    CLI, as on real hosts, so that no scheduler shares this process with the baseline."""

    def __init__(self, workers: int, folder: Path) -> None:
        folder.mkdir()
        address_file = folder / "scheduler.json"
        self.log = open(folder / "dask.log", "ab")
        dask = [sys.executable, "-m", "dask"]
        self.processes = [subprocess.Popen(
            dask + ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                    "--scheduler-file", str(address_file)],
            cwd=ROOT, stdout=self.log, stderr=self.log, start_new_session=True)]
        deadline = time.monotonic() + 120
        while not address_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.processes.append(subprocess.Popen(
            dask + ["worker", "--scheduler-file", str(address_file), "--host", "127.0.0.1",
                    "--nworkers", str(workers), "--nthreads", "1", "--no-dashboard",
                    "--preload", "connectors.jobs.dask_tasks"],
            cwd=ROOT, stdout=self.log, stderr=self.log, start_new_session=True))
        self.workers = workers
        self.address = json.loads(address_file.read_text())["address"]

    def wait_warm(self) -> None:
        """Every worker is up and its warm interpreter has started (the previous job's
        processes are replaced by fresh spares after each job)."""
        from distributed import Client

        with Client(self.address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(self.workers, timeout=120)
            client.run(_wait_warm)

    def close(self) -> None:
        for process in reversed(self.processes):
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.log.close()


def _dask_run(db, registry, snapshot_id: str, root: Path, data: Path, runtime,
              cluster: _Cluster, name: str) -> float:
    from connectors.jobs import DataStore, JobService
    from connectors.registry import JobStore

    cluster.wait_warm()
    service = JobService(registry, JobStore(db), DataStore([str(root)]))
    return _timed_score(service, snapshot_id, data, root / name, cluster.workers,
                        runtime=runtime.id)


def run() -> str:
    import connectors.registry  # noqa: F401 - tables
    from connectors.registry import SqlModelRegistry
    from connectors.samples import CLASSIFIER_SOURCE, sample_frame
    from engine.db import Database

    with tempfile.TemporaryDirectory(prefix="mlc-bench-scoring-") as tmp:
        root = Path(tmp)
        data = root / "in"
        data.mkdir()
        inputs = []
        for i in range(FILES):
            path = data / f"part-{i:02d}.parquet"
            sample_frame(ROWS, seed=i, with_label=False).to_parquet(path)
            inputs.append(path)
        db = Database(f"sqlite:///{root / 'bench.db'}")
        db.create_all()
        registry = SqlModelRegistry(db)
        model = registry.register_model("bench", "classification")
        snapshot = registry.create_snapshot(model.id, CLASSIFIER_SOURCE)
        rows = FILES * ROWS
        _direct(inputs, root / "warmup")  # page cache and imports, not measured
        clusters = {n: _Cluster(n, root / f"cluster-{n}") for n in (1, 2)}
        runtimes = {n: registry.add_runtime(f"dask-{n}", "DEV", engine="dask",
                                            scheduler=cluster.address)
                    for n, cluster in clusters.items()}
        times: dict[str, list[float]] = {"direct": [], "p1": [], "p2": [], "dask1": [],
                                         "dask2": []}
        try:
            for r in range(ROUNDS):
                times["direct"].append(_direct(inputs, root / f"direct-{r}"))
                for p in (1, 2):
                    times[f"p{p}"].append(_service_run(db, registry, snapshot.id, root, data,
                                                       f"p{p}-{r}", p, warm=True))
                for n, cluster in clusters.items():
                    times[f"dask{n}"].append(_dask_run(db, registry, snapshot.id, root, data,
                                                       runtimes[n], cluster, f"dask{n}-{r}"))
                for name in times:
                    shutil.rmtree(root / f"{name}-{r}", ignore_errors=True)
        finally:
            for cluster in clusters.values():
                cluster.close()
        direct, p1, p2, dask1, dask2 = (min(times[k]) for k in ("direct", "p1", "p2",
                                                                 "dask1", "dask2"))
        cold = _service_run(db, registry, snapshot.id, root, data, "cold", 1, warm=False)
        db.dispose()
    overhead = (p1 / direct - 1) * 100
    speedup = p1 / p2
    cold_overhead = (cold / direct - 1) * 100
    lines = [
        f"direct predict:           {direct:6.2f}s  {rows / direct:12,.0f} rows/s",
        f"job.scoring p=1 (warm):   {p1:6.2f}s  {rows / p1:12,.0f} rows/s  "
        f"overhead {overhead:+.1f}% (target < 10%)",
        f"job.scoring p=2 (warm):   {p2:6.2f}s  {rows / p2:12,.0f} rows/s  "
        f"speed-up {speedup:.2f}x over p=1 (target >= 1.6x)",
        f"job.scoring p=1 (cold):   {cold:6.2f}s  {rows / cold:12,.0f} rows/s  "
        f"overhead {cold_overhead:+.1f}% (fresh interpreter per job)",
        f"dask runtime, 1 worker:   {dask1:6.2f}s  {rows / dask1:12,.0f} rows/s  "
        f"{p1 / dask1:.2f}x the local pool at p=1",
        f"dask runtime, 2 workers:  {dask2:6.2f}s  {rows / dask2:12,.0f} rows/s  "
        f"{p2 / dask2:.2f}x the local pool at p=2, {dask1 / dask2:.2f}x over 1 worker",
    ]
    for line in lines:
        print(line, flush=True)
    return (
        "## Batch scoring (`bench_scoring`)\n\n"
        f"{FILES} Parquet files x {ROWS:,} rows, sample logistic-regression classifier, "
        f"{os.cpu_count()} cores. Baseline: the same `predict` called directly in-process "
        f"(read, predict, write per file). Warm figures: best of {ROUNDS} alternating rounds; "
        "cold: one run.\n\n"
        "| run | seconds | rows/s | vs baseline |\n|---|---:|---:|---|\n"
        f"| direct `predict` | {direct:.2f} | {rows / direct:,.0f} | baseline |\n"
        f"| `job.scoring` parallelism 1, warm pool | {p1:.2f} | {rows / p1:,.0f} | "
        f"overhead {overhead:+.1f}% (target < 10%) |\n"
        f"| `job.scoring` parallelism 2, warm pool | {p2:.2f} | {rows / p2:,.0f} | "
        f"{speedup:.2f}x over parallelism 1 (target >= 1.6x) |\n"
        f"| `job.scoring` parallelism 1, cold start | {cold:.2f} | {rows / cold:,.0f} | "
        f"overhead {cold_overhead:+.1f}% |\n"
        f"| `job.scoring` on a dask runtime, 1 worker process | {dask1:.2f} | "
        f"{rows / dask1:,.0f} | {p1 / dask1:.2f}x the local pool at parallelism 1 |\n"
        f"| `job.scoring` on a dask runtime, 2 worker processes | {dask2:.2f} | "
        f"{rows / dask2:,.0f} | {p2 / dask2:.2f}x the local pool at parallelism 2; "
        f"{dask1 / dask2:.2f}x over 1 worker |\n\n"
        "The Dask rows use `dask scheduler` and `dask worker --nthreads 1 --preload "
        "connectors.jobs.dask_tasks` processes on this machine (warm like the pool), "
        "parallelism = workers, and include connecting the client; on one host a cluster "
        "adds only overhead, its use is more hosts.\n"
    )


if __name__ == "__main__":
    print(run())
