"""engine.bpmn.workflow in memory: serialization without the spec (dump_state/load_state) and
task-tree compaction, which must keep long loops through parallel gateways bounded while
joins still merge every branch's variables."""

import json

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.parser import build_parser
from engine.bpmn.specs import ExternalTask
from engine.bpmn.workflow import ExpressionEngine, dump_state, load_state, run_engine_steps
from engine.expressions import compile_template
from engine.instances import current_variables
from tests.bpmn import bpmn, chain, definitions, external, flow, process

START, END = '<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />'


def output(tid: str, name: str, expr: str) -> str:
    return (f'<bpmn:task id="{tid}"><bpmn:extensionElements><camunda:inputOutput>'
            f'<camunda:outputParameter name="{name}">{expr}</camunda:outputParameter>'
            '</camunda:inputOutput></bpmn:extensionElements></bpmn:task>')


def specs(data: bytes, key: str):
    parser = build_parser([("p.bpmn", data)])
    return parser.get_spec(key), parser.get_subprocess_specs(key)


def new_workflow(spec, subs, **variables) -> BpmnWorkflow:
    workflow = BpmnWorkflow(spec, subs, script_engine=ExpressionEngine(compile_template))
    for task in workflow.get_tasks():
        task.data.update(variables)
    return workflow


def reload(workflow: BpmnWorkflow, spec, subs) -> BpmnWorkflow:
    return load_state(dump_state(workflow), spec, subs, ExpressionEngine(compile_template))


def ready_external(workflow) -> dict[str, object]:
    return {t.task_spec.bpmn_id: t for t in workflow.get_tasks(state=TaskState.READY)
            if isinstance(t.task_spec, ExternalTask)}


def complete(workflow, activity: str, **results) -> None:
    task = ready_external(workflow)[activity]
    task.data.update(results)
    task.run()
    run_engine_steps(workflow)


PARALLEL = bpmn(
    "par", START, output("init", "x", "${41 + 1}"), '<bpmn:parallelGateway id="split" />',
    external("a", "topic.alpha"), external("b", "topic.beta"),
    '<bpmn:parallelGateway id="join" />', END,
    flow("s", "init"), flow("init", "split"), flow("split", "a"), flow("split", "b"),
    flow("a", "join"), flow("b", "join"), flow("join", "e"))


def test_round_trip_keeps_waiting_tasks_and_data_but_not_the_spec():
    spec, subs = specs(PARALLEL, "par")
    workflow = new_workflow(spec, subs, owner="ann")
    run_engine_steps(workflow)
    state = dump_state(workflow)
    assert "topic.alpha" not in state                       # the spec is rebuilt, not stored
    json.loads(state)

    loaded = load_state(state, spec, subs, ExpressionEngine(compile_template))
    before, after = ready_external(workflow), ready_external(loaded)
    assert sorted(after) == ["a", "b"]
    assert {k: t.id for k, t in after.items()} == {k: t.id for k, t in before.items()}
    assert after["a"].data == {"owner": "ann", "x": 42}
    assert dump_state(loaded) == state                       # stable: a reload changes nothing


def test_round_trip_at_every_wait_state_completes_and_merges_branches():
    spec, subs = specs(PARALLEL, "par")
    workflow = new_workflow(spec, subs)
    run_engine_steps(workflow)
    workflow = reload(workflow, spec, subs)
    complete(workflow, "a", a_done=True, shared="from a")
    workflow = reload(workflow, spec, subs)
    assert not workflow.completed and sorted(ready_external(workflow)) == ["b"]
    complete(workflow, "b", b_done=True)
    workflow = reload(workflow, spec, subs)
    assert workflow.completed
    variables = current_variables(workflow)
    assert variables["a_done"] is True and variables["b_done"] is True
    assert variables["shared"] == "from a" and variables["x"] == 42


