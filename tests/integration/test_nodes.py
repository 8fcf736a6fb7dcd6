"""Nodes sharing one database: registration, leases renewed by heartbeats, a silent node's
locks released by the living, graceful drain, topic placement, and the nodes views."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from click.testing import CliRunner

from engine import ConfigurationError, HandlerRegistry, Worker, clock
from engine.db import Database
from engine.nodes import NodeRegistry, list_nodes
from mlc.cli import main
from tests.support.api import api_app, client  # noqa: F401
from tests.support.bpmn import bpmn, chain, external

START, END = '<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />'
ONE_TASK = bpmn("leased", START, external("t", "work"), END, chain("s", "t", "e"))


def task_row(harness, instance_id: str) -> dict:
    (task,) = [t for t in harness.tasks.list() if t.instance_id == instance_id]
    return {"id": task.id, "owner": task.worker_id, "expires": task.lock_expires_at}


def test_a_node_registers_beats_and_deregisters(database):
    node = NodeRegistry(database, "worker", ["b", "a"], heartbeat=3600)
    node.start()
    try:
        (row,) = list_nodes(database)
        assert row["id"] == node.id and row["kind"] == "worker" and row["alive"]
        assert row["topics"] == ["a", "b"] and row["holds"] == {"external_tasks": 0, "jobs": 0}
    finally:
        node.stop()
    assert list_nodes(database) == []


def test_heartbeats_renew_the_leases_of_the_tasks_a_nodes_handlers_run(harness, database):
    harness.deploy("p.bpmn", ONE_TASK)
    instance = harness.engine.start("leased")
    node = NodeRegistry(database, "worker", ["work"], heartbeat=3600, lease=30)
    node.start()
    with running_worker(harness, node) as started:
        assert started.wait(30)
        before = task_row(harness, instance.id)["expires"]
        clock.advance(timedelta(seconds=20))
        assert node.beat() == {"renewed": 1, "released": 0}
        after = task_row(harness, instance.id)["expires"]
        assert after >= before + timedelta(seconds=19)
        assert list_nodes(database)[0]["holds"]["external_tasks"] == 1
    assert harness.status(instance.id) == "completed"


def test_a_lock_no_handler_of_the_node_works_on_expires_although_the_node_lives(
        harness, database):
    """A result the node could not report leaves the task locked by a live node: renewing
    that lock at every beat would hold the task for as long as the node lives."""
    harness.deploy("p.bpmn", ONE_TASK)
    instance = harness.engine.start("leased")
    node = NodeRegistry(database, "worker", ["work"], heartbeat=5, lease=30)
    node.start()
    try:
        Worker(harness.engine, HandlerRegistry(), node=node)  # tracks nothing running
        assert harness.tasks.fetch_and_lock(node.id, {"work": node.lease}, max_tasks=1)
        clock.advance(timedelta(seconds=20))
        assert node.beat() == {"renewed": 0, "released": 0}
        clock.advance(timedelta(seconds=11))
        harness.handle("work")
        assert harness.drain() == 1                     # another worker takes it
        assert harness.status(instance.id) == "completed"
    finally:
        node.stop()


@contextmanager
def running_worker(harness, node, concurrency: int = 1):
    """A worker of ``node`` running in a thread whose ``work`` handler blocks until the
    block ends; yields the event its first handler run sets."""
    release, started = threading.Event(), threading.Event()

    def slow(ctx):
        started.set()
        release.wait(30)
        return {}

    handlers = HandlerRegistry()
    handlers.register("work", slow)
    worker = Worker(harness.engine, handlers, node=node, concurrency=concurrency)
    stop = threading.Event()
    runner = threading.Thread(target=worker.run, args=(stop, 0.05))
    runner.start()
    try:
        yield started
    finally:
        release.set()
        stop.set()
        runner.join(30)
        worker.drain(30)  # as mlc worker stops: running handlers finish and report
        worker.close()
        node.stop()


def test_a_batch_hands_the_embedded_worker_no_more_than_it_has_room_for(harness, database):
    """One signal resuming ten instances creates ten tasks in one transaction: the worker
    (room for two) gets two, the other eight are left for any node to claim."""
    harness.deploy("w.bpmn", bpmn(
        "waits", START, '<bpmn:intermediateCatchEvent id="go"><bpmn:signalEventDefinition '
        'signalRef="Go" /></bpmn:intermediateCatchEvent>', external("t", "work"), END,
        chain("s", "go", "t", "e"), extra='<bpmn:signal id="Go" name="go" />'))
    for _ in range(10):
        harness.engine.start("waits")
    node = NodeRegistry(database, "worker", ["work"], heartbeat=3600)
    node.start()
    with running_worker(harness, node) as started:
        assert len(harness.engine.signal("go").resumed) == 10
        assert started.wait(30)
        owners = [t.worker_id for t in harness.tasks.list()]
        assert sorted(owners) == [""] * 8 + [node.id] * 2, owners


def test_room_a_transaction_reserved_is_not_claimed_by_a_poll_before_the_hand_over(
        harness, database):
    """The batch's new tasks are locked for the embedded worker before its commit and handed
    over after it; a poll in between must see that room as taken (it claimed two more from
    the table once, under load), and a rolled-back batch gives the room back."""
    harness.deploy("p.bpmn", ONE_TASK)
    for _ in range(4):
        harness.engine.start("leased")
    handlers = HandlerRegistry()
    handlers.register("work", lambda ctx: {})
    worker = Worker(harness.engine, handlers, concurrency=1)    # room for two
    try:
        assert worker._reserve(5) == 2 and worker._reserve(1) == 0
        assert worker._pass(0) == 0                               # the poll finds no room
        assert all(t.worker_id in ("", None) for t in harness.tasks.list())
        worker._release(2)                                        # the batch rolled back
        assert worker._pass(0) == 2
    finally:
        # the two dispatched handlers report before the test's schema is dropped (a report
        # still writing then deadlocked the DROP SCHEMA on PostgreSQL)
        assert worker.drain(30) == []
        worker.close()


def test_a_silent_nodes_locks_are_released_by_a_living_node(harness, database):
    harness.deploy("p.bpmn", ONE_TASK)
    instance = harness.engine.start("leased")
    dead = NodeRegistry(database, "worker", ["work"], heartbeat=5, lease=3600)
    dead.start()
    dead._stop.set()  # it stops beating without deregistering (as if SIGKILLed)
    harness.tasks.fetch_and_lock(f"{dead.id}/thread-1", {"work": 3600}, max_tasks=1)
    living = NodeRegistry(database, "worker", ["work"], heartbeat=5, lease=30)
    living.start()
    try:
        clock.advance(timedelta(seconds=6))
        assert living.beat()["released"] == 0          # one missed beat is not death
        clock.advance(timedelta(seconds=10))
        living.beat()                                    # three missed: reaped
        assert [n["id"] for n in list_nodes(database)] == [living.id]
        assert not task_row(harness, instance.id)["owner"]
        harness.handle("work")
        assert harness.drain() == 1
        assert harness.status(instance.id) == "completed"
    finally:
        living.stop()


def test_a_reaped_node_that_beats_again_registers_again(database):
    node = NodeRegistry(database, "serve", heartbeat=5)
    node.start()
    node._stop.set()
    other = NodeRegistry(database, "worker", heartbeat=5)
    other.start()
    try:
        clock.advance(timedelta(seconds=30))
        other.beat()
        assert [n["id"] for n in list_nodes(database)] == [other.id]
        node.beat()  # it was only paused
        assert {n["id"] for n in list_nodes(database)} == {node.id, other.id}
    finally:
        node.stop()
        other.stop()


def test_drain_releases_what_is_still_running_after_the_grace(harness, database):
    harness.deploy("p.bpmn", ONE_TASK)
    instance = harness.engine.start("leased")
    release = threading.Event()
    started = threading.Event()

    def slow(ctx):
        started.set()
        release.wait(30)
        return {"late": True}

    handlers = HandlerRegistry()
    handlers.register("work", slow)
    node = NodeRegistry(database, "worker", ["work"], heartbeat=3600)
    node.start()
    worker = Worker(harness.engine, handlers, node=node, concurrency=2)
    stop = threading.Event()
    runner = threading.Thread(target=worker.run, args=(stop, 0.05))
    runner.start()
    try:
        assert started.wait(30)
        stop.set()
        runner.join(30)
        released = worker.drain(0.2)
        assert len(released) == 1
        assert not task_row(harness, instance.id)["owner"]
    finally:
        release.set()
        worker.close()
        node.stop()
    assert harness.status(instance.id) == "waiting"   # the late result was dropped
    harness.handle("work")
    harness.drain()
    assert harness.status(instance.id) == "completed"


def test_topic_placement_takes_a_subset_and_refuses_unknown_topics():
    handlers = HandlerRegistry()
    for topic in ("a", "b", "c"):
        handlers.register(topic, lambda ctx: None)
    assert handlers.subset(["a", "c"]).topics() == ["a", "c"]
    assert handlers.subset(None, ["b"]).topics() == ["a", "c"]
    with pytest.raises(ConfigurationError, match="no handler for topic"):
        handlers.subset(["a", "nope"])
    with pytest.raises(ConfigurationError, match="nope"):
        handlers.subset(None, ["nope"])


def test_api_nodes_and_metrics_show_the_node(api_app, client, database):  # noqa: F811
    node = NodeRegistry(database, "serve", ["notify.send"], heartbeat=3600)
    node.start()
    api_app.extensions["mlc_node"] = {"id": node.id, "kind": "serve"}
    try:
        r = client.get("/api/nodes")
        assert r.status_code == 200
        (row,) = r.json
        assert row["id"] == node.id and row["topics"] == ["notify.send"] and row["alive"]
        text = client.get("/metrics").get_data(as_text=True)
        assert f'mlc_node_info{{node="{node.id}",kind="serve"}} 1' in text
        assert 'mlc_nodes{kind="serve"} 1' in text
    finally:
        node.stop()


def test_cli_nodes_lists_live_nodes_and_worker_refuses_an_unknown_topic(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("MLC_DATABASE_URL", url)
    out = CliRunner().invoke(main, ["nodes"])  # migrates the new database
    assert out.exit_code == 0 and "no live nodes" in out.output, out.output
    db = Database(url)
    node = NodeRegistry(db, "worker", ["a"], heartbeat=3600)
    node.start()
    try:
        out = CliRunner().invoke(main, ["nodes"])
        assert out.exit_code == 0, out.output
        assert node.id in out.output and "alive" in out.output
        out = CliRunner().invoke(main, ["nodes", "--json"])
        assert json.loads(out.output)[0]["topics"] == ["a"]
    finally:
        node.stop()
        db.dispose()
    out = CliRunner().invoke(main, ["worker", "--once", "--topics", "no.such.topic"])
    assert out.exit_code != 0 and "no handler for topic(s) no.such.topic" in out.output


def test_handler_modules_add_their_topics_to_a_node():
    """``MLC_HANDLER_MODULES`` (the cluster test's handlers here) registers a team's topics."""
    from mlc.wiring import load_handler_modules

    handlers = HandlerRegistry()
    load_handler_modules(handlers, ["tests.cluster.handlers"])
    assert {"cluster.a", "cluster.b"} <= set(handlers.topics())


@pytest.mark.parametrize("module, reason", [
    ("no_such_package.handlers", "cannot import no_such_package.handlers: No module named "
                                 "'no_such_package'"),
    ("json", "json has no register_handlers(handlers) function")])
def test_a_handler_module_that_cannot_register_stops_the_node_with_a_reason(
        tmp_path, module, reason):
    result = CliRunner().invoke(main, ["worker", "--once"], env={
        "MLC_DATABASE_URL": f"sqlite:///{tmp_path / 'mlc.db'}", "MLC_HANDLER_MODULES": module})
    assert result.exit_code == 1
    assert result.output.strip() == f"error: MLC_HANDLER_MODULES: {reason}", result.output
