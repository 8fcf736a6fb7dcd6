"""Control flow: gateways, loops, subprocesses, call activities, errors, variables, history."""

import pytest

from engine import ExecutionError, NotFoundError
from tests.support.bpmn import bpmn, chain, definitions, external, flow, process

START, END = '<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />'


def output(tid: str, name: str, expr: str) -> str:
    return (f'<bpmn:task id="{tid}"><bpmn:extensionElements><camunda:inputOutput>'
            f'<camunda:outputParameter name="{name}">{expr}</camunda:outputParameter>'
            '</camunda:inputOutput></bpmn:extensionElements></bpmn:task>')


def test_exclusive_gateway_picks_condition_or_default(harness):
    harness.deploy("p.bpmn", bpmn(
        "route", START, '<bpmn:exclusiveGateway id="g" default="f_low" />',
        output("high", "route", "high"), output("low", "route", "low"), END,
        flow("s", "g"), flow("g", "high", "${score >= 0.8 and stage == 'PROD'}"),
        flow("g", "low", fid="f_low"), flow("high", "e"), flow("low", "e")))
    high = harness.engine.start("route", {"score": 0.9, "stage": "PROD"})
    low = harness.engine.start("route", {"score": 0.9, "stage": "DEV"})
    assert high.status == "completed" and high.variables["route"] == "high"
    assert low.variables["route"] == "low"


@pytest.mark.slow
def test_ten_thousand_iteration_loop_reaches_its_end_event(harness):
    harness.deploy("loop.bpmn", open("tests/fixtures/bpmn/loop.bpmn", "rb").read())
    instance = harness.engine.start("loop", {"limit": 10_000})
    assert instance.status == "completed"
    assert instance.variables["i"] == 10_000
    history = harness.engine.history(instance.id)
    assert history[-1].kind == "instance.completed"
    assert sum(1 for h in history if h.activity_id == "increment") == 10_000


def test_loop_through_wait_states_persists_small_state(harness):
    """A retry loop with an external task on each turn: state must not grow per turn."""
    harness.deploy("p.bpmn", bpmn(
        "retry", START, external("attempt", "try"), '<bpmn:exclusiveGateway id="g" default="again" />',
        END, flow("s", "attempt"), flow("attempt", "g"), flow("g", "e", "${ok}"),
        flow("g", "attempt", fid="again")))
    turns = {"n": 0}

    def attempt(ctx):
        turns["n"] += 1
        return {"ok": turns["n"] >= 60}

    harness.handle("try", attempt)
    instance = harness.engine.start("retry")
    sizes = []
    from engine.persistence import ProcessInstance
    for _ in range(60):
        harness.worker.run_once()
        with harness.db.session() as s:
            sizes.append(len(s.get(ProcessInstance, instance.id).state))
    assert harness.status(instance.id) == "completed"
    assert max(sizes[5:50]) <= min(sizes[5:50]) * 1.2


def test_parallel_gateway_waits_for_both_branches_and_merges_variables(harness):
    harness.deploy("p.bpmn", bpmn(
        "par", START, '<bpmn:parallelGateway id="split" />', external("a", "ta"),
        external("b", "tb"), '<bpmn:parallelGateway id="join" />', END,
        flow("s", "split"), flow("split", "a"), flow("split", "b"), flow("a", "join"),
        flow("b", "join"), flow("join", "e")))
    harness.handle("ta", lambda ctx: {"a_done": True})
    harness.handle("tb", lambda ctx: {"b_done": True})
    instance = harness.engine.start("par")
    assert sorted(instance.active_activities) == ["a", "b"]
    assert harness.worker.run_once() == 1
    assert harness.status(instance.id) == "waiting"
    assert harness.worker.run_once() == 1
    done = harness.engine.get_instance(instance.id)
    assert done.status == "completed"
    assert done.variables["a_done"] is True and done.variables["b_done"] is True


