"""What a model's own environment costs: building it, reusing it, starting a job in it and
answering an online prediction from it, each against the shared environment in the same run.

One small model (pandas only) is measured twice: in a folder without ``requirements.model``
(the engine's environment, the baseline) and in a folder pinning ``tabulate==0.8.10`` (its
own environment). The environment cache starts empty, so the first build is cold for the
cache; the installers' download caches (uv's, pip's) are as the machine has them, as on a
worker that has built environments before.
"""

from __future__ import annotations

import itertools
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

JOB_ROWS, JOB_RUNS, PREDICT_RUNS = 1_000, 5, 200

MODEL = '''
import pandas as pd


def predict(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"prediction": (df["f0"] > 0).astype("int64")})
'''


def _folders(root: Path) -> tuple[Path, Path]:
    shared, isolated = root / "models" / "shared", root / "models" / "isolated"
    for folder in (shared, isolated):
        folder.mkdir(parents=True)
        (folder / "model.py").write_text(MODEL)
    (isolated / "requirements.model").write_text("tabulate==0.8.10\n")
    return shared, isolated


def _median(fn: Callable[[], object], runs: int,
            between: Callable[[], object] = lambda: None) -> float:
    """Median seconds of ``fn``; ``between`` runs after each call, untimed."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        between()
    return statistics.median(times)


def _builds(root: Path, isolated: Path) -> dict[str, float]:
    from connectors.packages import ModelEnvironments

    out = {}
    for installer in ("pip", "uv"):  # uv last: its environment is the one the jobs reuse
        environments = ModelEnvironments(root / f"envs-{installer}", installer=installer)
        start = time.perf_counter()
        built = environments.for_model(isolated)
        out[f"cold_{installer}"] = time.perf_counter() - start
        if built.cached or built.installer != installer:
            raise RuntimeError(f"expected a cold {installer} build, got {built.describe()}")
    out["cached"] = _median(lambda: environments.for_model(isolated), 20)
    out["root"] = environments.root  # type: ignore[assignment]
    return out


def _jobs(root: Path, shared: Path, isolated: Path, environments) -> dict[str, float]:
    import connectors.registry  # noqa: F401 - tables
    from connectors.jobs import DataStore, JobService, ProcessPool
    from connectors.registry import JobStore, SqlModelRegistry
    from connectors.samples import sample_frame
    from engine.db import Database

    data = root / "data"
    data.mkdir()
    sample_frame(JOB_ROWS, seed=1, with_label=False).to_csv(data / "in.csv", index=False)
    db = Database(f"sqlite:///{root / 'bench.db'}")
    db.create_all()
    registry = SqlModelRegistry(db)
    out = {}
    for name, folder, spares in (("shared_warm", shared, 1), ("shared_cold", shared, 0),
                                 ("isolated_warm", isolated, 1), ("isolated_cold", isolated, 0)):
        snapshot = registry.create_snapshot(
            registry.register_model(name, "classification").id, str(folder))
        pool = ProcessPool(spares=spares)
        pool.wait_ready(120)
        jobs = JobService(registry, JobStore(db), DataStore([str(data)]), pool=pool,
                          environments=environments)
        counter = itertools.count()

        def score() -> None:
            job = jobs.score(snapshot.id, str(data / "in.csv"),
                             str(data / f"out-{name}-{next(counter)}.csv"))
            if not job.succeeded:
                raise RuntimeError(f"{name} scoring failed: {job.reason}")

        def refilled(python=str(environments.for_model(folder).python)
                     if folder == isolated else None, spares=spares) -> None:
            while pool.spare_count(python) < spares:
                time.sleep(0.05)
            pool.wait_ready(120)

        try:  # between jobs a worker refills its spare (untimed, as it is off the job's path)
            if spares:
                score()  # untimed: a model environment's spare exists once a job ran in it
            refilled()
            out[name] = _median(score, JOB_RUNS, refilled)
        finally:
            jobs.close()
    db.dispose()
    return out


def _predictions(root: Path, shared: Path, isolated: Path, environments) -> dict[str, float]:
    import connectors.registry  # noqa: F401 - tables
    from connectors.registry import SqlModelRegistry
    from connectors.serving import OnlinePredictor
    from engine.db import Database

    db = Database(f"sqlite:///{root / 'predict.db'}")
    db.create_all()
    registry = SqlModelRegistry(db)
    runtime = registry.add_runtime("online", "DEV", endpoints=["http://127.0.0.1:9/p"])
    predictor = OnlinePredictor(registry, environments=environments)
    out = {}
    try:
        for name, folder in (("in_process", shared), ("model_env", isolated)):
            snapshot = registry.create_snapshot(
                registry.register_model(name, "classification").id, str(folder))
            deployment = registry.deploy(snapshot.id, runtime.id)
            start = time.perf_counter()
            predictor.predict(deployment.id, [{"f0": 1.0}])
            out[f"{name}_load"] = time.perf_counter() - start
            for size in (1, 100):
                records = [{"f0": float(i % 7 - 3)} for i in range(size)]
                out[f"{name}_{size}"] = _median(
                    lambda: predictor.predict(deployment.id, records), PREDICT_RUNS)
    finally:
        predictor.close()
        db.dispose()
    return out


def run() -> str:
    from connectors.packages import ModelEnvironments

    with tempfile.TemporaryDirectory(prefix="mlc-bench-packages-") as tmp:
        root = Path(tmp)
        shared, isolated = _folders(root)
        builds = _builds(root, isolated)
        environments = ModelEnvironments(builds.pop("root"))  # type: ignore[arg-type]
        jobs = _jobs(root, shared, isolated, environments)
        predictions = _predictions(root, shared, isolated, environments)
    lines = [
        f"env build, cold, uv:        {builds['cold_uv']:7.2f} s",
        f"env build, cold, venv+pip:  {builds['cold_pip']:7.2f} s "
        f"({builds['cold_pip'] / builds['cold_uv']:.1f}x uv)",
        f"env reuse, cached:          {builds['cached'] * 1000:7.2f} ms "
        f"({builds['cold_uv'] / builds['cached']:,.0f}x faster than a cold uv build)",
        f"scoring job, shared warm:   {jobs['shared_warm'] * 1000:7.0f} ms (baseline)",
        f"scoring job, shared cold:   {jobs['shared_cold'] * 1000:7.0f} ms "
        f"({jobs['shared_cold'] / jobs['shared_warm']:.2f}x)",
        f"scoring job, own env warm:  {jobs['isolated_warm'] * 1000:7.0f} ms "
        f"({jobs['isolated_warm'] / jobs['shared_warm']:.2f}x)",
        f"scoring job, own env cold:  {jobs['isolated_cold'] * 1000:7.0f} ms "
        f"({jobs['isolated_cold'] / jobs['shared_cold']:.2f}x shared cold)",
    ]
    for size in (1, 100):
        here, there = predictions[f"in_process_{size}"], predictions[f"model_env_{size}"]
        lines.append(f"predict {size:>3} records: in-process {here * 1000:.2f} ms, model env "
                     f"{there * 1000:.2f} ms ({there / here:.2f}x)")
    for line in lines:
        print(line, flush=True)
    return (
        "## Model packages (`bench_model_packages`)\n\n"
        "One small pandas model, once without `requirements.model` (the engine's own "
        "environment: the baseline) and once pinning `tabulate==0.8.10` (its own "
        f"environment). {os.cpu_count()} cores, SQLite. The environment cache starts empty; "
        "the installers' download caches are warm, as on a worker that has built "
        "environments before.\n\n"
        "| what | time | vs baseline |\n|---|---:|---|\n"
        f"| environment build, cold cache, uv | {builds['cold_uv']:.2f} s | baseline |\n"
        f"| environment build, cold cache, venv + pip | {builds['cold_pip']:.2f} s | "
        f"{builds['cold_pip'] / builds['cold_uv']:.1f}x uv |\n"
        f"| environment reuse, cached (median of 20) | {builds['cached'] * 1000:.2f} ms | "
        f"{builds['cold_uv'] / builds['cached']:,.0f}x faster than a cold uv build |\n"
        f"| scoring job ({JOB_ROWS:,} rows), shared env, warm spare process "
        f"(median of {JOB_RUNS}) | {jobs['shared_warm'] * 1000:.0f} ms | baseline |\n"
        f"| scoring job, shared env, fresh process | {jobs['shared_cold'] * 1000:.0f} ms | "
        f"{jobs['shared_cold'] / jobs['shared_warm']:.2f}x |\n"
        f"| scoring job, own env (cached), warm spare process of that env | "
        f"{jobs['isolated_warm'] * 1000:.0f} ms | "
        f"{jobs['isolated_warm'] / jobs['shared_warm']:.2f}x |\n"
        f"| scoring job, own env (cached), fresh process | "
        f"{jobs['isolated_cold'] * 1000:.0f} ms | "
        f"{jobs['isolated_cold'] / jobs['shared_warm']:.2f}x "
        f"({jobs['isolated_cold'] / jobs['shared_cold']:.2f}x the shared fresh one) |\n"
        f"| online predict, first request (load), in-process | "
        f"{predictions['in_process_load'] * 1000:.0f} ms | baseline |\n"
        f"| online predict, first request (load), own env | "
        f"{predictions['model_env_load'] * 1000:.0f} ms | "
        f"{predictions['model_env_load'] / predictions['in_process_load']:.1f}x |\n"
        + "".join(
            f"| online predict, {size} record(s), in-process (median of {PREDICT_RUNS}) | "
            f"{predictions[f'in_process_{size}'] * 1000:.2f} ms | baseline |\n"
            f"| online predict, {size} record(s), own env subprocess | "
            f"{predictions[f'model_env_{size}'] * 1000:.2f} ms | "
            f"{predictions[f'model_env_{size}'] / predictions[f'in_process_{size}']:.2f}x |\n"
            for size in (1, 100))
    )


if __name__ == "__main__":
    print(run())
