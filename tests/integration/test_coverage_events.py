"""Coverage of Camunda 7's events (docs/bpmn-coverage.md, "Events"): each test is one row.

Through the public ``Engine`` API on SQLite and PostgreSQL; what a test asserts is what
Camunda 7 does with the same diagram.
"""

from __future__ import annotations

from datetime import timedelta

from engine import clock
from tests.support.bpmn import bpmn, chain, external, flow

START, END = '<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />'
MSG = '<bpmn:message id="M" name="poke" />'
SIG = '<bpmn:signal id="S" name="go" />'
ESC = '<bpmn:escalation id="Esc" escalationCode="LATE" />'
ERR = '<bpmn:error id="Err" errorCode="BROKEN" />'


def out(tid: str, name: str, expr: str) -> str:
    return (f'<bpmn:task id="{tid}"><bpmn:extensionElements><camunda:inputOutput>'
            f'<camunda:outputParameter name="{name}">{expr}</camunda:outputParameter>'
            '</camunda:inputOutput></bpmn:extensionElements></bpmn:task>')


def catch(eid: str, definition: str) -> str:
    return f'<bpmn:intermediateCatchEvent id="{eid}">{definition}</bpmn:intermediateCatchEvent>'


def throw(eid: str, definition: str) -> str:
    return f'<bpmn:intermediateThrowEvent id="{eid}">{definition}</bpmn:intermediateThrowEvent>'


def boundary(bid: str, attached: str, definition: str, interrupting: bool = True) -> str:
    cancel = "" if interrupting else ' cancelActivity="false"'
    return (f'<bpmn:boundaryEvent id="{bid}" attachedToRef="{attached}"{cancel}>{definition}'
            '</bpmn:boundaryEvent>')


def event_sub(sid: str, start: str, *body: str, interrupting: bool = True) -> str:
    flag = "" if interrupting else ' isInterrupting="false"'
    return (f'<bpmn:subProcess id="{sid}" triggeredByEvent="true">'
            f'<bpmn:startEvent id="{sid}_s"{flag}>{start}</bpmn:startEvent>'
            + "".join(body) + '</bpmn:subProcess>')


def cond(expr: str, extra: str = "") -> str:
    expr = expr.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (f'<bpmn:conditionalEventDefinition {extra}><bpmn:condition xsi:type="bpmn:'
            f'tFormalExpression">{expr}</bpmn:condition></bpmn:conditionalEventDefinition>')


TIMER = ('<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration>'
         '</bpmn:timerEventDefinition>')
MESSAGE = '<bpmn:messageEventDefinition messageRef="M" />'
SIGNAL = '<bpmn:signalEventDefinition signalRef="S" />'


def variables(harness, instance) -> dict:
    return harness.engine.get_instance(instance.id).variables


# ------------------------------------------------------------------ message


def test_message_boundary_interrupting_and_non_interrupting(harness):
    harness.deploy("p.bpmn", bpmn(
        "msgb", START, external("work", "work"), boundary("stop", "work", MESSAGE),
        boundary("note", "work", MESSAGE.replace('"M"', '"M2"'), interrupting=False),
        out("noted", "noted", "${true}"), out("stopped", "route", "stopped"), END,
        '<bpmn:endEvent id="e2" /><bpmn:endEvent id="e3" />',
        chain("s", "work", "e"), chain("stop", "stopped", "e2"), chain("note", "noted", "e3"),
        extra=MSG + '<bpmn:message id="M2" name="note" />'))
    instance = harness.engine.start("msgb", business_key="b1")
    harness.engine.correlate_message("note", business_key="b1", variables={"why": "fyi"})
    running = harness.engine.get_instance(instance.id)
    assert running.status == "waiting" and running.active_activities == ["work"]
    assert running.variables["noted"] is True and running.variables["why"] == "fyi"
    harness.engine.correlate_message("note", business_key="b1")  # still subscribed
    harness.engine.correlate_message("poke", business_key="b1")
    done = harness.engine.get_instance(instance.id)
    assert done.status == "completed" and done.variables["route"] == "stopped"
    assert harness.tasks.list() == []