def test_parallel_branches_inside_a_loop_keep_joining(harness):
    harness.deploy("p.bpmn", bpmn(
        "parloop", START, output("init", "i", "${0}"), '<bpmn:exclusiveGateway id="merge" />',
        '<bpmn:parallelGateway id="split" />',
        output("a", "a", "${i}"), output("b", "b", "${i}"), '<bpmn:parallelGateway id="join" />',
        output("inc", "i", "${i + 1}"), '<bpmn:exclusiveGateway id="more" default="back" />', END,
        flow("s", "init"), flow("init", "merge"), flow("merge", "split"), flow("split", "a"),
        flow("split", "b"), flow("a", "join"), flow("b", "join"), flow("join", "inc"),
        flow("inc", "more"), flow("more", "e", "${i >= 1000}"), flow("more", "merge", fid="back")))
    instance = harness.engine.start("parloop")
    assert instance.status == "completed" and instance.variables["i"] == 1000


def test_embedded_subprocess_error_end_event_caught_by_boundary(harness):
    sub = ('<bpmn:subProcess id="sub"><bpmn:startEvent id="ss" />'
           '<bpmn:exclusiveGateway id="sg" default="sf_ok" />'
           '<bpmn:endEvent id="se_err"><bpmn:errorEventDefinition errorRef="Err" /></bpmn:endEvent>'
           '<bpmn:endEvent id="se_ok" />' + flow("ss", "sg") + flow("sg", "se_err", "${fail}")
           + flow("sg", "se_ok", fid="sf_ok") + '</bpmn:subProcess>')
    harness.deploy("p.bpmn", bpmn(
        "subp", START, sub,
        '<bpmn:boundaryEvent id="caught" attachedToRef="sub"><bpmn:errorEventDefinition errorRef="Err" /></bpmn:boundaryEvent>',
        output("handled", "outcome", "error"), output("normal", "outcome", "ok"), END,
        '<bpmn:endEvent id="e2" />', flow("s", "sub"), flow("sub", "normal"), flow("normal", "e"),
        flow("caught", "handled"), flow("handled", "e2"),
        extra='<bpmn:error id="Err" name="Failed" errorCode="FAILED" />'))
    assert harness.engine.start("subp", {"fail": True}).variables["outcome"] == "error"
    assert harness.engine.start("subp", {"fail": False}).variables["outcome"] == "ok"


def test_call_activity_passes_variables_only_through_camunda_in_and_out(harness):
    """As in Camunda, a called process has its own variables: camunda:in copies into it,
    camunda:out copies back; nothing else crosses."""
    child = process("child", START, output("double", "y", "${x * 2}"), END, chain("s", "double", "e"))
    parent = process("parent", START, '<bpmn:callActivity id="call" calledElement="child">'
                     '<bpmn:extensionElements><camunda:in variables="all" />'
                     '<camunda:out source="y" target="doubled" /></bpmn:extensionElements>'
                     '</bpmn:callActivity>', END, chain("s", "call", "e"))
    isolated = process("isolated", START, '<bpmn:callActivity id="call" calledElement="child" />',
                       END, chain("s", "call", "e"))
    harness.engine.deploy([("both.bpmn", definitions(parent, child, isolated))])
    instance = harness.engine.start("parent", {"x": 21})
    assert instance.status == "completed"
    assert instance.variables == {"x": 21, "doubled": 42}
    with pytest.raises(ExecutionError, match="Cannot resolve identifier 'x'"):
        harness.engine.start("isolated", {"x": 21})


def test_call_activity_across_deployments(harness):
    harness.deploy("child.bpmn", bpmn("child2", START, END, chain("s", "e")))
    harness.deploy("parent.bpmn", bpmn("parent2", START,
                                       '<bpmn:callActivity id="call" calledElement="child2" />', END,
                                       chain("s", "call", "e")))
    assert harness.engine.start("parent2").status == "completed"


