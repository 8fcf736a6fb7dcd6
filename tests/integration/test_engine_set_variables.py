"""``Engine.set_variables``: an operator's audited edit of a live instance's variables."""

from datetime import timedelta

import pytest

from engine import ConflictError, NotFoundError, ValidationError, clock
from tests.support.bpmn import bpmn, chain, external

START, END = '<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />'
INPUT = ('<bpmn:extensionElements><camunda:inputOutput>'
         '<camunda:inputParameter name="url">${endpoint}/api</camunda:inputParameter>'
         '</camunda:inputOutput><camunda:failedJobRetryTimeCycle>R1/PT1M'
         '</camunda:failedJobRetryTimeCycle></bpmn:extensionElements>')


@pytest.fixture
def process(harness):
    harness.deploy("p.bpmn", bpmn("edit", START, external("call", "call", INPUT), END,
                                  chain("s", "call", "e")))
    return harness


def test_edit_is_exposed_audited_and_reaches_a_retried_incident(process):
    harness = process
    seen = []

    def call(ctx):
        seen.append((ctx.variables["url"], ctx.variables["endpoint"]))
        if "bad" in ctx.variables["endpoint"]:
            raise RuntimeError("unreachable " + ctx.variables["endpoint"])
        return {"done": True}

    harness.handle("call", call)
    instance = harness.engine.start("edit", {"endpoint": "http://bad", "retries": 1})
    harness.drain()
    assert harness.status(instance.id) == "incident"

    after = harness.engine.set_variables(instance.id, {"endpoint": "http://good",
                                                          "note": {"by": "ops"}},
                                         reason="fix the endpoint")
    assert after.variables["endpoint"] == "http://good"
    assert after.variables["note"] == {"by": "ops"} and after.variables["retries"] == 1
    assert after.status == "incident"  # still needs its retry
    history = harness.engine.history(instance.id)
    changed = {h.name: h.data for h in history if h.kind == "variable.changed"
               and h.name in ("endpoint", "note")}
    assert changed["endpoint"]["old"] == "http://bad" and changed["endpoint"]["new"] == "http://good"
    assert changed["note"]["created"] is True
    [audit] = [h for h in history if h.kind == "operator.set_variables"]
    assert audit.data == {"names": ["endpoint", "note"], "reason": "fix the endpoint"}

    [incident] = after.incidents
    harness.tasks.retry_incident(incident.id)
    harness.drain()
    # the retry sees the edited process variable; an input parameter keeps the value it got
    # when the activity started, as in Camunda (input mappings run once, on entry)
    assert seen == [("http://bad/api", "http://bad"), ("http://bad/api", "http://good")]
    assert harness.status(instance.id) == "completed"


def test_refused_edits_change_nothing(process):
    harness = process
    harness.handle("call", lambda ctx: {"done": True})
    instance = harness.engine.start("edit", {"endpoint": "x"})
    with pytest.raises(ValidationError):
        harness.engine.set_variables(instance.id, {})
    with pytest.raises(ValidationError):
        harness.engine.set_variables(instance.id, {"": 1})
    with pytest.raises(NotFoundError):
        harness.engine.set_variables("no-such-instance", {"a": 1})
    assert not [h for h in harness.engine.history(instance.id)
                if h.kind == "operator.set_variables"]
    harness.drain()
    with pytest.raises(ConflictError):
        harness.engine.set_variables(instance.id, {"endpoint": "y"})
    assert harness.engine.get_instance(instance.id).variables["endpoint"] == "x"


def test_a_locked_task_keeps_what_its_worker_fetched(process):
    harness = process
    instance = harness.engine.start("edit", {"endpoint": "http://one"})
    [locked] = harness.tasks.fetch_and_lock("w", {"call": 60.0}, max_tasks=1)
    harness.engine.set_variables(instance.id, {"endpoint": "http://two"})
    assert harness.tasks.get(locked.id).variables["url"] == "http://one/api"
    clock.advance(timedelta(seconds=1))
    harness.tasks.complete(locked.id, "w", {"done": True})
    done = harness.engine.get_instance(instance.id)
    assert done.status == "completed" and done.variables["endpoint"] == "http://two"