def test_message_event_sub_process_interrupting_and_not(harness):
    harness.deploy("p.bpmn", bpmn(
        "msgesp", START, external("work", "work"), END, chain("s", "work", "e"),
        event_sub("side", MESSAGE.replace('"M"', '"M2"'), out("sided", "sided", "${true}"),
                  '<bpmn:endEvent id="side_e" />', chain("side_s", "sided", "side_e"),
                  interrupting=False),
        event_sub("abort", MESSAGE, out("aborted", "route", "aborted"),
                  '<bpmn:endEvent id="abort_e" />', chain("abort_s", "aborted", "abort_e")),
        extra=MSG + '<bpmn:message id="M2" name="side" />'))
    instance = harness.engine.start("msgesp", business_key="b2")
    harness.engine.correlate_message("side", business_key="b2")
    assert harness.engine.get_instance(instance.id).status == "waiting"
    assert variables(harness, instance)["sided"] is True
    harness.engine.correlate_message("poke", business_key="b2")
    done = harness.engine.get_instance(instance.id)
    assert done.status == "completed" and done.variables["route"] == "aborted"
    assert harness.tasks.list() == []


def test_receive_task_waits_for_its_message(harness):
    harness.deploy("p.bpmn", bpmn(
        "recv", START, '<bpmn:receiveTask id="r" messageRef="M" />', END, chain("s", "r", "e"),
        extra=MSG))
    instance = harness.engine.start("recv", {"order": 7})
    assert harness.engine.get_instance(instance.id).active_activities == ["r"]
    assert harness.engine.correlate_message("poke", correlation={"order": 7},
                                            variables={"paid": True}) == [instance.id]
    assert variables(harness, instance)["paid"] is True


def test_message_throw_and_end_events_run_their_implementation(harness):
    harness.deploy("p.bpmn", bpmn(
        "send", START, throw("notify", '<bpmn:messageEventDefinition camunda:type="external" '
                             'camunda:topic="mail" />'),
        '<bpmn:endEvent id="e"><bpmn:messageEventDefinition camunda:type="external" '
        'camunda:topic="mail" /></bpmn:endEvent>', chain("s", "notify", "e")))
    harness.handle("mail", lambda ctx: {"sent": (ctx.activity_id,)})
    instance = harness.engine.start("send")
    assert harness.drain() == 2
    assert harness.calls["mail"] == 2
    assert harness.status(instance.id) == "completed"


# ------------------------------------------------------------------ timer


def test_timer_event_sub_process_non_interrupting_cycle(harness):
    cycle = ('<bpmn:timerEventDefinition><bpmn:timeCycle>R2/PT10M</bpmn:timeCycle>'
             '</bpmn:timerEventDefinition>')
    harness.deploy("p.bpmn", bpmn(
        "tesp", START, external("work", "work"), END, chain("s", "work", "e"),
        event_sub("remind", cycle, external("nag", "nag"), '<bpmn:endEvent id="remind_e" />',
                  chain("remind_s", "nag", "remind_e"), interrupting=False)))
    harness.handle("nag", lambda ctx: None)
    instance = harness.engine.start("tesp")
    for _ in range(3):
        clock.advance(timedelta(minutes=11))
        harness.engine.fire_due_timers()
        harness.drain()
    assert harness.calls["nag"] == 2  # R2: twice, then the cycle is spent
    assert harness.engine.get_instance(instance.id).active_activities == ["work"]


def test_timer_catch_with_a_date_expression(harness):
    harness.deploy("p.bpmn", bpmn(
        "tdate", START, catch("until", '<bpmn:timerEventDefinition><bpmn:timeDate>${when}'
                              '</bpmn:timeDate></bpmn:timerEventDefinition>'), END,
        chain("s", "until", "e")))
    when = (clock.now() + timedelta(days=2)).isoformat()
    instance = harness.engine.start("tdate", {"when": when})
    clock.advance(timedelta(days=1))
    assert harness.engine.fire_due_timers() == 0
    clock.advance(timedelta(days=1, seconds=1))
    assert harness.engine.fire_due_timers() == 1
    assert harness.status(instance.id) == "completed"


# ------------------------------------------------------------------ signal


