"""Signals, messages and timers through the event-subscription index."""

from datetime import timedelta

import pytest

from engine import ConflictError, Engine, NotFoundError, SignalResult, clock
from tests.support.bpmn import bpmn, chain, external, flow

START, END = '<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />'
SIGNALS = '<bpmn:signal id="SigGo" name="go" /><bpmn:signal id="SigRun" name="mlc.run" />'
MESSAGES = '<bpmn:message id="MsgDone" name="ticket.resolved" />'


def catch(eid: str, definition: str) -> str:
    return f'<bpmn:intermediateCatchEvent id="{eid}">{definition}</bpmn:intermediateCatchEvent>'


def timer(kind: str, value: str) -> str:
    return f'<bpmn:timerEventDefinition><bpmn:{kind}>{value}</bpmn:{kind}></bpmn:timerEventDefinition>'


def test_signal_starts_definitions_and_resumes_only_waiting_instances(harness):
    harness.deploy("start.bpmn", bpmn(
        "on_run", '<bpmn:startEvent id="s"><bpmn:signalEventDefinition signalRef="SigRun" /></bpmn:startEvent>',
        external("work", "work"), END, chain("s", "work", "e"), extra=SIGNALS))
    harness.deploy("wait.bpmn", bpmn(
        "waiter", START, catch("w", '<bpmn:signalEventDefinition signalRef="SigGo" />'), END,
        chain("s", "w", "e"), extra=SIGNALS))
    waiting = [harness.engine.start("waiter").id for _ in range(3)]
    result = harness.engine.signal("mlc.run", {"MODEL_ID": "m-1"})
    [started] = result.started
    assert result.resumed == []
    assert harness.engine.get_instance(started).active_activities == ["work"]
    assert harness.engine.get_instance(started).variables["MODEL_ID"] == "m-1"
    go = harness.engine.signal("go", {"x": 1})
    assert sorted(go.resumed) == sorted(waiting) and go.started == []
    assert all(harness.status(i) == "completed" for i in waiting)
    assert harness.engine.signal("go") == SignalResult(started=[], resumed=[], unheard=True)
    assert harness.engine.signal("mlc.run").resumed == []  # started instances do not wait on it


def test_process_with_two_signal_starts_runs_the_fired_one_only(harness):
    harness.deploy("two.bpmn", bpmn(
        "two_starts",
        '<bpmn:startEvent id="s_jira"><bpmn:signalEventDefinition signalRef="SigGo" /></bpmn:startEvent>',
        '<bpmn:startEvent id="s_snow"><bpmn:signalEventDefinition signalRef="SigRun" /></bpmn:startEvent>',
        '<bpmn:task id="jira"><bpmn:extensionElements><camunda:inputOutput><camunda:outputParameter name="SYSTEM">jira</camunda:outputParameter></camunda:inputOutput></bpmn:extensionElements></bpmn:task>',
        external("work", "work"), END, flow("s_jira", "jira"), flow("jira", "work"),
        flow("s_snow", "work"), flow("work", "e"), extra=SIGNALS))
    [instance] = harness.engine.signal("go").started
    state = harness.engine.get_instance(instance)
    assert state.active_activities == ["work"] and state.variables["SYSTEM"] == "jira"
    harness.handle("work")
    harness.drain()
    assert harness.status(instance) == "completed"


def test_message_correlates_by_variable_and_business_key(harness):
    harness.deploy("m.bpmn", bpmn(
        "review", START, '<bpmn:receiveTask id="wait" messageRef="MsgDone" />', END,
        chain("s", "wait", "e"), extra=MESSAGES))
    a = harness.engine.start("review", {"TICKET_KEY": "MLC-1"}, business_key="model-a")
    b = harness.engine.start("review", {"TICKET_KEY": "MLC-2"}, business_key="model-b")
    with pytest.raises(ConflictError):
        harness.engine.correlate_message("ticket.resolved")
    with pytest.raises(NotFoundError, match="no waiting instance"):
        harness.engine.correlate_message("ticket.resolved", correlation={"TICKET_KEY": "MLC-9"})
    assert harness.engine.correlate_message(
        "ticket.resolved", correlation={"TICKET_KEY": "MLC-2"},
        variables={"TICKET_STATUS": "Done"}) == [b.id]
    assert harness.engine.get_instance(b.id).variables["TICKET_STATUS"] == "Done"
    assert harness.status(a.id) == "waiting"
    assert harness.engine.correlate_message("ticket.resolved", business_key="model-a") == [a.id]
    with pytest.raises(NotFoundError):
        harness.engine.correlate_message("ticket.resolved", business_key="model-a")
    with pytest.raises(NotFoundError):
        harness.engine.correlate_message("unknown.message")


def test_message_start_event_starts_an_instance(harness):
    harness.deploy("ms.bpmn", bpmn(
        "by_message", '<bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="MsgDone" /></bpmn:startEvent>',
        external("w", "w"), END, chain("s", "w", "e"), extra=MESSAGES))
    [instance] = harness.engine.correlate_message("ticket.resolved", variables={"k": 1})
    assert harness.engine.get_instance(instance).variables["k"] == 1


def test_waiting_timers_fire_once_after_a_restart(harness, database):
    harness.deploy("t.bpmn", bpmn("pause", START, catch("t", timer("timeDuration", "PT10M")), END,
                                  chain("s", "t", "e")))
    ids = [harness.engine.start("pause").id for _ in range(3)]
    assert harness.engine.fire_due_timers() == 0
    # "restart": a brand-new engine over the same database, after the timers fell due
    clock.advance(timedelta(minutes=11))
    restarted = Engine(database)
    assert restarted.fire_due_timers() == 3
    assert restarted.fire_due_timers() == 0
    assert all(restarted.get_instance(i).status == "completed" for i in ids)
    fired = [h for i in ids for h in restarted.history(i) if h.kind == "timer.fired"]
    assert len(fired) == 3


