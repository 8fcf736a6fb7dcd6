"""Coverage of Camunda 7's gateways, implicit splits and merges, one variable scope, and ids
(docs/bpmn-coverage.md, "Gateways and flows", "Variables", "Ids"): each test is one row."""

from __future__ import annotations

import pytest

from engine import ExecutionError
from tests.support.bpmn import bpmn, chain, external, flow

START, END = '<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />'


def out(tid: str, name: str, expr: str) -> str:
    return (f'<bpmn:task id="{tid}"><bpmn:extensionElements><camunda:inputOutput>'
            f'<camunda:outputParameter name="{name}">{expr}</camunda:outputParameter>'
            '</camunda:inputOutput></bpmn:extensionElements></bpmn:task>')


def completed(harness, instance_id: str) -> list[str]:
    return [h.activity_id for h in harness.engine.history(instance_id)
            if h.kind == "activity.completed"]


# ------------------------------------------------------------------ gateways and flows


def test_inclusive_gateway_takes_every_true_flow_and_joins_only_those(harness):
    harness.deploy("p.bpmn", bpmn(
        "incl", START, '<bpmn:inclusiveGateway id="split" default="f_none" />',
        external("a", "a"), external("b", "b"), out("c", "c", "${true}"),
        '<bpmn:inclusiveGateway id="join" />', END,
        flow("s", "split"), flow("split", "a", "${x > 1}"), flow("split", "b", "${x > 5}"),
        flow("split", "c", fid="f_none"),
        flow("a", "join"), flow("b", "join"), flow("c", "join"), flow("join", "e")))
    one = harness.engine.start("incl", {"x": 3})
    assert sorted(one.active_activities) == ["a"]
    two = harness.engine.start("incl", {"x": 9})
    assert sorted(two.active_activities) == ["a", "b"]
    none = harness.engine.start("incl", {"x": 0})
    assert none.status == "completed" and none.variables["c"] is True
    harness.handle("a", lambda ctx: None)
    harness.handle("b", lambda ctx: None)
    harness.drain()
    assert harness.status(one.id) == "completed"
    assert harness.status(two.id) == "completed"
    assert completed(harness, two.id).count("join") == 1  # one token leaves the join


def test_inclusive_join_fires_when_a_branch_ends_elsewhere(harness):
    harness.deploy("p.bpmn", bpmn(
        "incl2", START, '<bpmn:inclusiveGateway id="split" />', external("a", "a"),
        external("b", "b"), '<bpmn:exclusiveGateway id="which" default="to_join" />',
        '<bpmn:inclusiveGateway id="join" />', END, '<bpmn:endEvent id="elsewhere" />',
        flow("s", "split"), flow("split", "a", "${true}"), flow("split", "b", "${true}"),
        flow("a", "join"), flow("b", "which"), flow("which", "elsewhere", "${skip}"),
        flow("which", "join", fid="to_join"), flow("join", "e")))
    instance = harness.engine.start("incl2", {"skip": True})
    harness.handle("a", lambda ctx: None)
    harness.handle("b", lambda ctx: None)
    harness.drain()
    assert harness.status(instance.id) == "completed"


def test_exclusive_gateway_takes_the_first_flow_without_a_condition(harness):
    harness.deploy("p.bpmn", bpmn(
        "nocond", START, '<bpmn:exclusiveGateway id="g" />', out("first", "taken", "first"),
        out("second", "taken", "second"), END, '<bpmn:endEvent id="e2" />',
        flow("s", "g"), flow("g", "first", "${false}"), flow("g", "second"),
        chain("first", "e"), chain("second", "e2")))
    assert harness.engine.start("nocond").variables["taken"] == "second"


def test_gateway_with_no_flow_to_take_fails_the_command_and_stores_nothing(harness):
    harness.deploy("p.bpmn", bpmn(
        "stuck", START, '<bpmn:exclusiveGateway id="g" />', END,
        flow("s", "g"), flow("g", "e", "${false}")))
    with pytest.raises(ExecutionError, match="no outgoing sequence flow of 'g'"):
        harness.engine.start("stuck")
    assert harness.engine.list_instances() == []


def test_implicit_parallel_split_from_a_task(harness):
    harness.deploy("p.bpmn", bpmn(
        "implicit", START, out("t", "t", "${1}"), external("a", "a"), external("b", "b"),
        END, '<bpmn:endEvent id="e2" />', flow("s", "t"), flow("t", "a"), flow("t", "b"),
        flow("a", "e"), flow("b", "e2")))
    instance = harness.engine.start("implicit")
    assert sorted(instance.active_activities) == ["a", "b"]


def test_conditional_and_default_flows_leaving_a_task(harness):
    harness.deploy("p.bpmn", bpmn(
        "condtask", START, '<bpmn:task id="t" default="f_default" />',
        out("big", "size", "big"), out("small", "size", "small"), out("other", "size", "other"),
        END, '<bpmn:endEvent id="e2" /><bpmn:endEvent id="e3" />', flow("s", "t"),
        flow("t", "big", "${n > 10}"), flow("t", "small", "${n < 5}"),
        flow("t", "other", fid="f_default"), flow("big", "e"), flow("small", "e2"),
        flow("other", "e3")))
    assert harness.engine.start("condtask", {"n": 20}).variables["size"] == "big"
    assert harness.engine.start("condtask", {"n": 2}).variables["size"] == "small"
    assert harness.engine.start("condtask", {"n": 7}).variables["size"] == "other"


