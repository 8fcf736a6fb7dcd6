"""Three real nodes on one PostgreSQL under load, one SIGKILLed and one SIGTERMed mid-run.

Two ``mlc serve`` and one ``mlc worker`` share a fresh schema of the CI PostgreSQL; the topics
``cluster.a`` / ``cluster.b`` come from ``tests/cluster/handlers.py`` through
``MLC_HANDLER_MODULES``, the way a team adds its own handlers. 1,000 instances of
*external task -> 1 s timer -> signal catch -> external task* are started through random API
nodes; their signals (one per group of ten instances) go to random API nodes too. Mid-run one
``mlc serve`` is SIGKILLed and the ``mlc worker`` gets SIGTERM; both come back.

What must hold: every instance completes, without an incident; every timer fired once and
every instance took its signal once (history); every task's handler ran once, except tasks
whose lock the killed node held at its death: those ran again elsewhere (at-least-once, with
the same idempotency key). The killed node is reaped by a living one within three
heartbeats, long before its 120 s leases would have expired; the stopped worker finished what
it ran and deregistered.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict

import pytest
import requests
from sqlalchemy import text

from tests.conftest import POSTGRES_URL, _fresh_database
from tests.support.bpmn import HEADER, chain, external
from tests.support.cluster import Client, NodeProcess, mlc
from tests.support.serve import mlc_env

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cluster"),
              pytest.mark.skipif(not POSTGRES_URL, reason="the cluster test runs on "
                                 "PostgreSQL: set MLC_TEST_POSTGRES_URL")]

INSTANCES = 1000
GROUPS = 100            # instances i and j wait for the same signal when i % 100 == j % 100
STARTERS = 4            # client threads starting instances
LEASE = "120"           # longer than the test needs: only reaping can free a dead node's locks
KILL_AT, TERM_AT = 400, 900  # handler runs logged before the SIGKILL, before the SIGTERM
TOPICS = ("cluster.a", "cluster.b")

PROCESS = (HEADER + '<bpmn:signal id="Go" name="cluster.go.${group}" />'
           '<bpmn:process id="cluster" isExecutable="true"><bpmn:startEvent id="s" />'
           + external("a", "cluster.a")
           + '<bpmn:intermediateCatchEvent id="pause"><bpmn:timerEventDefinition>'
             '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1S</bpmn:timeDuration>'
             '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
             '<bpmn:intermediateCatchEvent id="go"><bpmn:signalEventDefinition signalRef="Go" />'
             '</bpmn:intermediateCatchEvent>'
           + external("b", "cluster.b") + '<bpmn:endEvent id="e" />'
           + chain("s", "a", "pause", "go", "b", "e")
           + "</bpmn:process></bpmn:definitions>").encode()


@pytest.fixture
def cluster_db(tmp_path):
    db, url, cleanup = _fresh_database("postgres", tmp_path)
    yield db, url
    cleanup()


def test_three_nodes_complete_every_instance_through_a_sigkill_and_a_sigterm(
        tmp_path, cluster_db):
    db, url = cluster_db
    log = tmp_path / "handler-runs.jsonl"
    env = mlc_env(url, MLC_HANDLER_MODULES="tests.cluster.handlers",
                  CLUSTER_HANDLER_LOG=str(log))
    mlc(env, tmp_path, "db", "upgrade")
    serve_args = ["--workers", "4", "--threads", "8", "--lease", LEASE, "--grace", "20",
                  "--poll", "0.2", "--log-level", "WARNING"]
    worker_args = ["--concurrency", "4", "--lease", LEASE, "--grace", "20", "--poll", "0.2"]
    nodes = [NodeProcess("serve", "s0", tmp_path, env, serve_args),
             NodeProcess("serve", "s1", tmp_path, env, serve_args),
             NodeProcess("worker", "w0", tmp_path, env, worker_args)]
    stop = threading.Event()
    workers: list[threading.Thread] = []
    try:
        for node in nodes:
            node.wait_ready(db)
        r = requests.post(nodes[0].base + "/api/deployments", timeout=60,
                          files={"file": ("cluster.bpmn", PROCESS, "text/xml")})
        assert r.status_code < 300, r.text
        client = Client(nodes, seed=17)
        started: list[str] = []
        errors: list[str] = []
        workers = [threading.Thread(target=_start_instances, daemon=True,
                                    args=(client, range(k, INSTANCES, STARTERS), started,
                                          errors)) for k in range(STARTERS)]
        workers.append(threading.Thread(target=_send_signals, args=(client, db, stop, errors),
                                        daemon=True))
        for thread in workers:
            thread.start()

        # ---------------------------------------------------------- SIGKILL an API node
        _wait_for(lambda: _runs(log) >= KILL_AT, 180, "handler runs before the kill")
        victim = nodes[1]
        _wait_for(lambda: _held(db, victim.node_id), 30, "the victim to hold a task")
        victim.kill()
        reaping = Stopwatch(lambda: victim.node_id not in _node_ids(db), 60)
        time.sleep(0.5)  # its last commit, if any, is in; nobody else touches its locks now
        held_at_death = set(_held(db, victim.node_id))
        assert held_at_death, "the SIGKILL caught the node holding nothing"
        nodes[1] = NodeProcess("serve", "s1-again", tmp_path, env, serve_args)

        # ---------------------------------------------------------- SIGTERM the worker
        _wait_for(lambda: _runs(log) >= TERM_AT, 180, "handler runs before the SIGTERM")
        stopped = nodes[2]
        code = stopped.terminate(60)
        assert code == 0, stopped.output()
        assert f"node {stopped.node_id} stopped" in stopped.output(), stopped.output()
        assert stopped.node_id not in _node_ids(db)          # deregistered at once
        assert not _held(db, stopped.node_id)                 # holding nothing
        nodes[2] = NodeProcess("worker", "w0-again", tmp_path, env, worker_args)

        # ---------------------------------------------------------- the dead node is reaped
        reaping.join(60)
        assert reaping.seconds is not None, "the dead node was not reaped within 60 s"
        assert reaping.seconds < 30, f"reaped {reaping.seconds:.0f} s after the SIGKILL"
        print(f"the SIGKILLed node was reaped after {reaping.seconds:.1f} s")
        assert not _held(db, victim.node_id)
        for node in nodes[1:]:
            node.wait_ready(db)
        listed = {n["id"]: n for n in requests.get(nodes[0].base + "/api/nodes",
                                                   timeout=30).json()}
        assert set(listed) == {n.node_id for n in nodes}
        assert all(n["alive"] for n in listed.values())

        _wait_for(lambda: _completed(db) == INSTANCES, 240, "every instance to complete",
                  lambda: f"{_completed(db)} completed; {_unfinished(db)}; {errors[:5]}")
    finally:
        stop.set()
        for thread in workers:
            thread.join(30)
        for node in nodes:
            node.close()
    assert not errors, errors[:5]
    assert len(set(started)) == INSTANCES

    _assert_every_instance_ran_its_steps_once(db)
    runs = [json.loads(line) for line in log.read_text().splitlines()]
    _assert_handlers_ran_once_but_where_the_killed_node_held_the_lock(
        runs, victim.node_id, held_at_death)
    # the work was spread: history rows were written by the original three nodes and both
    # newcomers (a restarted process is a new node)
    writers = _history_nodes(db)
    assert {nodes[0].node_id, victim.node_id, stopped.node_id} <= writers, writers
    assert client.sent_to.get("s0") and client.sent_to.get("s1"), client.sent_to


# ------------------------------------------------------------------ load


def _start_instances(client: Client, numbers, started: list[str], errors: list[str]) -> None:
    for i in numbers:
        try:
            r = client.post("/api/process-definitions/cluster/start",
                            {"variables": {"group": i % GROUPS, "n": i},
                             "business_key": f"cluster-{i}"}, key=f"cluster-start-{i}")
            if r.status_code != 201:
                errors.append(f"start {i}: {r.status_code} {r.text[:200]}")
                continue
            started.append(r.json()["id"])
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(f"start {i}: {exc}")


def _send_signals(client: Client, db, stop: threading.Event, errors: list[str]) -> None:
    """Signal every group with an instance waiting for it, again and again: a signal reaches
    only the instances already waiting, as in Camunda."""
    while not stop.is_set():
        try:
            with db.engine.connect() as conn:
                names = conn.execute(text(
                    "SELECT DISTINCT name FROM mlc_event_subscriptions WHERE kind = 'signal'"
                )).scalars().all()
            for name in names:
                r = client.post("/api/signals", {"name": name})
                if r.status_code != 200:
                    errors.append(f"signal {name}: {r.status_code} {r.text[:200]}")
        except Exception as exc:  # noqa: BLE001
            errors.append(f"signals: {exc}")
        stop.wait(0.5)


# ------------------------------------------------------------------ reading the outcome


def _wait_for(condition, seconds: float, what: str, detail=lambda: "") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} ({seconds:.0f} s) {detail()}")
        time.sleep(0.3)


class Stopwatch(threading.Thread):
    """Polls ``condition`` from its creation on, for at most ``limit`` seconds; ``seconds``
    is how long it took to hold (None if it did not), whatever the test does meanwhile."""

    def __init__(self, condition, limit: float) -> None:
        super().__init__(daemon=True)
        self.condition, self.limit = condition, limit
        self.began, self.seconds = time.monotonic(), None
        self.start()

    def run(self) -> None:
        while time.monotonic() - self.began < self.limit:
            if self.condition():
                self.seconds = time.monotonic() - self.began
                return
            time.sleep(0.2)


def _runs(log) -> int:
    return log.read_bytes().count(b"\n") if log.exists() else 0


def _held(db, node_id: str | None) -> list[str]:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT id FROM mlc_external_tasks WHERE state = 'locked' AND "
                                 "lock_owner = :owner"), {"owner": node_id}).scalars().all()


def _node_ids(db) -> set[str]:
    with db.engine.connect() as conn:
        return set(conn.execute(text("SELECT id FROM mlc_nodes")).scalars().all())


def _completed(db) -> int:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM mlc_process_instances WHERE "
                                 "definition_key = 'cluster' AND status = 'completed'")).scalar()


def _unfinished(db) -> str:
    """Where the instances that did not complete wait, and what their tasks look like."""
    with db.engine.connect() as conn:
        waiting = conn.execute(text(
            "SELECT status, CAST(active_activities AS TEXT), count(*) FROM mlc_process_instances "
            "WHERE status <> 'completed' GROUP BY 1, 2")).all()
        tasks = conn.execute(text(
            "SELECT topic, state, lock_owner, count(*) FROM mlc_external_tasks GROUP BY 1, 2, 3"
        )).all()
        subs = conn.execute(text("SELECT kind, count(*), min(due_at) FROM "
                                 "mlc_event_subscriptions GROUP BY kind")).all()
    return f"waiting {waiting}; tasks {tasks}; subscriptions {subs}"


def _assert_every_instance_ran_its_steps_once(db) -> None:
    with db.engine.connect() as conn:
        statuses = dict(conn.execute(text(
            "SELECT status, count(*) FROM mlc_process_instances GROUP BY status")).all())
        keys = conn.execute(text("SELECT count(DISTINCT business_key) FROM "
                                 "mlc_process_instances")).scalar()
        incidents = conn.execute(text("SELECT count(*) FROM mlc_incidents")).scalar()
        left = conn.execute(text("SELECT count(*) FROM mlc_external_tasks")).scalar()
        steps = conn.execute(text(
            "SELECT instance_id, kind, count(*) FROM mlc_history WHERE kind IN "
            "('timer.fired', 'signal.received', 'external_task.completed') "
            "GROUP BY instance_id, kind")).all()
    assert statuses == {"completed": INSTANCES} and keys == INSTANCES, statuses
    assert incidents == 0 and left == 0
    per_instance: dict[str, dict[str, int]] = defaultdict(dict)
    for instance_id, kind, count in steps:
        per_instance[instance_id][kind] = count
    expected = {"timer.fired": 1, "signal.received": 1, "external_task.completed": 2}
    wrong = {i: c for i, c in per_instance.items() if c != expected}
    assert len(per_instance) == INSTANCES and not wrong, list(wrong.items())[:5]


def _assert_handlers_ran_once_but_where_the_killed_node_held_the_lock(
        runs: list[dict], killed: str, held_at_death: set[str]) -> None:
    by_task: dict[str, list[dict]] = defaultdict(list)
    for run in runs:
        by_task[run["task"]].append(run)
    assert len(by_task) == INSTANCES * len(TOPICS), len(by_task)
    again = {task: found for task, found in by_task.items() if len(found) > 1}
    for task, found in again.items():
        assert task in held_at_death, (task, found)  # only what the dead node held ran again
        first, *later = found
        assert first["node"] == killed and all(r["node"] != killed for r in later), found
        assert len(later) == 1, found
        assert len({r["key"] for r in found}) == 1, found  # the same idempotency key
    print(f"handler runs: {len(runs)} for {len(by_task)} tasks; {len(again)} ran again after "
          f"the SIGKILL (the dead node held {len(held_at_death)} locks)")


def _history_nodes(db) -> set[str]:
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT data FROM mlc_history WHERE kind = "
                                 "'external_task.completed'")).scalars().all()
    return {(row if isinstance(row, dict) else json.loads(row)).get("node") for row in rows}
