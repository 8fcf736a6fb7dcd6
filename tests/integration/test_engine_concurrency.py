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
from tests.support.bpmn import bpmn, chain, external, flow

START, END = '<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />'
ROOT = Path(__file__).resolve().parents[2]


def test_two_workers_racing_run_each_task_exactly_once(harness, database):
    harness.deploy("p.bpmn", bpmn("race", START, external("t", "work"), END, chain("s", "t", "e")))
    ids = [harness.engine.start("race").id for _ in range(30)]
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
    assert harness.status(instance.id) == "waiting"      # nothing half-done was stored
    rescuer = spawn("finish")
    try:
        while harness.status(instance.id) != "completed" and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        rescuer.terminate()
        rescuer.wait(10)
    final = harness.engine.get_instance(instance.id)
    assert final.status == "completed" and final.variables["done_by"] == "finish"
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
    assert all(r.resumed == [instance.id] for r in results)
    final = harness.engine.get_instance(instance.id)
    assert final.status == "completed"
    assert {f"v{n}" for n in range(4)} <= set(final.variables)


@pytest.mark.slow
def test_sigkill_of_the_batched_writer_loses_no_acknowledged_command(harness, database, tmp_path):
    """A process whose writer batches starts and task completions from 16 threads is killed
    (SIGKILL) twice mid-flight: every start it acknowledged is stored, nothing is half-written
    (each waiting instance has exactly the rows its state implies) and nothing ran twice; a
    new worker finishes every instance."""
    steps = [external(f"t{i}", "step") for i in range(3)]
    harness.deploy("p.bpmn", bpmn("chain", START, *steps, END, chain("s", "t0", "t1", "t2", "e")))
    acks = tmp_path / "acks.txt"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for _round in range(2):
        before = len(acks.read_text().split()) if acks.exists() else 0
        proc = subprocess.Popen([sys.executable, str(ROOT / "tests/fixtures/writer_process.py"),
                                 database.test_url, str(acks), f"r{_round}"], env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
                not acks.exists() or len(acks.read_text().split()) < before + 150):
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    acknowledged = acks.read_text().split()
    stored = {i.business_key: i for i in harness.engine.list_instances(limit=100_000)}
    assert len(acknowledged) >= 300
    assert set(acknowledged) <= set(stored)           # every 2xx is committed
    assert len(stored) == len(harness.engine.list_instances(limit=100_000))  # no duplicates
    tasks = harness.tasks.list()
    for instance in stored.values():                  # rows match each stored state
        mine = [t for t in tasks if t.instance_id == instance.id]
        if instance.status == "completed":
            assert mine == []
        else:
            assert instance.status == "waiting"
            assert [t.activity_id for t in mine] == instance.active_activities
    clock_skip = 3  # the dead workers' locks (2 s) expire
    time.sleep(clock_skip)
    harness.handle("step", lambda ctx: {f"done_{ctx.activity_id}": True})
    harness.worker.max_tasks = 50
    while harness.worker.run_once():
        pass
    for instance in harness.engine.list_instances(limit=100_000):
        assert instance.status == "completed", instance
        completed = [h.activity_id for h in harness.engine.history(instance.id)
                     if h.kind == "activity.completed" and h.activity_id in ("t0", "t1", "t2")]
        assert sorted(completed) == ["t0", "t1", "t2"]   # each step completed exactly once
