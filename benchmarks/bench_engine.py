"""Engine speed: persisted throughput against in-memory baselines, multi-instance fan-out,
signal delivery under load, and long gateway loops.

1. **Throughput (P1).** A 10-step process (7 tasks with an output mapping, 3 external tasks
   whose handlers return at once). Persisted: ``Engine.start`` from 4 caller threads, the
   external tasks run by the embedded ``Worker`` (tasks handed over in the transaction that
   creates them), on a SQLite file and PostgreSQL. Baselines in the same run, in chunks
   paired with the persisted ones so a noisy machine moves both: SpiffWorkflow running the
   same 10 steps in memory (its own parser; script tasks ``n = n + 1``, the external steps as
   manual tasks completed directly), and this engine's own interpreter in memory. Target:
   persisted >= 60% (SQLite) / 45% (PostgreSQL) of SpiffWorkflow's in-memory rate. Also: one
   caller starting instances one after another, and statements / transactions per instance.
2. **Multi-instance.** A 100-way parallel multi-instance external task, start to end.
3. **Signal delivery.** One signal resuming 100 waiting instances, with 10,000 unrelated
   instances waiting on other signals, messages and timers, against the same signal with none.
4. **Long loops.** A 10,000-iteration exclusive-gateway loop in memory (time per iteration
   over the first and last 1,000) and persisted in one ``Engine.start``.

``BENCH_ENGINE_SCALE`` (default 1) multiplies every count, e.g. 0.1 for a quick run.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, insert, select, text

from engine import Database, Engine, HandlerRegistry, Worker, clock
from engine.bpmn.parser import load_models
from engine.bpmn.runner import InstanceFacts, Runner
from engine.bpmn.state import InstanceState, TokenState
from engine.hotpath import statements_sent
from engine.persistence import EventSubscription, InstanceVariable, ProcessInstance

ROOT = Path(__file__).resolve().parent.parent
SCALE = float(os.environ.get("BENCH_ENGINE_SCALE", "1"))
POSTGRES_URL = os.environ.get("MLC_BENCH_POSTGRES_URL") or os.environ.get("MLC_TEST_POSTGRES_URL")
TARGETS = {"sqlite": 0.60, "postgresql": 0.45}
SIGNAL_TARGET = 1.2
CALLERS = 4
BUSY = 16  # callers and handler threads of the busier configuration the targets apply to

HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n'
          '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
          'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
          'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs" '
          'targetNamespace="http://bpmn.io/schema/bpmn">\n')
STEPS = ["task", "ext", "task", "task", "ext", "task", "task", "ext", "task", "task"]


def _n(count: int, minimum: int = 1) -> int:
    return max(minimum, int(count * SCALE))


# --------------------------------------------------------------------------- processes


def _process(key: str, steps: list[str], task: Callable[[str, int], str],
             ext: Callable[[str], str], namespaces: str = HEADER) -> bytes:
    body, ids = [], ["s"]
    for i, kind in enumerate(steps):
        sid = f"step{i}"
        body.append(ext(sid) if kind == "ext" else task(sid, i))
        ids.append(sid)
    ids.append("e")
    flows = [f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}" />'
             for i, (a, b) in enumerate(zip(ids, ids[1:]))]
    return (namespaces + f'<bpmn:process id="{key}" isExecutable="true">'
            '<bpmn:startEvent id="s" />' + "".join(body) + '<bpmn:endEvent id="e" />'
            + "".join(flows) + "</bpmn:process></bpmn:definitions>").encode()


def ten_steps() -> bytes:
    """start -> 10 steps (task, ext, task, task, ext, task, task, ext, task, task) -> end."""
    def task(sid: str, i: int) -> str:
        expr = "${0}" if i == 0 else "${n + 1}"
        return (f'<bpmn:task id="{sid}"><bpmn:extensionElements><camunda:inputOutput>'
                f'<camunda:outputParameter name="n">{expr}</camunda:outputParameter>'
                '</camunda:inputOutput></bpmn:extensionElements></bpmn:task>')

    return _process("tensteps", STEPS, task, lambda sid: (
        f'<bpmn:serviceTask id="{sid}" camunda:type="external" camunda:topic="bench.step" />'))


def ten_steps_for_spiff() -> bytes:
    """The same 10 steps in what SpiffWorkflow runs natively: script and manual tasks."""
    def task(sid: str, i: int) -> str:
        script = "n = 0" if i == 0 else "n = n + 1"
        return f'<bpmn:scriptTask id="{sid}"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>'

    return _process("tensteps", STEPS, task, lambda sid: f'<bpmn:manualTask id="{sid}" />')


def fan_out(width: int) -> bytes:
    return (HEADER + '<bpmn:process id="fanout" isExecutable="true"><bpmn:startEvent id="s" />'
            '<bpmn:serviceTask id="each" camunda:type="external" camunda:topic="bench.each">'
            f'<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>{width}'
            '</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:serviceTask>'
            '<bpmn:endEvent id="e" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="each" />'
            '<bpmn:sequenceFlow id="f2" sourceRef="each" targetRef="e" />'
            '</bpmn:process></bpmn:definitions>').encode()


def signal_wait() -> bytes:
    """Waits for signal ``bench.go``; also the template of the unrelated waiters."""
    return (HEADER + '<bpmn:signal id="Go" name="bench.go" />'
            '<bpmn:process id="waitsignal" isExecutable="true"><bpmn:startEvent id="s" />'
            '<bpmn:intermediateCatchEvent id="wait"><bpmn:signalEventDefinition signalRef="Go" />'
            '</bpmn:intermediateCatchEvent><bpmn:endEvent id="e" />'
            '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait" />'
            '<bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="e" />'
            "</bpmn:process></bpmn:definitions>").encode()


# --------------------------------------------------------------------------- databases


def _databases(folder: Path) -> list[tuple[str, str, Callable[[str], tuple[Database, Callable]]]]:
    """(label, dialect, factory) per back end; a factory returns a fresh Database, cleanup."""

    def sqlite(tag: str):
        db = Database(f"sqlite:///{folder / (tag + '.db')}")
        db.create_all()
        return db, db.dispose

    backends = [("SQLite (file, WAL)", "sqlite", sqlite)]
    if POSTGRES_URL:
        from engine.db import open_database

        def postgres(tag: str):
            schema = f"bench_{tag}_{uuid.uuid4().hex[:8]}"
            admin = open_database(POSTGRES_URL)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            sep = "&" if "?" in POSTGRES_URL else "?"
            db = Database(f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}")
            db.create_all()

            def cleanup():
                db.dispose()
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()

            return db, cleanup

        backends.append(("PostgreSQL 15 (local)", "postgresql", postgres))
    return backends


class Counter:
    """SQL statements and commits issued through one database's engine (the hot statements
    the writer sends to the driver directly included), and of those commits the writer's
    (write transactions; the rest are reads)."""

    def __init__(self, db: Database, engine: Engine) -> None:
        self.db = db
        self.writer = engine.writer
        self.statements = self.transactions = self.writes = 0

    def __enter__(self) -> Counter:
        event.listen(self.db.engine, "before_cursor_execute", self._statement)
        event.listen(self.db.engine, "commit", self._commit)
        self._hot = statements_sent()
        self._batches = self.writer.batches
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.db.engine, "before_cursor_execute", self._statement)
        event.remove(self.db.engine, "commit", self._commit)
        self.statements += statements_sent() - self._hot - 1
        self.writes = self.writer.batches - self._batches

    def _statement(self, *_args) -> None:
        self.statements += 1

    def _commit(self, *_args) -> None:
        self.transactions += 1


# --------------------------------------------------------------------------- 1. throughput


def spiff_chunk(count: int) -> float:
    """SpiffWorkflow alone, in memory: instances/s."""
    from lxml import etree
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState as SpiffState

    parser = BpmnParser()
    parser.add_bpmn_xml(etree.fromstring(ten_steps_for_spiff()), filename="tensteps.bpmn")
    spec = parser.get_spec("tensteps")
    started = time.perf_counter()
    for _ in range(count):
        workflow = BpmnWorkflow(spec)
        workflow.do_engine_steps()
        while not workflow.completed:
            for task in workflow.get_tasks(state=SpiffState.READY):
                if task.task_spec.manual:
                    task.run()
            workflow.do_engine_steps()
        if workflow.last_task.data.get("n") != 6:
            raise AssertionError("SpiffWorkflow baseline took the wrong path")
    return count / (time.perf_counter() - started)


class _InMemoryServices:
    allow_scripts = False

    def __init__(self, models) -> None:
        self.models = models

    def model(self, definition_id: str):
        return self.models[definition_id]

    def called(self, *args):  # pragma: no cover - the benchmark calls no process
        raise NotImplementedError

    def decide(self, *args, **kwargs):  # pragma: no cover
        raise NotImplementedError

    def delegate(self, name: str):
        return None


def own_chunk(count: int) -> float:
    """This engine's interpreter alone, in memory (no database): instances/s."""
    models = load_models(ten_steps(), "tensteps.bpmn")
    services = _InMemoryServices(models)
    model = models["tensteps"]
    started = time.perf_counter()
    for i in range(count):
        state = InstanceState()
        runner = Runner(state, InstanceFacts(str(i), "tensteps", "tensteps", None), services)
        runner.start(model, None, {})
        while not state.ended:
            waiting = [t.id for t in state.tokens.values()
                       if t.state is TokenState.WAIT and "ext" in t.data]
            for token_id in waiting:
                runner.complete_task(token_id, {})
        if state.root.vars.get("n") != 6:
            raise AssertionError("in-memory run took the wrong path")
    return count / (time.perf_counter() - started)