def test_runtime_expression_error_names_element_and_stores_nothing(harness):
    harness.deploy("p.bpmn", bpmn(
        "needs", START, '<bpmn:exclusiveGateway id="g" default="other" />', END,
        '<bpmn:endEvent id="e2" />', flow("s", "g"), flow("g", "e", "${missing > 1}", fid="cond"),
        flow("g", "e2", fid="other")))
    with pytest.raises(ExecutionError) as info:
        harness.engine.start("needs")
    assert "missing" in info.value.message and "${missing > 1}" in info.value.message
    assert "'g'" in info.value.message
    assert harness.engine.list_instances() == []


def test_start_unknown_key_is_not_found(harness):
    with pytest.raises(NotFoundError):
        harness.engine.start("nope")


def test_history_records_variable_changes_with_old_and_new_values(harness):
    harness.deploy("p.bpmn", bpmn("vars", START, external("t", "set"), END, chain("s", "t", "e")))
    harness.handle("set", lambda ctx: {"score": 0.9})
    instance = harness.engine.start("vars", {"score": 0.1})
    harness.drain()
    changes = [h for h in harness.engine.history(instance.id) if h.kind == "variable.changed"]
    assert {"old": None, "new": 0.1} == {k: changes[0].data[k] for k in ("old", "new")}
    assert changes[-1].name == "score"
    assert (changes[-1].data["old"], changes[-1].data["new"]) == (0.1, 0.9)
    kinds = [h.kind for h in harness.engine.history(instance.id)]
    assert kinds[0] == "instance.started" and kinds[-1] == "instance.completed"
    assert "activity.started" in kinds and "external_task.completed" in kinds


def test_terminate_cancels_waiting_tasks(harness):
    harness.deploy("p.bpmn", bpmn("term", START, external("t", "never"), END, chain("s", "t", "e")))
    instance = harness.engine.start("term")
    assert len(harness.tasks.list()) == 1
    harness.engine.terminate(instance.id, "no longer needed")
    assert harness.status(instance.id) == "terminated"
    assert harness.tasks.list() == []
    from engine import ConflictError
    with pytest.raises(ConflictError):
        harness.engine.terminate(instance.id)


def test_parallel_join_keeps_what_the_first_branch_set(harness):
    """Camunda has one process scope: the last branch's stale copy must not undo a change."""
    harness.deploy("p.bpmn", bpmn(
        "review", START, '<bpmn:parallelGateway id="split" />', external("a", "decide"),
        external("b", "notify"), '<bpmn:parallelGateway id="join" />', END,
        flow("s", "split"), flow("split", "a"), flow("split", "b"), flow("a", "join"),
        flow("b", "join"), flow("join", "e")))
    instance = harness.engine.start("review", {"verdict": "pending"})
    [a, b] = sorted(harness.tasks.list(), key=lambda t: t.activity_id)
    for task, result in ((a, {"verdict": "approved"}), (b, {"notified": True})):
        harness.tasks.fetch_and_lock("w", [task.topic])
        harness.tasks.complete(task.id, "w", result)
    done = harness.engine.get_instance(instance.id)
    assert done.status == "completed"
    assert done.variables["verdict"] == "approved" and done.variables["notified"] is True


def test_expression_service_task_maps_inputs_result_and_outputs(harness):
    # camunda:expression runs in place: input mapping -> expression -> resultVariable -> outputs
    harness.deploy("p.bpmn", bpmn(
        "expr", START,
        '<bpmn:serviceTask id="calc" camunda:expression="${base * factor}" '
        'camunda:resultVariable="product"><bpmn:extensionElements><camunda:inputOutput>'
        '<camunda:inputParameter name="factor">${3}</camunda:inputParameter>'
        '<camunda:outputParameter name="doubled">${product * 2}</camunda:outputParameter>'
        '</camunda:inputOutput></bpmn:extensionElements></bpmn:serviceTask>', END,
        flow("s", "calc"), flow("calc", "e")))
    done = harness.engine.start("expr", {"base": 7})
    assert done.status == "completed"
    assert done.variables["doubled"] == 42
    assert "factor" not in done.variables  # an input parameter is local to the task
