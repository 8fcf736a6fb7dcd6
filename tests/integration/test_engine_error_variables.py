"""camunda:errorCodeVariable / errorMessageVariable on error events (boundary and a catch-all
event subprocess), which the shipped processes use to put the reason on an error ticket."""

from engine import BpmnError
from tests.support.bpmn import bpmn, chain, external, flow

START, END = '<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />'
VARS = 'camunda:errorCodeVariable="CODE" camunda:errorMessageVariable="MSG"'


def test_boundary_error_sets_code_and_message_variables(harness):
    harness.deploy("p.bpmn", bpmn(
        "guarded", START, external("work", "work"),
        f'<bpmn:boundaryEvent id="caught" attachedToRef="work">'
        f'<bpmn:errorEventDefinition errorRef="E1" {VARS} /></bpmn:boundaryEvent>',
        END, '<bpmn:endEvent id="e2" />', flow("s", "work"), flow("work", "e"),
        flow("caught", "e2"),
        extra='<bpmn:error id="E1" name="No runtime" errorCode="NO_RUNTIME" />'))
    harness.handle("work", lambda ctx: (_ for _ in ()).throw(
        BpmnError("NO_RUNTIME", "no runtime of stage PROD", {"EXTRA": 1})))
    instance = harness.engine.start("guarded")
    harness.drain()
    done = harness.engine.get_instance(instance.id)
    assert done.status == "completed"
    assert done.variables["CODE"] == "NO_RUNTIME"
    assert done.variables["MSG"] == "no runtime of stage PROD"
    assert done.variables["EXTRA"] == 1


def deploy_boundary_and_catch_all(harness, key: str, *tasks: str) -> None:
    """``tasks`` in a row; an error boundary on ``work`` catches SPECIFIC, and an event
    subprocess catching any error runs the ``report`` topic."""
    harness.deploy("p.bpmn", bpmn(
        key, START, *(external(t, t) for t in tasks), END,
        f'<bpmn:boundaryEvent id="specific" attachedToRef="work">'
        f'<bpmn:errorEventDefinition errorRef="E1" {VARS} /></bpmn:boundaryEvent>',
        '<bpmn:endEvent id="e_specific" />', flow("specific", "e_specific"),
        '<bpmn:subProcess id="handler" triggeredByEvent="true">'
        f'<bpmn:startEvent id="any"><bpmn:errorEventDefinition {VARS} /></bpmn:startEvent>'
        + external("report", "report") + '<bpmn:endEvent id="failed" />'
        + chain("any", "report", "failed") + '</bpmn:subProcess>',
        chain("s", *tasks, "e"),
        extra='<bpmn:error id="E1" name="Specific" errorCode="SPECIFIC" />'))


def test_catch_all_event_subprocess_takes_errors_no_boundary_catches(harness):
    deploy_boundary_and_catch_all(harness, "covered", "work", "other")
    harness.handle("work", lambda ctx: None)
    harness.handle("other", lambda ctx: (_ for _ in ()).throw(
        BpmnError("SNAPSHOT_NOT_FOUND", "snapshot s-9 is gone")))
    reported = []
    harness.handle("report", lambda ctx: reported.append(
        (ctx.variables["CODE"], ctx.variables["MSG"])) or {"REPORTED": True})
    instance = harness.engine.start("covered")
    harness.drain()
    done = harness.engine.get_instance(instance.id)
    assert done.status == "completed" and done.variables["REPORTED"] is True
    assert reported == [("SNAPSHOT_NOT_FOUND", "snapshot s-9 is gone")]
    assert harness.calls["report"] == 1


def test_specific_boundary_wins_over_the_catch_all_subprocess(harness):
    deploy_boundary_and_catch_all(harness, "precedence", "work")
    harness.handle("work", lambda ctx: (_ for _ in ()).throw(BpmnError("SPECIFIC", "x")))
    harness.handle("report", lambda ctx: None)
    instance = harness.engine.start("precedence")
    harness.drain()
    done = harness.engine.get_instance(instance.id)
    assert done.status == "completed" and done.variables["CODE"] == "SPECIFIC"
    assert harness.calls["report"] == 0
