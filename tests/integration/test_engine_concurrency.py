"""Racing workers, a worker killed mid-task, concurrent signals to one instance."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from engine import Engine, HandlerRegistry, Worker
from tests.bpmn import bpmn, chain, external, flow

START, END = '<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />'
ROOT = Path(__file__).resolve().parents[2]


def test_two_workers_racing_run_each_task_exactly_once(harness, database):
    harness.deploy("p.bpmn", bpmn("race", START, external("t", "work"), END, chain("s", "t", "e")))
    ids = [harness.engine.start("race")["id"] for _ in range(30)]
    runs: Counter = Counter()
    lock = threading.Lock()

    def make_worker(name: str) -> Worker:
        handlers = HandlerRegistry()

        def work(ctx):
            with lock:
                runs[ctx.idempotency_key] += 1
            return {"by": name}

        handlers.register("work", work)
        return Worker(Engine(database, handlers), handlers, worker_id=name)

    workers = [make_worker("w1"), make_worker("w2")]

    def drain(worker: Worker) -> None:
        idle = 0
        while idle < 3:
            idle = 0 if worker.run_once() else idle + 1

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(runs) == 30 and set(runs.values()) == {1}
    assert all(harness.status(i) == "completed" for i in ids)


@pytest.mark.slow
def test_worker_killed_mid_task_loses_nothing(harness, database, tmp_path):
    harness.deploy("p.bpmn", bpmn("crash", START, external("t", "slow"), END, chain("s", "t", "e")))
    instance = harness.engine.start("crash")
    marker = str(tmp_path / "runs.txt")
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def spawn(mode: str) -> subprocess.Popen:
        Path(marker + ".ready").unlink(missing_ok=True)
        proc = subprocess.Popen([sys.executable, str(ROOT / "tests/fixtures/worker_process.py"),
                                 database.test_url, marker, mode], env=env)
        return proc

    doomed = spawn("hang")
    deadline = time.monotonic() + 60
    while not (Path(marker).exists() and Path(marker).read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    assert harness.status(instance["id"]) == "waiting"      # nothing half-done was stored
    rescuer = spawn("finish")
    try:
        while harness.status(instance["id"]) != "completed" and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        rescuer.terminate()
        rescuer.wait(10)
    final = harness.engine.get_instance(instance["id"])
    assert final["status"] == "completed" and final["variables"]["done_by"] == "finish"
    attempts = Path(marker).read_text().split("\n")[:-1]
    keys = {line.split()[0] for line in attempts}
    assert len(attempts) == 2 and len(keys) == 1             # same idempotency key, re-run once


def test_concurrent_signals_to_one_instance_lose_no_update(harness, database):
    branches = []
    for n in range(4):
        branches += [f'<bpmn:intermediateCatchEvent id="c{n}"><bpmn:signalEventDefinition signalRef="S{n}" /></bpmn:intermediateCatchEvent>',
                     flow("split", f"c{n}"), flow(f"c{n}", "join")]
    signals = "".join(f'<bpmn:signal id="S{n}" name="sig{n}" />' for n in range(4))
    harness.deploy("p.bpmn", bpmn("fan", START, '<bpmn:parallelGateway id="split" />',
                                  '<bpmn:parallelGateway id="join" />', END, flow("s", "split"),
                                  flow("join", "e"), *branches, extra=signals))
    instance = harness.engine.start("fan")
    engines = [Engine(database) for _ in range(4)]
    barrier = threading.Barrier(4)
    results = [None] * 4

    def send(n: int) -> None:
        barrier.wait()
        results[n] = engines[n].signal(f"sig{n}", {f"v{n}": n})

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r["resumed"] == [instance["id"]] for r in results)
    final = harness.engine.get_instance(instance["id"])
    assert final["status"] == "completed"
    assert {f"v{n}" for n in range(4)} <= set(final["variables"])