def test_signal_catch_boundary_and_event_sub_process_all_hear_one_broadcast(harness):
    harness.deploy("p.bpmn", bpmn(
        "sigs", START, '<bpmn:parallelGateway id="fork" />', catch("wait", SIGNAL),
        external("work", "work"), boundary("cut", "work", SIGNAL, interrupting=False),
        out("cut_seen", "cut_seen", "${true}"), out("after", "waited", "${true}"), END,
        '<bpmn:endEvent id="e2" /><bpmn:endEvent id="e3" />',
        flow("s", "fork"), flow("fork", "wait"), flow("fork", "work"), chain("wait", "after", "e2"),
        flow("work", "e"), chain("cut", "cut_seen", "e3"),
        event_sub("hear", SIGNAL, out("heard", "heard", "${true}"), '<bpmn:endEvent id="hear_e" />',
                  chain("hear_s", "heard", "hear_e"), interrupting=False),
        extra=SIG))
    instance = harness.engine.start("sigs")
    assert harness.engine.signal("go").resumed == [instance.id]
    got = variables(harness, instance)
    assert got["waited"] is got["cut_seen"] is got["heard"] is True
    assert harness.engine.get_instance(instance.id).active_activities == ["work"]


def test_signal_throw_reaches_other_instances_and_starts(harness):
    harness.deploy("waiter.bpmn", bpmn("waiter", START, catch("wait", SIGNAL), END,
                                       chain("s", "wait", "e"), extra=SIG))
    harness.deploy("started.bpmn", bpmn(
        "started", '<bpmn:startEvent id="s">' + SIGNAL + '</bpmn:startEvent>', END,
        flow("s", "e"), extra=SIG))
    harness.deploy("thrower.bpmn", bpmn(
        "thrower", START, throw("shout", SIGNAL), '<bpmn:endEvent id="e">' + SIGNAL
        + '</bpmn:endEvent>', chain("s", "shout", "e"), extra=SIG))
    waiter = harness.engine.start("waiter")
    harness.engine.start("thrower")
    assert harness.status(waiter.id) == "completed"
    started = harness.engine.list_instances(key="started")
    assert len(started) == 2 and {i.status for i in started} == {"completed"}


# ------------------------------------------------------------------ conditional


def test_conditional_catch_waits_until_its_condition_holds(harness):
    harness.deploy("p.bpmn", bpmn(
        "condc", START, '<bpmn:parallelGateway id="fork" />',
        catch("until", cond("${approvals >= 2}")), external("vote", "vote"),
        out("went", "went", "${true}"), END, '<bpmn:endEvent id="e2" />',
        flow("s", "fork"), flow("fork", "until"), flow("fork", "vote"),
        chain("until", "went", "e"), flow("vote", "e2")))
    instance = harness.engine.start("condc", {"approvals": 0})
    assert "until" in harness.engine.get_instance(instance.id).active_activities
    harness.engine.set_variables(instance.id, {"approvals": 1})
    assert "went" not in variables(harness, instance)
    harness.handle("vote", lambda ctx: {"approvals": 2})
    harness.drain()
    assert variables(harness, instance)["went"] is True
    assert harness.status(instance.id) == "completed"


def test_conditional_catch_that_already_holds_passes_at_once(harness):
    harness.deploy("p.bpmn", bpmn("condnow", START, catch("until", cond("${ready}")), END,
                                  chain("s", "until", "e")))
    assert harness.engine.start("condnow", {"ready": True}).status == "completed"


def test_conditional_boundary_with_variable_name_filter(harness):
    harness.deploy("p.bpmn", bpmn(
        "condb", START, external("work", "work"),
        boundary("changed", "work", cond("${limit < 10}", 'camunda:variableName="limit"')),
        out("reacted", "route", "limit lowered"), END, '<bpmn:endEvent id="e2" />',
        chain("s", "work", "e"), chain("changed", "reacted", "e2")))
    instance = harness.engine.start("condb", {"limit": 100, "other": 1})
    harness.engine.set_variables(instance.id, {"other": 2})
    assert harness.status(instance.id) == "waiting"
    harness.engine.set_variables(instance.id, {"limit": 5})
    assert variables(harness, instance)["route"] == "limit lowered"
    assert harness.tasks.list() == []


def test_conditional_event_sub_process_interrupts_when_a_variable_makes_it_true(harness):
    harness.deploy("p.bpmn", bpmn(
        "condesp", START, external("work", "work"), END, chain("s", "work", "e"),
        event_sub("cancelled", cond("${cancel == true}"), out("gone", "route", "cancelled"),
                  '<bpmn:endEvent id="c_e" />', chain("cancelled_s", "gone", "c_e"))))
    instance = harness.engine.start("condesp", {"cancel": False})
    harness.engine.set_variables(instance.id, {"cancel": True})
    done = harness.engine.get_instance(instance.id)
    assert done.status == "completed" and done.variables["route"] == "cancelled"