def test_timer_date_and_expression_duration(harness):
    due = (clock.now() + timedelta(hours=2)).isoformat()
    harness.deploy("t.bpmn", bpmn(
        "dated", START, catch("t1", timer("timeDate", due)),
        catch("t2", timer("timeDuration", "${wait}")), END, chain("s", "t1", "t2", "e")))
    instance = harness.engine.start("dated", {"wait": "PT30M"})
    clock.advance(timedelta(hours=1))
    assert harness.engine.fire_due_timers() == 0
    clock.advance(timedelta(hours=1, seconds=1))
    assert harness.engine.fire_due_timers() == 1
    assert harness.engine.get_instance(instance.id).active_activities == ["t2"]
    clock.advance(timedelta(minutes=31))
    assert harness.engine.fire_due_timers() == 1
    assert harness.status(instance.id) == "completed"


def test_interrupting_boundary_timer_cancels_the_task(harness):
    harness.deploy("b.bpmn", bpmn(
        "deadline", START, external("slow", "slow"),
        f'<bpmn:boundaryEvent id="late" attachedToRef="slow">{timer("timeDuration", "PT1H")}</bpmn:boundaryEvent>',
        END, '<bpmn:endEvent id="e_late" />', flow("s", "slow"), flow("slow", "e"),
        flow("late", "e_late")))
    instance = harness.engine.start("deadline")
    assert len(harness.tasks.list()) == 1
    clock.advance(timedelta(hours=1, seconds=1))
    assert harness.engine.fire_due_timers() == 1
    assert harness.status(instance.id) == "completed"
    assert harness.tasks.list() == []
    history = harness.engine.history(instance.id)
    assert any(h.activity_id == "e_late" for h in history)


def test_non_interrupting_cycle_boundary_timer_repeats_while_task_waits(harness):
    harness.deploy("b.bpmn", bpmn(
        "reminders", START, external("slow", "slow"),
        f'<bpmn:boundaryEvent id="remind" cancelActivity="false" attachedToRef="slow">{timer("timeCycle", "R3/PT10M")}</bpmn:boundaryEvent>',
        external("nudge", "nudge"), END, '<bpmn:endEvent id="e2" />',
        flow("s", "slow"), flow("slow", "e"), flow("remind", "nudge"), flow("nudge", "e2")))
    harness.handle("nudge")
    instance = harness.engine.start("reminders")
    for _ in range(4):
        clock.advance(timedelta(minutes=10, seconds=1))
        harness.engine.fire_due_timers()
        harness.drain()
    assert harness.calls["nudge"] == 3
    assert [t.topic for t in harness.tasks.list()] == ["slow"]
    harness.handle("slow")
    harness.drain()
    assert harness.status(instance.id) == "completed"


def test_event_based_gateway_takes_the_first_event(harness):
    gateway = [START, '<bpmn:eventBasedGateway id="g" />',
               catch("msg", '<bpmn:messageEventDefinition messageRef="MsgDone" />'),
               catch("late", timer("timeDuration", "P1D")), END, '<bpmn:endEvent id="e_late" />',
               flow("s", "g"), flow("g", "msg"), flow("g", "late"), flow("msg", "e"),
               flow("late", "e_late")]
    harness.deploy("g.bpmn", bpmn("race", *gateway, extra=MESSAGES))
    by_message = harness.engine.start("race", {"TICKET_KEY": "K1"})
    by_timer = harness.engine.start("race", {"TICKET_KEY": "K2"})
    harness.engine.correlate_message("ticket.resolved", correlation={"TICKET_KEY": "K1"})
    clock.advance(timedelta(days=1, seconds=1))
    assert harness.engine.fire_due_timers() == 1          # K1's timer was withdrawn
    ends = {i: [h.activity_id for h in harness.engine.history(i) if h.kind == "activity.completed"][-1]
            for i in (by_message.id, by_timer.id)}
    assert ends == {by_message.id: "e", by_timer.id: "e_late"}


def test_timer_start_cycle_and_cron_start_instances_on_schedule(harness):
    clock.reset()
    harness.deploy("cycle.bpmn", bpmn(
        "every_ten", f'<bpmn:startEvent id="s">{timer("timeCycle", "R2/PT10M")}</bpmn:startEvent>',
        END, chain("s", "e")))
    harness.deploy("cron.bpmn", bpmn(
        "hourly", f'<bpmn:startEvent id="s">{timer("timeCycle", "0 0 * * * ?")}</bpmn:startEvent>',
        END, chain("s", "e")))
    def started(key):
        return len(harness.engine.list_instances(key=key))
    for _ in range(6):
        clock.advance(timedelta(minutes=10, seconds=1))
        harness.engine.fire_due_timers()
    assert started("every_ten") == 2                     # R2: exactly two firings
    assert started("hourly") == 1                        # one top of the hour in the hour passed
    clock.advance(timedelta(hours=3))
    harness.engine.fire_due_timers()
    harness.engine.fire_due_timers()
    assert started("hourly") == 2                        # missed hours fire once, not three times


def test_redeploy_moves_start_subscriptions_to_new_version(harness):
    data = bpmn("on_go", '<bpmn:startEvent id="s"><bpmn:signalEventDefinition signalRef="SigGo" /></bpmn:startEvent>',
                END, chain("s", "e"), extra=SIGNALS)
    harness.deploy("a.bpmn", data)
    v2 = harness.deploy("a.bpmn", data.replace(b'id="e"', b'id="e" name="v2"')).processes[0]
    [instance] = harness.engine.signal("go").started
    assert harness.engine.get_instance(instance).definition_id == v2.id