def test_implicit_merge_runs_the_task_once_per_arriving_token(harness):
    harness.deploy("p.bpmn", bpmn(
        "merge", START, '<bpmn:parallelGateway id="fork" />', external("twice", "twice"), END,
        flow("s", "fork"), flow("fork", "twice", fid="f1"), flow("fork", "twice", fid="f2"),
        flow("twice", "e")))
    harness.handle("twice", lambda ctx: None)
    instance = harness.engine.start("merge")
    assert len(harness.tasks.list()) == 2
    assert harness.drain() == 2
    assert harness.status(instance.id) == "completed"
    assert completed(harness, instance.id).count("e") == 2


def test_parallel_join_counts_tokens_not_flows(harness):
    harness.deploy("p.bpmn", bpmn(
        "count", START, '<bpmn:parallelGateway id="fork" />', '<bpmn:parallelGateway id="join" />',
        out("after", "joined", "${true}"), END, flow("s", "fork"),
        flow("fork", "join", fid="f1"), flow("fork", "join", fid="f2"), chain("join", "after", "e")))
    done = harness.engine.start("count")
    assert done.status == "completed" and completed(harness, done.id).count("after") == 1


# ------------------------------------------------------------------ one variable scope


def test_a_branch_sees_what_another_branch_wrote_before_the_join(harness):
    harness.deploy("p.bpmn", bpmn(
        "shared", START, '<bpmn:parallelGateway id="fork" />', external("writer", "write"),
        external("reader", "read"), '<bpmn:parallelGateway id="join" />', END,
        flow("s", "fork"), flow("fork", "writer"), flow("fork", "reader"), flow("writer", "join"),
        flow("reader", "join"), flow("join", "e")))
    instance = harness.engine.start("shared")
    [writer] = harness.tasks.fetch_and_lock("w", ["write"])
    harness.tasks.complete(writer.id, "w", {"verdict": "approved"})
    # the instance and the other branch's task see the write at once, as in Camunda
    assert harness.engine.get_instance(instance.id).variables["verdict"] == "approved"
    [reader] = harness.tasks.fetch_and_lock("w", ["read"])
    assert reader.variables["verdict"] == "approved"


def test_message_correlation_sees_a_variable_another_branch_set(harness):
    harness.deploy("p.bpmn", bpmn(
        "corr", START, '<bpmn:parallelGateway id="fork" />', external("setter", "set"),
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="M" />'
        '</bpmn:intermediateCatchEvent>', END, '<bpmn:endEvent id="e2" />',
        flow("s", "fork"), flow("fork", "setter"), flow("fork", "wait"), flow("setter", "e"),
        flow("wait", "e2"), extra='<bpmn:message id="M" name="ready" />'))
    instance = harness.engine.start("corr")
    [task] = harness.tasks.fetch_and_lock("w", ["set"])
    harness.tasks.complete(task.id, "w", {"order": "A-17"})
    assert harness.engine.correlate_message("ready", correlation={"order": "A-17"}) == [
        instance.id]
    assert harness.status(instance.id) == "completed"


def test_input_mapping_makes_local_variables_and_outputs_write_back(harness):
    io = ('<bpmn:extensionElements><camunda:inputOutput>'
          '<camunda:inputParameter name="items"><camunda:list><camunda:value>${a}</camunda:value>'
          '<camunda:value>two</camunda:value></camunda:list></camunda:inputParameter>'
          '<camunda:inputParameter name="cfg"><camunda:map><camunda:entry key="k">${a + 1}'
          '</camunda:entry></camunda:map></camunda:inputParameter>'
          '<camunda:outputParameter name="summary">${items.size()}/${cfg.k}</camunda:outputParameter>'
          '</camunda:inputOutput></bpmn:extensionElements>')
    harness.deploy("p.bpmn", bpmn("io", START, external("t", "io", io), END, chain("s", "t", "e")))
    harness.handle("io", lambda ctx: {"seen": [ctx.variables["items"], ctx.variables["cfg"]]})
    instance = harness.engine.start("io", {"a": 1})
    harness.drain()
    done = harness.engine.get_instance(instance.id)
    assert done.variables == {"a": 1, "summary": "2/2"}  # inputs and results stay local


def test_embedded_sub_process_writes_reach_the_process_scope(harness):
    sub = ('<bpmn:subProcess id="sub"><bpmn:startEvent id="ss" />' + out("inner", "deep", "${1}")
           + '<bpmn:endEvent id="se" />' + chain("ss", "inner", "se") + '</bpmn:subProcess>')
    harness.deploy("p.bpmn", bpmn("subvars", START, sub, END, chain("s", "sub", "e")))
    assert harness.engine.start("subvars").variables == {"deep": 1}


# ------------------------------------------------------------------ ids


INTERNAL_NAMES = ["Start", "End", "Root", "subvars.EndJoin", "BoundaryEventSplit",
                  "BoundaryEventJoin", "EndJoin", "s.BoundaryEventParent", "execution",
                  "__init__", "process", "root", "_", "a.b-c", "Ä_ünï", "x1", "task_1_child"]


@pytest.mark.parametrize("name", INTERNAL_NAMES)
def test_any_ncname_works_as_element_flow_and_process_id(harness, name):
    pid = f"{name}-process"
    body = bpmn(pid, f'<bpmn:startEvent id="{name}" />',
                f'<bpmn:serviceTask id="{name}-task" camunda:type="external" camunda:topic="t" />',
                f'<bpmn:endEvent id="{name}-end" />',
                flow(name, f"{name}-task", fid=f"{name}-f1"),
                flow(f"{name}-task", f"{name}-end", fid=f"{name}-f2"))
    harness.deploy("p.bpmn", body)
    harness.handle("t", lambda ctx: {"ran": ctx.activity_id})
    instance = harness.engine.start(pid)
    assert instance.active_activities == [f"{name}-task"]
    harness.drain()
    done = harness.engine.get_instance(instance.id)
    assert done.status == "completed" and done.variables["ran"] == f"{name}-task"