def test_conditional_start_event_starts_processes_whose_condition_holds(harness):
    harness.deploy("p.bpmn", bpmn(
        "condstart", '<bpmn:startEvent id="s">' + cond("${temperature > 30}") + '</bpmn:startEvent>',
        END, flow("s", "e")))
    assert harness.engine.evaluate_conditions({"temperature": 20}) == []
    [started] = harness.engine.evaluate_conditions({"temperature": 35})
    assert harness.engine.get_instance(started).variables == {"temperature": 35}
    assert harness.engine.evaluate_conditions({"humidity": 3}) == []


# ------------------------------------------------------------------ error


def test_error_from_a_called_process_reaches_the_call_activity_boundary(harness):
    child = ('<bpmn:process id="failing" isExecutable="true">' + START
             + '<bpmn:endEvent id="boom"><bpmn:errorEventDefinition errorRef="Err" /></bpmn:endEvent>'
             + flow("s", "boom") + '</bpmn:process>')
    parent = ('<bpmn:process id="caller" isExecutable="true">' + START
              + '<bpmn:callActivity id="call" calledElement="failing" />'
              + boundary("caught", "call", '<bpmn:errorEventDefinition errorRef="Err" '
                         'camunda:errorCodeVariable="code" />')
              + out("handled", "route", "handled") + END + '<bpmn:endEvent id="e2" />'
              + chain("s", "call", "e") + chain("caught", "handled", "e2") + '</bpmn:process>')
    from tests.support.bpmn import definitions

    harness.engine.deploy([("both.bpmn", definitions(parent, child, extra=ERR))])
    done = harness.engine.start("caller")
    assert done.status == "completed"
    assert done.variables == {"route": "handled", "code": "BROKEN"}


def test_uncaught_error_end_event_opens_an_incident(harness):
    harness.deploy("p.bpmn", bpmn(
        "errend", START, '<bpmn:endEvent id="boom"><bpmn:errorEventDefinition errorRef="Err" />'
        '</bpmn:endEvent>', flow("s", "boom"), extra=ERR))
    instance = harness.engine.start("errend")
    assert instance.status == "incident"
    [incident] = harness.engine.get_instance(instance.id).incidents
    assert incident.kind == "unhandledBpmnError" and "BROKEN" in incident.message
    assert incident.activity_id == "boom"


# ------------------------------------------------------------------ escalation


def test_escalation_throw_caught_non_interrupting_on_the_sub_process(harness):
    sub = ('<bpmn:subProcess id="sub"><bpmn:startEvent id="ss" />'
           + throw("raise", '<bpmn:escalationEventDefinition escalationRef="Esc" />')
           + out("went_on", "went_on", "${true}") + '<bpmn:endEvent id="se" />'
           + chain("ss", "raise", "went_on", "se") + '</bpmn:subProcess>')
    harness.deploy("p.bpmn", bpmn(
        "esc", START, sub, boundary("escalated", "sub", '<bpmn:escalationEventDefinition '
                                    'escalationRef="Esc" camunda:escalationCodeVariable="ec" />',
                                    interrupting=False),
        out("noticed", "noticed", "${true}"), END, '<bpmn:endEvent id="e2" />',
        chain("s", "sub", "e"), chain("escalated", "noticed", "e2"), extra=ESC))
    done = harness.engine.start("esc")
    assert done.status == "completed"
    assert done.variables == {"went_on": True, "noticed": True, "ec": "LATE"}


def test_escalation_end_event_interrupts_and_an_uncaught_one_is_ignored(harness):
    sub = ('<bpmn:subProcess id="sub"><bpmn:startEvent id="ss" />'
           + '<bpmn:endEvent id="se"><bpmn:escalationEventDefinition escalationRef="Esc" />'
           '</bpmn:endEvent>' + flow("ss", "se") + '</bpmn:subProcess>')
    harness.deploy("p.bpmn", bpmn(
        "escend", START, sub, boundary("up", "sub", '<bpmn:escalationEventDefinition />'),
        out("normal", "route", "normal"), out("escalated", "route", "escalated"), END,
        '<bpmn:endEvent id="e2" />', chain("s", "sub", "normal", "e"),
        chain("up", "escalated", "e2"), extra=ESC))
    harness.deploy("q.bpmn", bpmn(
        "escfree", START, throw("raise", '<bpmn:escalationEventDefinition escalationRef="Esc" />'),
        END, chain("s", "raise", "e"), extra=ESC))
    assert harness.engine.start("escend").variables["route"] == "escalated"
    assert harness.engine.start("escfree").status == "completed"


