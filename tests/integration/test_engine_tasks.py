"""External tasks: handlers, retries with backoff, incidents, operator retry, BPMN errors."""

import logging
from datetime import timedelta

import pytest

from engine import BpmnError, ConflictError, NotFoundError, clock
from tests.support.bpmn import bpmn, chain, external, flow

START, END = '<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />'
RETRY = ('<bpmn:extensionElements><camunda:failedJobRetryTimeCycle>R3/PT1M'
         '</camunda:failedJobRetryTimeCycle></bpmn:extensionElements>')


def single_task(harness, extra: str = "") -> None:
    harness.deploy("p.bpmn", bpmn("one", START, external("work", "work", extra), END,
                                  chain("s", "work", "e")))


def test_handler_result_becomes_process_variables_and_sees_idempotency_key(harness):
    single_task(harness)
    seen = []
    harness.handle("work", lambda ctx: seen.append(ctx) or {"answer": 42})
    instance = harness.engine.start("one", {"question": "?"}, business_key="bk-1")
    assert harness.drain() == 1
    done = harness.engine.get_instance(instance.id)
    assert done.status == "completed" and done.variables["answer"] == 42
    ctx = seen[0]
    assert ctx.variables["question"] == "?" and ctx.business_key == "bk-1"
    assert ctx.idempotency_key.startswith(instance.id) and ctx.attempt == 1


def test_failures_back_off_then_open_incident_and_operator_retry_completes(harness):
    single_task(harness, RETRY)
    outcomes = iter([RuntimeError("jira down"), RuntimeError("jira down"),
                     RuntimeError("still down"), None])
    keys = []

    def flaky(ctx):
        keys.append(ctx.idempotency_key)
        error = next(outcomes)
        if error:
            raise error
        return {"ok": True}

    harness.handle("work", flaky)
    instance = harness.engine.start("one")
    assert harness.drain() == 1                      # attempt 1 fails
    assert harness.drain() == 0                      # backoff: not due yet
    clock.advance(timedelta(minutes=1, seconds=1))
    assert harness.drain() == 1                      # attempt 2 fails
    clock.advance(timedelta(minutes=1, seconds=1))
    assert harness.drain() == 1                      # attempt 3 fails -> incident
    state = harness.engine.get_instance(instance.id)
    assert state.status == "incident"
    [incident] = state.incidents
    assert "still down" in incident.message and incident.activity_id == "work"
    assert harness.drain() == 0                      # incidents are not retried by workers
    harness.tasks.retry_incident(incident.id)
    assert harness.drain() == 1
    assert harness.status(instance.id) == "completed"
    assert len(set(keys)) == 1 and len(keys) == 4    # one stable key across every attempt
    kinds = [h.kind for h in harness.engine.history(instance.id)]
    assert kinds.count("external_task.failed") == 3
    assert "incident.opened" in kinds and "incident.resolved" in kinds and "operator.retry" in kinds
    with pytest.raises(ConflictError):
        harness.tasks.retry_incident(incident.id)


def test_bpmn_error_routes_to_boundary_event_with_error_variables(harness):
    harness.deploy("p.bpmn", bpmn(
        "guarded", START, external("work", "work"),
        '<bpmn:boundaryEvent id="missing" attachedToRef="work"><bpmn:errorEventDefinition errorRef="E1" /></bpmn:boundaryEvent>',
        external("ticket", "ticket"), END, '<bpmn:endEvent id="e2" />',
        flow("s", "work"), flow("work", "e"), flow("missing", "ticket"), flow("ticket", "e2"),
        extra='<bpmn:error id="E1" name="Missing data" errorCode="MISSING_TEST_DATA" />'))

    def work(ctx):
        raise BpmnError("MISSING_TEST_DATA", "no TEST_DATA asset", {"REASON": "missing test data"})

    harness.handle("work", work)
    harness.handle("ticket", lambda ctx: {"ticket_reason": ctx.variables["REASON"]})
    instance = harness.engine.start("guarded")
    harness.drain()
    done = harness.engine.get_instance(instance.id)
    assert done.status == "completed"
    assert done.variables["ticket_reason"] == "missing test data"
    assert harness.calls["ticket"] == 1


def test_uncaught_bpmn_error_opens_incident_instead_of_ending_silently(harness):
    single_task(harness)
    harness.handle("work", lambda ctx: (_ for _ in ()).throw(BpmnError("NOPE", "nobody catches")))
    instance = harness.engine.start("one")
    harness.drain()
    state = harness.engine.get_instance(instance.id)
    assert state.status == "incident"
    assert "NOPE" in state.incidents[0].message


