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
    assert a.signal("go")["resumed"] == [instance["id"]]
    assert a.get_instance(instance["id"])["status"] == "completed"


def test_a_task_another_process_created_completes_here(two_processes):
    a, b = two_processes
    instance = a.start("two_tasks")         # A's cache: waiting on task a
    on_b = ExternalTaskService(b)
    (first,) = on_b.fetch_and_lock("worker-b", ["one"])
    on_b.complete(first.id, "worker-b")     # B creates task b
    on_a = ExternalTaskService(a)
    (second,) = on_a.fetch_and_lock("worker-a", ["two"])
    on_a.complete(second.id, "worker-a")
    assert a.get_instance(instance["id"])["status"] == "completed"


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
            handle = uow.instance(instance["id"])    # A has read the waiting version...
            assert b.fire_due_timers() == 1          # ...B fires the timer and commits...
            runner = uow.runner(handle)
            assert runner.fire_timer(_timer_ref(handle), "pause")
            uow.absorb(handle, runner)
            with pytest.raises(StaleInstance):       # ...A's same step is a lost race
                uow.flush()
    assert a.fire_due_timers() == 0
    assert a.signal("go")["resumed"] == [instance["id"]]


def _timer_ref(handle) -> str:
    (token,) = [t for t in handle.state.tokens.values() if t.data.get("subs")]
    return f"t{token.id}"