# ------------------------------------------------------------------ terminate and link


def test_terminate_end_event_ends_every_branch_of_its_scope(harness):
    harness.deploy("p.bpmn", bpmn(
        "term", START, '<bpmn:parallelGateway id="fork" />', external("slow", "slow"),
        '<bpmn:endEvent id="stop"><bpmn:terminateEventDefinition /></bpmn:endEvent>',
        END, flow("s", "fork"), flow("fork", "slow"), flow("fork", "stop"), flow("slow", "e")))
    done = harness.engine.start("term")
    assert done.status == "completed"
    assert harness.tasks.list() == []


def test_terminate_inside_a_sub_process_completes_only_the_sub_process(harness):
    sub = ('<bpmn:subProcess id="sub"><bpmn:startEvent id="ss" /><bpmn:parallelGateway id="f" />'
           + external("inner", "inner")
           + '<bpmn:endEvent id="stop"><bpmn:terminateEventDefinition /></bpmn:endEvent>'
           + '<bpmn:endEvent id="se" />' + flow("ss", "f") + flow("f", "inner") + flow("f", "stop")
           + flow("inner", "se") + '</bpmn:subProcess>')
    harness.deploy("p.bpmn", bpmn("subterm", START, sub, out("after", "after", "${true}"), END,
                                  chain("s", "sub", "after", "e")))
    done = harness.engine.start("subterm")
    assert done.status == "completed" and done.variables["after"] is True


def test_link_events_jump_within_the_process(harness):
    harness.deploy("p.bpmn", bpmn(
        "link", START, throw("jump", '<bpmn:linkEventDefinition name="L" />'),
        catch("land", '<bpmn:linkEventDefinition name="L" />'), out("landed", "landed", "${true}"),
        END, flow("s", "jump"), chain("land", "landed", "e")))
    done = harness.engine.start("link")
    assert done.status == "completed" and done.variables["landed"] is True
    kinds = [(h.kind, h.activity_id) for h in harness.engine.history(done.id)]
    assert ("activity.completed", "land") in kinds


# ------------------------------------------------------------------ compensation


COMP_HANDLER = ('<bpmn:serviceTask id="undo_{t}" isForCompensation="true" '
                'camunda:expression="${{execution.setVariable(\'undone_{t}\', true)}}" />')


def compensable(task: str) -> str:
    return (out(task, f"did_{task}", "${true}")
            + boundary(f"comp_{task}", task, '<bpmn:compensateEventDefinition />')
            + COMP_HANDLER.format(t=task)
            + f'<bpmn:association id="a_{task}" associationDirection="One" '
              f'sourceRef="comp_{task}" targetRef="undo_{task}" />')


def test_compensation_throw_runs_handlers_of_completed_activities_in_reverse(harness):
    harness.deploy("p.bpmn", bpmn(
        "comp", START, compensable("book"), compensable("pay"),
        throw("undo", '<bpmn:compensateEventDefinition />'), out("after", "order", "${undone_book}"),
        END, chain("s", "book", "pay", "undo", "after", "e")))
    done = harness.engine.start("comp")
    assert done.status == "completed"
    assert done.variables["undone_book"] is done.variables["undone_pay"] is True
    history = [h.activity_id for h in harness.engine.history(done.id)
               if h.kind == "activity.completed" and (h.activity_id or "").startswith("undo_")]
    assert history == ["undo_pay", "undo_book"]  # latest completion compensated first


def test_compensation_of_one_activity_by_activity_ref(harness):
    harness.deploy("p.bpmn", bpmn(
        "compref", START, compensable("book"), compensable("pay"),
        '<bpmn:endEvent id="e"><bpmn:compensateEventDefinition activityRef="book" /></bpmn:endEvent>',
        chain("s", "book", "pay", "e")))
    done = harness.engine.start("compref")
    assert done.variables.get("undone_book") is True and "undone_pay" not in done.variables