def test_handler_timeout_consumes_a_retry(harness):
    import threading

    release = threading.Event()
    single_task(harness, RETRY)
    harness.handle("work", lambda ctx: release.wait(5), timeout=0.2)
    harness.engine.start("one")
    harness.drain()
    release.set()
    [task] = harness.tasks.list()
    assert task.error_message and "timed out" in task.error_message
    assert task.retries == 2


def test_completing_with_wrong_worker_or_unknown_task_is_refused(harness):
    single_task(harness)
    harness.engine.start("one")
    [locked] = harness.tasks.fetch_and_lock("w1", ["work"], 1)
    with pytest.raises(ConflictError):
        harness.tasks.complete(locked.id, "w2", {})
    with pytest.raises(NotFoundError):
        harness.tasks.complete("no-such-task", "w1", {})
    assert harness.tasks.fetch_and_lock("w2", ["work"], 1) == []   # still locked by w1
    harness.tasks.complete(locked.id, "w1", {"x": 1})
    assert harness.tasks.list() == []


def test_expired_lock_lets_another_worker_take_the_task(harness):
    single_task(harness)
    harness.engine.start("one")
    [first] = harness.tasks.fetch_and_lock("w1", {"work": 30}, 1)
    clock.advance(timedelta(seconds=31))
    [second] = harness.tasks.fetch_and_lock("w2", {"work": 30}, 1)
    assert second.id == first.id and second.attempt == 2
    assert second.idempotency_key == first.idempotency_key
    with pytest.raises(ConflictError):
        harness.tasks.complete(first.id, "w1", {})
    harness.tasks.complete(second.id, "w2", {})


def test_a_completion_trusting_its_lost_claim_is_refused_and_changes_nothing(harness):
    """The worker's fast path trusts the claim it holds and checks the lock with the write:
    a lock taken over meanwhile is found there and answered as the careful path does."""
    single_task(harness)
    instance = harness.engine.start("one")
    [first] = harness.tasks.fetch_and_lock("w1", {"work": 30}, 1)
    clock.advance(timedelta(seconds=31))
    [second] = harness.tasks.fetch_and_lock("w2", {"work": 30}, 1)
    with pytest.raises(ConflictError, match="locked by another worker"):
        harness.tasks.complete(first.id, "w1", {"late": True}, held=first)
    assert harness.status(instance.id) == "waiting"
    assert "late" not in harness.engine.get_instance(instance.id).variables
    harness.tasks.complete(second.id, "w2", {"x": 1}, held=second)
    assert harness.status(instance.id) == "completed"
    with pytest.raises(NotFoundError):
        harness.tasks.complete(second.id, "w2", {}, held=second)   # done already


def test_output_mapping_writes_only_mapped_variables(harness):
    extra = ('<bpmn:extensionElements><camunda:inputOutput>'
             '<camunda:inputParameter name="local_in">${seed}</camunda:inputParameter>'
             '<camunda:outputParameter name="score">${raw * 2}</camunda:outputParameter>'
             '</camunda:inputOutput></bpmn:extensionElements>')
    single_task(harness, extra)
    harness.handle("work", lambda ctx: {"raw": ctx.variables["local_in"] + 1, "noise": 1})
    instance = harness.engine.start("one", {"seed": 20})
    harness.drain()
    variables = harness.engine.get_instance(instance.id).variables
    assert variables == {"seed": 20, "score": 42}


def test_a_task_without_a_handler_is_handed_back_without_using_a_retry(harness, caplog):
    """A worker fetches only the topics it has handlers for; one it holds anyway (claimed by
    someone else under its id, or a registry that changed) is unlocked and logged, not failed:
    nothing was tried, so no retry and no attempt is spent and any worker may take it now."""
    single_task(harness, RETRY)
    instance = harness.engine.start("one")
    [task] = harness.tasks.fetch_and_lock("test-worker", ["work"], 1)
    with caplog.at_level(logging.WARNING, logger="mlc.worker"):
        harness.worker.execute(task)
    assert "no handler for topic 'work'" in caplog.text
    [back] = harness.tasks.list()
    assert back.worker_id == "" and back.retries is None and back.error_message is None
    assert "external_task.failed" not in [h.kind for h in harness.engine.history(instance.id)]
    attempts = []
    harness.handle("work", lambda ctx: attempts.append(ctx.attempt) or {})
    assert harness.drain() == 1 and attempts == [1]
    assert harness.status(instance.id) == "completed"