def test_round_trip_inside_a_call_activity_and_a_waiting_timer():
    child = process("child", START, external("inner", "topic.inner"),
                    output("after", "y", "${x * 2}"), END, chain("s", "inner", "after", "e"))
    parent = process(
        "parent", START, '<bpmn:callActivity id="call" calledElement="child" />',
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
        '<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>'
        '</bpmn:intermediateCatchEvent>', END, chain("s", "call", "wait", "e"))
    parser = build_parser([("p.bpmn", definitions(parent, child))])
    spec, subs = parser.get_spec("parent"), parser.get_subprocess_specs("parent")
    workflow = new_workflow(spec, subs, x=21)
    run_engine_steps(workflow)
    workflow = reload(workflow, spec, subs)
    assert list(ready_external(workflow)) == ["inner"]
    complete(workflow, "inner")
    workflow = reload(workflow, spec, subs)
    [timer] = [t for t in workflow.get_tasks(state=TaskState.WAITING)
               if t.task_spec.bpmn_id == "wait"]
    assert timer._get_internal_data("event_value")          # its due time survived the reload
    assert current_variables(workflow)["y"] == 42


def _parallel_loop(limit: int, branch_a: str) -> bytes:
    """merge -> split -> (A | B sets b = 2i) -> join -> inc (i+1, sum += a + b) -> loop."""
    return bpmn(
        "parloop", START, output("init", "i", "${0}"), output("zero", "sum", "${0}"),
        '<bpmn:exclusiveGateway id="merge" />', '<bpmn:parallelGateway id="split" />',
        branch_a, output("b", "b", "${i * 2}"), '<bpmn:parallelGateway id="join" />',
        '<bpmn:task id="inc"><bpmn:extensionElements><camunda:inputOutput>'
        '<camunda:outputParameter name="i">${i + 1}</camunda:outputParameter>'
        '<camunda:outputParameter name="sum">${sum + a + b}</camunda:outputParameter>'
        '</camunda:inputOutput></bpmn:extensionElements></bpmn:task>',
        '<bpmn:exclusiveGateway id="more" default="back" />', END,
        flow("s", "init"), flow("init", "zero"), flow("zero", "merge"), flow("merge", "split"),
        flow("split", "a"), flow("split", "b"), flow("a", "join"), flow("b", "join"),
        flow("join", "inc"), flow("inc", "more"), flow("more", "e", f"${{i >= {limit}}}"),
        flow("more", "merge", fid="back"))


def test_parallel_split_and_join_in_a_500_iteration_loop_stay_bounded_and_merge():
    spec, subs = specs(_parallel_loop(500, output("a", "a", "${i}")), "parloop")
    workflow = new_workflow(spec, subs)
    sizes = []

    def completed(task) -> None:
        if task.task_spec.bpmn_id == "inc":
            sizes.append(len(workflow.tasks))

    run_engine_steps(workflow, did_complete_task=completed)
    assert workflow.completed and len(sizes) == 500
    assert max(sizes) <= 40 and max(sizes[-100:]) <= max(sizes[:100])  # bounded, not growing
    variables = current_variables(workflow)
    # each turn adds i (branch a) + 2i (branch b): a stale or lost branch breaks the sum
    assert variables["i"] == 500 and variables["sum"] == 3 * sum(range(500))


def test_loop_with_a_wait_state_in_one_branch_keeps_the_stored_state_small():
    spec, subs = specs(_parallel_loop(60, external("a", "topic.a")), "parloop")
    workflow = new_workflow(spec, subs)
    run_engine_steps(workflow)
    sizes = []
    for turn in range(60):
        workflow = reload(workflow, spec, subs)
        complete(workflow, "a", a=turn)
        sizes.append(len(dump_state(workflow)))
    assert workflow.completed
    assert max(sizes[10:59]) <= min(sizes[10:59]) * 1.2       # no growth per turn
    variables = current_variables(workflow)
    assert variables["i"] == 60 and variables["sum"] == 3 * sum(range(60))


def test_a_variable_set_by_an_earlier_branch_survives_the_stale_copy_of_the_last():
    spec, subs = specs(PARALLEL, "par")
    workflow = new_workflow(spec, subs, verdict="pending")
    run_engine_steps(workflow)
    complete(workflow, "a", verdict="approved")     # branch a decides
    complete(workflow, "b", note="b done")          # branch b still carries "pending"
    assert workflow.completed
    variables = current_variables(workflow)
    assert variables["verdict"] == "approved" and variables["note"] == "b done"


def test_when_both_branches_change_a_variable_the_later_one_wins():
    spec, subs = specs(PARALLEL, "par")
    workflow = new_workflow(spec, subs, status="new")
    run_engine_steps(workflow)
    complete(workflow, "b", status="from b")
    complete(workflow, "a", status="from a")
    assert current_variables(workflow)["status"] == "from a"