def sub_with_compensation_event_sub_process(*esp_body: str) -> str:
    """A sub-process that sets a local variable and completes a compensable task; its
    compensation event sub-process (start ``comp_esp_s``) runs ``esp_body``."""
    local = ('<bpmn:serviceTask id="local" '
             'camunda:expression="${execution.setVariableLocal(\'booking\', \'B-1\')}" />')
    return ('<bpmn:subProcess id="sub"><bpmn:startEvent id="ss" />' + local + compensable("book")
            + '<bpmn:endEvent id="se" />' + chain("ss", "local", "book", "se")
            + event_sub("comp_esp", '<bpmn:compensateEventDefinition />', *esp_body)
            + '</bpmn:subProcess>')


def test_compensation_event_sub_process_replaces_the_inner_compensation(harness):
    harness.deploy("p.bpmn", bpmn(
        "compesp", START, sub_with_compensation_event_sub_process(
            out("esp_log", "esp_saw", "${booking}"), '<bpmn:endEvent id="esp_e" />',
            chain("comp_esp_s", "esp_log", "esp_e")),
        throw("undo", '<bpmn:compensateEventDefinition />'), END, chain("s", "sub", "undo", "e")))
    done = harness.engine.start("compesp")
    assert done.status == "completed"
    # it saw the sub-process's local variable as it was; the inner handler did not run
    assert done.variables["esp_saw"] == "B-1"
    assert "undone_book" not in done.variables and "booking" not in done.variables


def test_compensation_event_sub_process_that_throws_compensates_the_inner_activities(harness):
    harness.deploy("p.bpmn", bpmn(
        "compesp2", START, sub_with_compensation_event_sub_process(
            out("esp_log", "esp_saw", "${booking}"),
            throw("esp_undo", '<bpmn:compensateEventDefinition />'),
            out("esp_after", "inner_undone", "${undone_book}"), '<bpmn:endEvent id="esp_e" />',
            chain("comp_esp_s", "esp_log", "esp_undo", "esp_after", "esp_e")),
        '<bpmn:endEvent id="e"><bpmn:compensateEventDefinition /></bpmn:endEvent>',
        chain("s", "sub", "e")))
    done = harness.engine.start("compesp2")
    assert done.status == "completed"
    assert done.variables["inner_undone"] is True and done.variables["esp_saw"] == "B-1"
    order = [h.activity_id for h in harness.engine.history(done.id)
             if h.kind == "activity.completed"
             and h.activity_id in ("esp_log", "undo_book", "esp_after", "comp_esp", "e")]
    assert order == ["esp_log", "undo_book", "esp_after", "comp_esp", "e"]


def test_compensation_event_sub_process_runs_once_per_multi_instance_inner_instance(harness):
    loop = ('<bpmn:multiInstanceLoopCharacteristics isSequential="true"><bpmn:loopCardinality>'
            '3</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>')
    sub = sub_with_compensation_event_sub_process(
        out("esp_log", "esp_saw", "${loopCounter}"), '<bpmn:endEvent id="esp_e" />',
        chain("comp_esp_s", "esp_log", "esp_e")).replace(
        '<bpmn:subProcess id="sub">', '<bpmn:subProcess id="sub">' + loop, 1)
    harness.deploy("p.bpmn", bpmn(
        "compmi", START, sub, throw("undo", '<bpmn:compensateEventDefinition />'), END,
        chain("s", "sub", "undo", "e")))
    done = harness.engine.start("compmi")
    assert done.status == "completed"
    runs = [h for h in harness.engine.history(done.id)
            if h.kind == "activity.completed" and h.activity_id == "esp_log"]
    assert len(runs) == 3
    # each run sees its own inner instance; the first instance is compensated last
    assert done.variables["esp_saw"] == 0


def test_transaction_cancel_compensates_and_leaves_by_the_cancel_boundary(harness):
    tx = ('<bpmn:transaction id="tx"><bpmn:startEvent id="ts" />' + compensable("reserve")
          + '<bpmn:endEvent id="cancel"><bpmn:cancelEventDefinition /></bpmn:endEvent>'
          + chain("ts", "reserve", "cancel") + '</bpmn:transaction>')
    harness.deploy("p.bpmn", bpmn(
        "txn", START, tx, boundary("cancelled", "tx", '<bpmn:cancelEventDefinition />'),
        out("normal", "route", "normal"), out("rolled_back", "route", "cancelled"), END,
        '<bpmn:endEvent id="e2" />', chain("s", "tx", "normal", "e"),
        chain("cancelled", "rolled_back", "e2")))
    done = harness.engine.start("txn")
    assert done.status == "completed"
    assert done.variables["route"] == "cancelled" and done.variables["undone_reserve"] is True
