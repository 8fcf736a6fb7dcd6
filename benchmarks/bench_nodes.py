"""Scaling out (issue 17): throughput of 1, 2 and 4 ``mlc worker`` processes sharing one
PostgreSQL database, and the cost of a step and of a signal there.

1. **Worker processes.** ``BENCH_NODES_INSTANCES`` instances of *signal catch -> three
   external tasks -> end* wait on one signal; 1, 2 or 4 real ``mlc worker`` processes
   (``--concurrency 4``, handlers from ``benchmarks/node_handlers.py`` that return at once;
   and one process with ``--concurrency 16``) register and idle; then one signal resumes
   every instance, and the clock runs until the last instance completes. A fresh schema per
   run; ``BENCH_NODES_ROUNDS`` rounds, each running every row once, so that load from
   elsewhere on the machine hits all rows; the fastest run of each row counts. Figures:
   instances/s, external-task steps/s, wall ms per step, the workers' CPU ms per step, and
   the ratio against the 1-worker row of the same run.
2. **Signals.** From this process, on PostgreSQL: ``BENCH_NODES_SIGNALS`` signals sent one
   after another, each resuming one waiting instance (ms per signal), and one signal resuming
   all of them at once (ms per resumed instance).

Needs ``MLC_BENCH_POSTGRES_URL`` or ``MLC_TEST_POSTGRES_URL`` (skipped without one).
"""

from __future__ import annotations

import os
import signal as signals
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import text

from benchmarks.postgres import POSTGRES_URL, fresh_schema

ROOT = Path(__file__).resolve().parent.parent
INSTANCES = int(os.environ.get("BENCH_NODES_INSTANCES", "300"))
SIGNALS = int(os.environ.get("BENCH_NODES_SIGNALS", "200"))
ROUNDS = int(os.environ.get("BENCH_NODES_ROUNDS", "3"))
# (worker processes, --concurrency of each): the first row is the baseline; the last one asks
# whether one process with more handler threads does what more processes do
ROWS = ((1, 4), (2, 4), (4, 4), (1, 16))
TASKS = 3  # external tasks per instance

HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n'
          '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
          'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs" '
          'targetNamespace="http://bpmn.io/schema/bpmn">\n')


def _process(pid: str, signal_name: str, tasks: int) -> bytes:
    ids = ["s", "go", *[f"t{i}" for i in range(tasks)], "e"]
    body = ['<bpmn:startEvent id="s" />',
            '<bpmn:intermediateCatchEvent id="go"><bpmn:signalEventDefinition signalRef="Go" />'
            '</bpmn:intermediateCatchEvent>',
            *[f'<bpmn:serviceTask id="t{i}" camunda:type="external" camunda:topic="bench.step" />'
              for i in range(tasks)],
            '<bpmn:endEvent id="e" />',
            *[f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}" />'
              for i, (a, b) in enumerate(zip(ids, ids[1:]))]]
    return (HEADER + f'<bpmn:signal id="Go" name="{signal_name}" />'
            f'<bpmn:process id="{pid}" isExecutable="true">' + "".join(body)
            + "</bpmn:process></bpmn:definitions>").encode()


STEPS = _process("bench_steps", "bench.nodes.go", TASKS)
ONE_EACH = _process("bench_one_signal", "bench.nodes.one.${n}", 0)


def _schema() -> tuple[str, Callable[[], None]]:
    found = fresh_schema("bench_nodes_")
    assert found is not None
    return found


def _engine(url: str):
    from engine import Engine
    from engine.db import Database

    return Engine(Database(url))


def _start_many(engine, key: str, variables: list[dict]) -> None:
    """Set-up, not measured: starts from 8 threads, which the writer commits in batches."""
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda v: engine.start(key, v), variables))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_workers(count: int, concurrency: int, url: str,
                   folder: Path) -> list[subprocess.Popen]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    env.update(MLC_DATABASE_URL=url, PYTHONPATH=str(ROOT),
               MLC_HANDLER_MODULES="benchmarks.node_handlers")
    procs = []
    for i in range(count):
        with (folder / f"worker-{count}x{concurrency}-{i}.log").open("a") as log:
            procs.append(subprocess.Popen(
                [sys.executable, "-c", "from mlc.cli import main; main()", "worker", "--topics",
                 "bench.step", "--concurrency", str(concurrency), "--poll", "0.2",
                 "--no-timers"], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT))
    return procs