class Persisted:
    """An engine with an embedded worker thread over one database, started once."""

    def __init__(self, db: Database, concurrency: int = CALLERS) -> None:
        self.db = db
        self.handlers = HandlerRegistry()
        self.handlers.register("bench.step", lambda ctx: None)
        self.handlers.register("bench.each", lambda ctx: None)
        self.engine = Engine(db, self.handlers)
        self.engine.deploy([("tensteps.bpmn", ten_steps())])
        self.worker = Worker(self.engine, self.handlers, worker_id="bench", max_tasks=64,
                             concurrency=concurrency)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.worker.run, args=(self.stop, 0.5),
                                       daemon=True)
        self.thread.start()
        # progress is watched over connections of its own, so it is not counted as work
        self.watcher = Database(db.engine.url.render_as_string(hide_password=False))

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.worker.close()
        self.watcher.dispose()

    def unfinished(self, key: str) -> int:
        with self.watcher.session() as s:
            return s.scalar(select(func.count()).select_from(ProcessInstance).where(
                ProcessInstance.definition_key == key,
                ProcessInstance.status.notin_(("completed", "terminated")))) or 0

    def wait_done(self, key: str, timeout: float = 600.0) -> None:
        deadline = time.monotonic() + timeout
        while self.unfinished(key):
            if time.monotonic() > deadline:
                raise AssertionError(f"{key} instances did not complete in {timeout:.0f} s")
            time.sleep(0.05)  # a light watcher (it shares the GIL); the end time is stored

    def last_end(self, key: str) -> datetime:
        """When the last instance of ``key`` ended, as the engine stamped it (so how often
        :meth:`wait_done` looks does not change the figure)."""
        with self.watcher.session() as s:
            return s.scalar(select(func.max(ProcessInstance.ended_at)).where(
                ProcessInstance.definition_key == key))

    def chunk(self, count: int, callers: int = CALLERS) -> dict[str, float]:
        """Start ``count`` instances from ``callers`` threads; run them to completion."""
        per = [count // callers + (1 if i < count % callers else 0) for i in range(callers)]
        with Counter(self.db, self.engine) as counted:
            started = clock.now()
            threads = [threading.Thread(target=lambda n=n: [self.engine.start("tensteps")
                                                           for _ in range(n)]) for n in per]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            self.wait_done("tensteps")
            elapsed = (self.last_end("tensteps") - started).total_seconds()
        return {"rate": count / elapsed, "statements": counted.statements / count,
                "transactions": counted.transactions / count, "writes": counted.writes / count}

    def sequential(self, count: int) -> float:
        """One caller: start an instance, wait until it completed, then the next."""
        started = time.perf_counter()
        for _ in range(count):
            instance = self.engine.start("tensteps")
            while self.engine.get_instance(instance.id).status != "completed":
                time.sleep(0.0005)
        return count / (time.perf_counter() - started)


def throughput(label: str, dialect: str, factory, chunk: int, rounds: int,
               callers: int = CALLERS) -> dict[str, Any]:
    """Paired rounds at ``callers`` caller threads and as many handler threads."""
    db, cleanup = factory(f"throughput{callers}")
    persisted = Persisted(db, concurrency=callers)
    try:
        persisted.chunk(max(chunk // 4, 4), callers)  # warm caches, connections, the worker
        rows = []
        for _ in range(rounds):
            spiff = spiff_chunk(chunk)
            own = own_chunk(chunk)
            found = persisted.chunk(chunk, callers)
            rows.append({"spiff": spiff, "own": own, **found,
                         "ratio": found["rate"] / spiff, "own_ratio": found["rate"] / own})
        sequential = persisted.sequential(max(chunk // 4, 10)) if callers == CALLERS else None
        claim = claim_path(factory, _n(100, 10)) if callers == CALLERS else None
    finally:
        persisted.close()
        cleanup()
    ratios = [r["ratio"] for r in rows]
    out = {"label": label, "dialect": dialect, "callers": callers, "rows": rows,
           "sequential": sequential, "claim": claim, "ratio": statistics.median(ratios),
           "min": min(ratios), "max": max(ratios)}
    for key in ("spiff", "own", "rate", "statements", "transactions", "writes"):
        out[key] = statistics.median(r[key] for r in rows)
    out["own_ratio"] = statistics.median(r["own_ratio"] for r in rows)
    return out


def claim_path(factory, count: int) -> dict[str, float]:
    """Statements and transactions per instance when an outside worker claims every task
    (``fetch_and_lock`` + ``complete``), as external workers over REST do."""
    db, cleanup = factory("claims")
    try:
        handlers = HandlerRegistry()
        handlers.register("bench.step", lambda ctx: None)
        engine = Engine(db, handlers)
        engine.deploy([("tensteps.bpmn", ten_steps())])
        worker = Worker(engine, handlers, worker_id="outside", max_tasks=1)
        engine.start("tensteps")
        while worker.run_once():
            pass
        with Counter(db, engine) as counted:
            started = time.perf_counter()
            for _ in range(count):
                engine.start("tensteps")
                while worker.run_once():
                    pass
            elapsed = time.perf_counter() - started
        worker.close()
        return {"rate": count / elapsed, "statements": counted.statements / count,
                "transactions": counted.transactions / count, "writes": counted.writes / count}
    finally:
        cleanup()


# --------------------------------------------------------------------------- 2. fan-out


def fan_out_run(factory, width: int) -> dict[str, float]:
    db, cleanup = factory("fanout")
    persisted = Persisted(db)
    try:
        persisted.engine.deploy([("fanout.bpmn", fan_out(width))])
        persisted.engine.start("fanout")
        persisted.wait_done("fanout")  # warm
        started = time.perf_counter()
        instance = persisted.engine.start("fanout")
        created = time.perf_counter() - started
        persisted.wait_done("fanout")
        elapsed = time.perf_counter() - started
        if persisted.engine.get_instance(instance.id).status != "completed":
            raise AssertionError("fan-out instance did not complete")
        return {"seconds": elapsed, "created": created, "per_task_ms": elapsed / width * 1000}
    finally:
        persisted.close()
        cleanup()


# --------------------------------------------------------------------------- 3. signals


def _add_unrelated(db: Database, engine: Engine, count: int) -> None:
    """``count`` instances waiting on other signals, messages and timers, inserted in bulk.

    One real waiting instance is the template (its stored state is valid); the copies get
    their own ids and subscription rows, as if each had been started and reached its wait.
    """
    template = engine.start("waitsignal")
    with db.session() as s:
        row = s.get(ProcessInstance, template.id)
        sub = s.scalars(select(EventSubscription).where(
            EventSubscription.instance_id == row.id)).first()
        state, definition_id = row.state, row.definition_id
        task_id, now = sub.task_id, sub.created_at
    instances, subs, variables = [], [], []
    for i in range(count):
        iid = str(uuid.uuid4())
        instances.append(dict(id=iid, definition_id=definition_id, definition_key="waitsignal",
                              business_key=f"bk-{i}", status="waiting", state=state,
                              variables={"order": i}, active_activities=["wait"], version=1,
                              created_at=now, updated_at=now))
        kind, name, due = (("signal", f"other.{i % 100}", None), ("message", f"msg.{i % 50}", None),
                           ("timer", None, now.replace(year=now.year + 1)))[i % 3]
        subs.append(dict(id=str(uuid.uuid4()), kind=kind, name=name, instance_id=iid,
                         task_id=task_id, activity_id="wait", business_key=f"bk-{i}", due_at=due,
                         config={}, created_at=now))
        variables.append(dict(instance_id=iid, name="order", value=str(i)))
    with db.write_session() as s:
        for start in range(0, count, 2000):
            s.execute(insert(ProcessInstance), instances[start:start + 2000])
            s.execute(insert(EventSubscription), subs[start:start + 2000])
            s.execute(insert(InstanceVariable), variables[start:start + 2000])
    engine.signal("bench.go")  # the template itself waits on bench.go: only the measured wait


def _signal_setup(db: Database, unrelated: int) -> Engine:
    engine = Engine(db)
    engine.deploy([("waitsignal.bpmn", signal_wait())])
    if unrelated:
        _add_unrelated(db, engine, unrelated)
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return engine


def _signal_round(engine: Engine, waiting: int) -> tuple[float, int]:
    """(seconds, SQL statements) for one ``bench.go`` signal resuming ``waiting`` instances."""
    for _ in range(waiting):
        engine.start("waitsignal")
    with Counter(engine.db, engine) as counted:
        started = time.perf_counter()
        result = engine.signal("bench.go")
        elapsed = time.perf_counter() - started
    if len(result.resumed) != waiting:
        raise AssertionError(f"signal resumed {len(result.resumed)} of {waiting}")
    return elapsed, counted.statements


def signal_costs(factory, unrelated: int, waiting: int, rounds: int) -> dict[str, dict]:
    """Delivery time (fastest and median round) and statements, without and with unrelated
    waiters; rounds alternate between the two databases so load affects both alike."""
    dbs = {tag: factory(f"signal_{tag}") for tag in ("empty", "loaded")}
    try:
        engines = {"empty": _signal_setup(dbs["empty"][0], 0),
                   "loaded": _signal_setup(dbs["loaded"][0], unrelated)}
        runs: dict[str, list[tuple[float, int]]] = {"empty": [], "loaded": []}
        for _ in range(rounds + 1):
            for tag, engine in engines.items():
                runs[tag].append(_signal_round(engine, waiting))
        return {tag: {"min": min(t for t, _ in values[1:]),
                      "median": statistics.median(t for t, _ in values[1:]),
                      "statements": max(n for _, n in values[1:])}
                for tag, values in runs.items()}
    finally:
        for _db, cleanup in dbs.values():
            cleanup()


# --------------------------------------------------------------------------- 4. loops


def loop_profile(iterations: int, window: int) -> dict[str, float]:
    """Per-iteration time of the loop fixture in memory with the engine's interpreter."""
    models = load_models((ROOT / "tests/fixtures/bpmn/loop.bpmn").read_bytes(), "loop.bpmn")
    state = InstanceState()
    runner = Runner(state, InstanceFacts("loop", "loop", "loop", None), _InMemoryServices(models))
    stamps: list[float] = []
    record = runner.record

    def timed(kind, activity_id=None, name=None, **data):
        if kind == "activity.completed" and activity_id == "increment":
            stamps.append(time.perf_counter())
        record(kind, activity_id, name, **data)

    runner.record = timed  # type: ignore[method-assign]
    runner.start(models["loop"], None, {"limit": iterations})
    if not state.ended or len(stamps) != iterations:
        raise AssertionError(f"loop stopped after {len(stamps)} of {iterations} iterations")
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    return {"first_us": statistics.median(gaps[:window]) * 1e6,
            "last_us": statistics.median(gaps[-window:]) * 1e6,
            "state_bytes": len(__import__("engine.bpmn.state", fromlist=["encode"]).encode(state))}


def loop_persisted(db: Database, iterations: int) -> float:
    engine = Engine(db)
    engine.deploy([("loop.bpmn", (ROOT / "tests/fixtures/bpmn/loop.bpmn").read_bytes())])
    started = time.perf_counter()
    instance = engine.start("loop", {"limit": iterations})
    elapsed = time.perf_counter() - started
    if instance.status != "completed" or instance.variables["i"] != iterations:
        raise AssertionError(f"loop did not complete: {instance.status}")
    return elapsed


# --------------------------------------------------------------------------- run


def run() -> str:
    folder = Path(tempfile.mkdtemp(prefix="mlc-bench-engine-"))
    backends = _databases(folder)
    chunk, rounds = _n(200, 20), 5
    results = []
    for label, dialect, factory in backends:
        for callers in (CALLERS, BUSY):
            found = throughput(label, dialect, factory, chunk, rounds, callers)
            results.append(found)
            target = TARGETS[dialect]
            print(f"P1 {label}, {callers} callers: persisted {found['rate']:.0f} instances/s vs "
                  f"SpiffWorkflow in memory {found['spiff']:.0f}/s: ratio {found['ratio']:.2f} "
                  f"(min {found['min']:.2f}, max {found['max']:.2f}; target {target:.2f}); own "
                  f"interpreter in memory {found['own']:.0f}/s; {found['statements']:.1f} "
                  f"statements, {found['transactions']:.2f} transactions per instance",
                  flush=True)

    width = _n(100, 10)
    fanned = []
    for label, _dialect, factory in backends:
        fan = fan_out_run(factory, width)
        fanned.append((label, fan))
        print(f"{width}-way multi-instance, {label}: {fan['seconds'] * 1000:.0f} ms start to end "
              f"({fan['created'] * 1000:.0f} ms to create the {width} tasks)", flush=True)

    waiting, unrelated, signal_rounds = _n(100, 10), _n(10_000, 100), 7
    signals = []
    for label, _dialect, factory in backends:
        costs = signal_costs(factory, unrelated, waiting, signal_rounds)
        empty, loaded = costs["empty"], costs["loaded"]
        ratio = loaded["min"] / empty["min"]
        signals.append((label, empty, loaded, ratio))
        print(f"signal to {waiting} waiting, {label}: {empty['min'] * 1000:.0f} ms alone, "
              f"{loaded['min'] * 1000:.0f} ms with {unrelated:,} unrelated; ratio {ratio:.2f}",
              flush=True)

    iterations, window = _n(10_000, 1000), _n(1000, 100)
    loop = loop_profile(iterations, window)
    growth = loop["last_us"] / loop["first_us"]
    print(f"{iterations:,}-iteration loop in memory: {loop['first_us']:.0f} us/iteration first "
          f"{window:,}, {loop['last_us']:.0f} us last {window:,}", flush=True)
    persisted_loops = []
    for label, _dialect, factory in backends:
        db, cleanup = factory("loop")
        try:
            persisted_loops.append((label, loop_persisted(db, iterations)))
        finally:
            cleanup()
        print(f"{iterations:,}-iteration loop persisted, {label}: {persisted_loops[-1][1]:.2f} s",
              flush=True)
    return _report(results, chunk, rounds, width, fanned, waiting, unrelated, signal_rounds,
                   signals, iterations, window, loop, growth, persisted_loops)


def _report(results, chunk, rounds, width, fanned, waiting, unrelated, signal_rounds, signals,
            iterations, window, loop, growth, persisted_loops) -> str:
    lines = [
        "## Engine (`bench_engine`)", "",
        f"Scale {SCALE:g} (`BENCH_ENGINE_SCALE`).", "",
        "### P1: persisted throughput, 10-step process with 3 external tasks", "",
        f"{rounds} rounds of {chunk} instances per back end and configuration; in each round "
        "SpiffWorkflow in memory, this engine's interpreter in memory, then the persisted "
        "engine (N caller threads starting instances, the embedded worker running the external "
        "tasks on N handler threads), so a noisy machine moves baseline and measurement alike. "
        "A persisted round ends when its last instance ended (the end time the engine stored). "
        "Ratio = persisted / SpiffWorkflow in memory, median of the rounds (min-max beside it). "
        f"The targets apply to the concurrent configuration ({BUSY} callers); {CALLERS} "
        "callers is `mlc serve`'s default handler count.", "",
        "| back end | callers | persisted inst/s | SpiffWorkflow in memory | ratio (min-max) "
        "| target | own interpreter in memory | persisted / own | statements/inst "
        "| transactions/inst (writes) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        target = TARGETS[r["dialect"]]
        verdict = ("meets" if r["ratio"] >= target else "misses") if r["callers"] == BUSY \
            else "-"
        lines.append(
            f"| {r['label']} | {r['callers']} | {r['rate']:,.0f} | {r['spiff']:,.0f} | "
            f"**{r['ratio']:.2f}** ({r['min']:.2f}-{r['max']:.2f}) | >= {target:.2f}: "
            f"{verdict} | {r['own']:,.0f} | {r['own_ratio']:.2f} | {r['statements']:.1f} | "
            f"{r['transactions']:.2f} ({r['writes']:.2f}) |")
    single = [r for r in results if r["sequential"] is not None]
    lines += ["", "One caller starting an instance and waiting for it to complete before the "
              "next: " + ", ".join(f"{r['label']} {r['sequential']:,.0f} instances/s"
                                   for r in single) + ".",
              "", "Claim path (an outside worker claims each task with `fetch_and_lock` and "
              "completes it, one instance at a time):", ""]
    for r in single:
        c = r["claim"]
        lines.append(f"- {r['label']}: {c['rate']:,.0f} instances/s, {c['statements']:.1f} "
                     f"statements and {c['transactions']:.1f} transactions per instance, "
                     f"{c['writes']:.1f} of them writes (the start, a claim and a completion "
                     "per task; the rest are the worker's read-only checks for due work). "
                     "Before the new write path: 54 statements in 7.0 transactions on SQLite, "
                     "47 in 7.0 on PostgreSQL.")
    lines += ["", f"### {width}-way parallel multi-instance external task", "",
              "One instance whose task fans out to "
              f"{width} inner instances, each an external task the embedded worker runs; start "
              "to end:", ""]
    for label, fan in fanned:
        lines.append(f"- {label}: {fan['seconds'] * 1000:,.0f} ms "
                     f"({fan['per_task_ms']:.1f} ms per inner task; {fan['created'] * 1000:,.0f} "
                     f"ms to start the instance and create its {width} tasks)")
    lines += ["", f"### Signal delivery: one signal to {waiting} waiting instances", "",
              f"Fastest of {signal_rounds} rounds (medians beside it), rounds alternating "
              f"between the two databases. \"With others\": {unrelated:,} unrelated instances "
              "wait on other signals, messages and timers in the same database.", "",
              "| back end | no others (ms) | with others (ms) | medians (ms) | statements "
              "(no others / with) | resumed/s (with others) | ratio |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for label, empty, loaded, ratio in signals:
        lines.append(f"| {label} | {empty['min'] * 1000:.0f} | {loaded['min'] * 1000:.0f} | "
                     f"{empty['median'] * 1000:.0f} / {loaded['median'] * 1000:.0f} | "
                     f"{empty['statements']} / {loaded['statements']} | "
                     f"{waiting / loaded['min']:,.0f} | **{ratio:.2f}** |")
    lines += ["", f"Target ratio <= {SIGNAL_TARGET}: "
              + ", ".join(f"{label} {'meets' if r <= SIGNAL_TARGET else 'misses'}"
                          for label, _, _, r in signals) + ".", "",
              f"### {iterations:,}-iteration exclusive-gateway loop", "",
              f"In memory: median **{loop['first_us']:.0f} us** per iteration over the first "
              f"{window:,} iterations, **{loop['last_us']:.0f} us** over the last {window:,} "
              f"(x{growth:.2f}); the stored state after the loop is {loop['state_bytes']} bytes.",
              ""]
    for label, seconds in persisted_loops:
        lines.append(f"- persisted in one `Engine.start`, {label}: {seconds:.2f} s "
                     f"({seconds / iterations * 1e6:.0f} us/iteration)")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
