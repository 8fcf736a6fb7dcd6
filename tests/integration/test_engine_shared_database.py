"""Several processes on one database: each keeps its own cache of live instances, and
another process may have moved an instance on since. Two ``Engine`` objects over one
database stand for two processes here (each has its own cache and writer).

Found by the cluster test (tests/cluster): a node whose cache still showed an instance
waiting on its timer ignored the signal the instance waited for since another node fired the
timer (the signal was lost), and refused to complete a task another node had created
("no longer waits"), leaving it locked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import Engine, ExternalTaskService, clock
from engine.unit_of_work import StaleInstance, UnitOfWork
from tests.support.bpmn import bpmn, chain, external

START, END = '<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />'
TIMER_THEN_SIGNAL = bpmn(
    "pause_go", START,
    '<bpmn:intermediateCatchEvent id="pause"><bpmn:timerEventDefinition>'
    '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1S</bpmn:timeDuration>'
    '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
    '<bpmn:intermediateCatchEvent id="go"><bpmn:signalEventDefinition signalRef="Go" />'
    '</bpmn:intermediateCatchEvent>', END, chain("s", "pause", "go", "e"),
    extra='<bpmn:signal id="Go" name="go" />')
TWO_TASKS = bpmn("two_tasks", START, external("a", "one"), external("b", "two"), END,
                 chain("s", "a", "b", "e"))


@pytest.fixture
def two_processes(harness, database):
    """(engine of process A, engine of process B) over one database."""
    harness.deploy("p.bpmn", TIMER_THEN_SIGNAL)
    harness.deploy("t.bpmn", TWO_TASKS)
    return harness.engine, Engine(database)


def test_a_signal_reaches_an_instance_whose_timer_another_process_fired(two_processes):
    a, b = two_processes
    instance = a.start("pause_go")          # A's cache: waiting on the timer
    clock.advance(timedelta(seconds=2))
    assert b.fire_due_timers() == 1         # B moves it on to the signal catch
    assert a.signal("go").resumed == [instance.id]
    assert a.get_instance(instance.id).status == "completed"


def test_a_task_another_process_created_completes_here(two_processes):
    a, b = two_processes
    instance = a.start("two_tasks")         # A's cache: waiting on task a
    on_b = ExternalTaskService(b)
    (first,) = on_b.fetch_and_lock("worker-b", ["one"])
    on_b.complete(first.id, "worker-b")     # B creates task b
    on_a = ExternalTaskService(a)
    (second,) = on_a.fetch_and_lock("worker-a", ["two"])
    on_a.complete(second.id, "worker-a")
    assert a.get_instance(instance.id).status == "completed"


def test_a_write_that_collides_with_the_same_step_stored_first_is_a_lost_race(
        two_processes, database):
    """Both processes loaded the same version and took the same step (two schedulers firing
    one timer): the second one's rows collide with the first's. That is a lost optimistic
    race (retried, then nothing left to do), not a database error."""
    if database.dialect != "postgresql":
        pytest.skip("needs two open write transactions at once (PostgreSQL)")
    a, b = two_processes
    instance = a.start("pause_go")
    clock.advance(timedelta(seconds=2))
    with database.engine.connect() as conn:
        with conn.begin():
            uow = UnitOfWork(conn, a.services)
            handle = uow.instance(instance.id)    # A has read the waiting version...
            assert b.fire_due_timers() == 1          # ...B fires the timer and commits...
            runner = uow.runner(handle)
            assert runner.fire_timer(_timer_ref(handle), "pause")
            uow.absorb(handle, runner)
            with pytest.raises(StaleInstance):       # ...A's same step is a lost race
                uow.flush()
    assert a.fire_due_timers() == 0
    assert a.signal("go").resumed == [instance.id]


def _timer_ref(handle) -> str:
    (token,) = [t for t in handle.state.tokens.values() if t.data.get("subs")]
    return f"t{token.id}"


def test_a_start_after_another_process_deployed_a_new_version_runs_the_new_version(
        two_processes):
    """A process caches the latest definition of a key; a version another process deployed
    since is found by the checked INSERT of the instance, and the start runs again on it."""
    a, b = two_processes
    assert a.start("two_tasks").definition_id.startswith("two_tasks:1:")
    newer = TWO_TASKS.replace(b"</bpmn:definitions>", b"<!-- v2 --></bpmn:definitions>")
    b.deploy([("t.bpmn", newer)])
    started = a.start("two_tasks")
    assert started.definition_id.startswith("two_tasks:2:")
    assert a.get_instance(started.id).definition_id == started.definition_id


def test_one_batch_sends_its_commands_writes_together(harness, monkeypatch):
    """Commands queued while the writer is busy run as one batch, and their writes reach the
    database in one send (on PostgreSQL one pipeline round trip), not one per command."""
    harness.deploy("t.bpmn", TWO_TASKS)
    engine = harness.engine
    sends = _count_sends(monkeypatch)
    ids = _in_one_batch(engine, [lambda: engine.start("two_tasks") for _ in range(3)])
    assert sends["count"] == 1
    assert {engine.get_instance(i.id).status for i in ids} == {"waiting"}
    assert {t.instance_id for t in harness.tasks.list(topic="one")} == {i.id for i in ids}


def test_a_batch_whose_writes_fail_together_runs_each_command_again_alone(
        two_processes, monkeypatch):
    """Process B moved an instance on behind A's cache, then A completes its task in a batch
    with two starts: the batch's collected writes fail their version check (nobody can tell
    whose), so every command runs again in its own savepoint; the stale one then runs on the
    stored state. Everyone gets the answer they would have got alone."""
    a, b = two_processes
    instance = a.start("two_tasks")                     # A's cache: version 1
    b.set_variables(instance.id, {"note": "from B"})  # stored: version 2
    tasks = ExternalTaskService(a)
    (task,) = tasks.fetch_and_lock("worker-a", ["one"])
    sends = _count_sends(monkeypatch)
    answers = _in_one_batch(a, [lambda: tasks.complete(task.id, "worker-a", {"x": 1}),
                                lambda: a.start("two_tasks"), lambda: a.start("two_tasks")])
    assert answers[0] is None and all(s.status == "waiting" for s in answers[1:])
    assert sends["count"] == 4  # the batch's send that failed, then one per command
    stored = a.get_instance(instance.id)
    assert stored.variables == {"note": "from B", "x": 1}
    assert stored.active_activities == ["b"]


def _count_sends(monkeypatch) -> dict[str, int]:
    from engine import hotpath

    sends = {"count": 0}
    original = hotpath.Writes.send

    def counted(self, conn):
        if not self.empty:
            sends["count"] += 1
        return original(self, conn)

    monkeypatch.setattr(hotpath.Writes, "send", counted)
    return sends


def _in_one_batch(engine, calls) -> list:
    """Run ``calls`` on threads while the writer is busy with a command that waits, so that
    they queue and the next leader takes them as one batch; their answers, in order."""
    import threading
    import time

    release, running = threading.Event(), threading.Event()

    def blocker(uow):
        running.set()
        release.wait(10)

    holder = threading.Thread(target=engine.writer.run, args=(blocker,))
    holder.start()
    assert running.wait(10)
    answers: list = [None] * len(calls)
    threads = [threading.Thread(target=lambda i=i, call=call: answers.__setitem__(i, call()))
               for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while len(engine.writer._queue) < len(calls) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(engine.writer._queue) == len(calls)
    release.set()
    for thread in threads + [holder]:
        thread.join(10)
    return answers