def _scalar(engine, sql: str) -> int:
    with engine.db.engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def _wait(condition: Callable[[], bool], seconds: float, what: str,
          procs: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise RuntimeError(f"bench_nodes: gave up waiting for {what}")
        time.sleep(0.05)


def workers_row(count: int, concurrency: int, folder: Path) -> dict:
    """One signal releases ``INSTANCES`` instances to ``count`` worker processes running
    ``concurrency`` handlers each: how fast do they finish?"""
    url, cleanup = _schema()
    engine = _engine(url)
    procs: list[subprocess.Popen] = []
    try:
        engine.deploy([("steps.bpmn", STEPS)])
        _start_many(engine, "bench_steps", [{} for _ in range(INSTANCES)])
        procs = _start_workers(count, concurrency, url, folder)
        _wait(lambda: _scalar(engine, "SELECT count(*) FROM mlc_nodes") == count, 180,
              "the workers to register", procs)
        cpu_before = sum(_cpu_seconds(p.pid) for p in procs)
        began = time.perf_counter()
        resumed = len(engine.signal("bench.nodes.go").resumed)
        assert resumed == INSTANCES, resumed
        _wait(lambda: _scalar(engine, "SELECT count(*) FROM mlc_process_instances WHERE "
                                      "status = 'completed'") == INSTANCES, 900,
              "every instance to complete", procs)
        elapsed = time.perf_counter() - began
        cpu = sum(_cpu_seconds(p.pid) for p in procs) - cpu_before
        ran = _scalar(engine, "SELECT count(*) FROM mlc_history WHERE kind = "
                              "'external_task.completed'")
        assert ran == INSTANCES * TASKS, ran
    finally:
        for proc in procs:
            proc.send_signal(signals.SIGTERM)
        for proc in procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        engine.db.dispose()
        cleanup()
    steps = INSTANCES * TASKS
    row = {"workers": count, "concurrency": concurrency, "seconds": elapsed,
           "instances_per_s": INSTANCES / elapsed, "steps_per_s": steps / elapsed,
           "ms_per_step": elapsed * 1000 / steps, "cpu_ms_per_step": cpu * 1000 / steps}
    print(f"{count} worker process(es) x {concurrency} handlers: {INSTANCES} instances in "
          f"{elapsed:.1f} s = "
          f"{row['instances_per_s']:.1f} instances/s, {row['steps_per_s']:.0f} steps/s, "
          f"workers' CPU {row['cpu_ms_per_step']:.2f} ms/step", flush=True)
    return row


def signal_costs() -> dict:
    """Signals from this process: one per waiting instance, then one to all of them."""
    url, cleanup = _schema()
    engine = _engine(url)
    try:
        engine.deploy([("one.bpmn", ONE_EACH)])
        _start_many(engine, "bench_one_signal", [{"n": n} for n in range(SIGNALS)])
        began = time.perf_counter()
        for n in range(SIGNALS):
            assert len(engine.signal(f"bench.nodes.one.{n}").resumed) == 1
        one = (time.perf_counter() - began) * 1000 / SIGNALS
        engine.deploy([("broadcast.bpmn", _process("bench_broadcast", "bench.nodes.all", 0))])
        _start_many(engine, "bench_broadcast", [{} for _ in range(SIGNALS)])
        began = time.perf_counter()
        assert len(engine.signal("bench.nodes.all").resumed) == SIGNALS
        broadcast = (time.perf_counter() - began) * 1000 / SIGNALS
    finally:
        engine.db.dispose()
        cleanup()
    print(f"signals: {one:.2f} ms per signal resuming one instance; {broadcast:.2f} ms per "
          f"instance when one signal resumes {SIGNALS}", flush=True)
    return {"one": one, "broadcast": broadcast}


def run() -> str:
    if not POSTGRES_URL:
        return ("## Scaling out: worker processes on PostgreSQL (`bench_nodes`)\n\n"
                "(No PostgreSQL configured: set MLC_BENCH_POSTGRES_URL or "
                "MLC_TEST_POSTGRES_URL.)\n")
    folder = Path(tempfile.mkdtemp(prefix="mlc-bench-nodes-"))
    load = os.getloadavg()
    runs: dict[tuple[int, int], list[dict]] = {row: [] for row in ROWS}
    for _ in range(ROUNDS):
        for count, concurrency in ROWS:
            runs[(count, concurrency)].append(workers_row(count, concurrency, folder))
    rows = [max(found, key=lambda r: r["instances_per_s"]) for found in runs.values()]
    for row, found in zip(rows, runs.values()):
        row["median"] = statistics.median(r["instances_per_s"] for r in found)
    costs = signal_costs()
    return _report(rows, costs, load, os.getloadavg())


def _report(rows: list[dict], costs: dict, load_before, load_after) -> str:
    base = rows[0]["instances_per_s"]
    lines = ["## Scaling out: worker processes on PostgreSQL (`bench_nodes`)", "",
             f"{INSTANCES} instances of *signal catch -> {TASKS} external tasks -> end* "
             "released by one signal to real `mlc worker` processes (handlers that return at "
             "once) on one PostgreSQL database, a fresh schema per run; time from the signal to "
             f"the last completed instance; the fastest of {ROUNDS} runs per row (rounds "
             "alternate the rows), the median beside it. Baseline: the 1-worker row of the "
             "same run.", "",
             "| worker processes | `--concurrency` | seconds | instances/s (median) | steps/s "
             "| wall ms / step | workers' CPU ms / step | vs 1 worker |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['workers']} | {r['concurrency']} | {r['seconds']:.1f} | "
                     f"{r['instances_per_s']:.1f} ({r['median']:.1f}) | "
                     f"{r['steps_per_s']:.0f} | {r['ms_per_step']:.2f} | "
                     f"{r['cpu_ms_per_step']:.2f} | {r['instances_per_s'] / base:.2f} |")
    lines += ["", f"Signals from one process, one after another: **{costs['one']:.1f} ms** per "
              f"signal resuming one instance; one signal resuming {SIGNALS} waiting instances: "
              f"**{costs['broadcast']:.2f} ms** per instance.", "",
              f"Load average (1 min) {load_before[0]:.2f} before the run and "
              f"{load_after[0]:.2f} after, on {os.cpu_count() or 1} cores shared with the "
              "PostgreSQL server and other work: the worker processes, PostgreSQL and this "
              "process compete for the same cores, so the ratios show contention here, not "
              "what separate hosts would reach (see docs/scaling.md)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
