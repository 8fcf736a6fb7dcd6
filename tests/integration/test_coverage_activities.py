"""Coverage of Camunda 7's activities: call activities, multi-instance, asynchronous
continuations, listeners, user tasks (docs/bpmn-coverage.md): each test is one row."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import ValidationError, clock
from engine.user_tasks import UserTaskService
from tests.support.bpmn import bpmn, chain, definitions, external, flow, process

START, END = '<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />'


def out(tid: str, name: str, expr: str) -> str:
    return (f'<bpmn:task id="{tid}"><bpmn:extensionElements><camunda:inputOutput>'
            f'<camunda:outputParameter name="{name}">{expr}</camunda:outputParameter>'
            '</camunda:inputOutput></bpmn:extensionElements></bpmn:task>')


def mi(body: str, *, sequential: bool = False, cardinality: str | None = None,
       collection: str | None = None, element: str | None = None,
       completion: str | None = None, attrs: str = "") -> str:
    inner = ""
    if cardinality is not None:
        inner += f"<bpmn:loopCardinality>{cardinality}</bpmn:loopCardinality>"
    if completion is not None:
        completion = completion.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        inner += f"<bpmn:completionCondition>{completion}</bpmn:completionCondition>"
    extra = (f' camunda:collection="{collection}"' if collection else "") + (
        f' camunda:elementVariable="{element}"' if element else "")
    return (f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}"'
            f'{extra} {attrs}>{inner}</bpmn:multiInstanceLoopCharacteristics>')


def history(harness, instance_id: str, kind: str) -> list[str]:
    return [h.activity_id for h in harness.engine.history(instance_id) if h.kind == kind]


# ------------------------------------------------------------------ call activities


def test_call_activity_business_key_local_and_expression_mappings(harness):
    child = process("child", START, out("t", "result", "${inp * 10}"), END, chain("s", "t", "e"))
    parent = process(
        "parent", START,
        '<bpmn:callActivity id="call" calledElement="child"><bpmn:extensionElements>'
        '<camunda:in businessKey="${execution.processBusinessKey}-child" />'
        '<camunda:in sourceExpression="${x + 1}" target="inp" />'
        '<camunda:out source="result" target="r" />'
        '<camunda:out sourceExpression="${result + 1}" target="r_plus" />'
        '</bpmn:extensionElements></bpmn:callActivity>', END, chain("s", "call", "e"))
    harness.engine.deploy([("both.bpmn", definitions(parent, child))])
    done = harness.engine.start("parent", {"x": 1}, business_key="order-9")
    assert done.variables == {"x": 1, "r": 20, "r_plus": 21}


def test_called_element_binding_deployment_and_version(harness):
    child_v1 = process("versioned", START, out("t", "v", "${1}"), END, chain("s", "t", "e"))
    child_v2 = process("versioned", START, out("t", "v", "${2}"), END, chain("s", "t", "e"))
    call = ('<bpmn:callActivity id="call" calledElement="versioned" {attrs}>'
            '<bpmn:extensionElements><camunda:out variables="all" /></bpmn:extensionElements>'
            '</bpmn:callActivity>')
    pinned = process("pinned", START, call.format(attrs='camunda:calledElementBinding="version" '
                                                  'camunda:calledElementVersion="1"'), END,
                     chain("s", "call", "e"))
    same = process("same", START, call.format(attrs='camunda:calledElementBinding="deployment"'),
                   END, chain("s", "call", "e"))
    latest = process("latest", START, call.format(attrs=""), END, chain("s", "call", "e"))
    harness.engine.deploy([("one.bpmn", definitions(child_v1, same))])
    harness.engine.deploy([("child.bpmn", definitions(child_v2)),
                           ("callers.bpmn", definitions(pinned, latest))])
    assert harness.engine.start("pinned").variables["v"] == 1
    assert harness.engine.start("same").variables["v"] == 1
    assert harness.engine.start("latest").variables["v"] == 2


def test_called_element_expression_picks_the_process_at_run_time(harness):
    from engine import ExecutionError

    children = [process(key, START, out("t", "v", key), END, chain("s", "t", "e"))
                for key in ("score_fast", "score_full")]
    caller = process("router", START, (
        '<bpmn:callActivity id="call" calledElement="score_${mode}"><bpmn:extensionElements>'
        '<camunda:out variables="all" /></bpmn:extensionElements></bpmn:callActivity>'),
        END, chain("s", "call", "e"))
    harness.engine.deploy([("all.bpmn", definitions(caller, *children))])
    assert harness.engine.start("router", {"mode": "fast"}).variables["v"] == "score_fast"
    assert harness.engine.start("router", {"mode": "full"}).variables["v"] == "score_full"
    with pytest.raises(ExecutionError, match="called process 'score_none'"):
        harness.engine.start("router", {"mode": "none"})


def tagged(tag: str | None, value: int) -> str:
    """The called process ``tagged``, returning ``value`` as ``v``, with a version tag."""
    body = process("tagged", START, out("t", "v", f"${{{value}}}"), END, chain("s", "t", "e"))
    return body if tag is None else body.replace(
        '<bpmn:process id="tagged"', f'<bpmn:process id="tagged" camunda:versionTag="{tag}"', 1)


def tag_caller(pid: str, tag: str, attrs: str = "") -> str:
    return process(pid, START, (
        f'<bpmn:callActivity id="call" calledElement="tagged" {attrs} '
        'camunda:calledElementBinding="versionTag" '
        f'camunda:calledElementVersionTag="{tag}"><bpmn:extensionElements>'
        '<camunda:out variables="all" /><camunda:failedJobRetryTimeCycle>R1/PT1M'
        '</camunda:failedJobRetryTimeCycle></bpmn:extensionElements></bpmn:callActivity>'),
        END, chain("s", "call", "e"))


def test_called_element_binding_version_tag(harness):
    from engine import ExecutionError

    first = harness.engine.deploy([("c1.bpmn", definitions(tagged("release-1", 1)))])
    assert first.processes[0].version_tag == "release-1"
    harness.engine.deploy([("c2.bpmn", definitions(tagged("release-2", 2)))])
    harness.engine.deploy([("c3.bpmn", definitions(tagged(None, 3)))])  # the latest: no tag
    harness.engine.deploy([("callers.bpmn", definitions(
        tag_caller("by_tag", "release-1"), tag_caller("by_expression", "${wanted}"),
        tag_caller("missing", "release-9", 'camunda:asyncBefore="true"')))])
    assert harness.engine.start("by_tag").variables["v"] == 1
    assert harness.engine.start("by_expression", {"wanted": "release-2"}).variables["v"] == 2
    # no definition carries the tag: the job fails and its incident names key and tag
    instance = harness.engine.start("missing")
    harness.drain()
    [incident] = harness.engine.get_instance(instance.id).incidents
    assert "'tagged'" in incident.message and "'release-9'" in incident.message
    # two versions with one tag: Camunda 7 refuses to choose, and so does this engine
    harness.engine.deploy([("c4.bpmn", definitions(tagged("release-1", 4)))])
    with pytest.raises(ExecutionError, match="2 deployed versions of process 'tagged' carry "
                       "camunda:versionTag 'release-1'"):
        harness.engine.start("by_tag")


# ------------------------------------------------------------------ multi-instance


def test_parallel_multi_instance_external_task_over_a_collection(harness):
    harness.deploy("p.bpmn", bpmn(
        "score", START, external("each", "score", mi("", collection="${files}", element="file")),
        END, chain("s", "each", "e")))
    seen = []
    harness.handle("score", lambda ctx: seen.append(
        (ctx.variables["file"], ctx.variables["loopCounter"], ctx.variables["nrOfInstances"])))
    instance = harness.engine.start("score", {"files": ["a.csv", "b.csv", "c.csv"]})
    assert len(harness.tasks.list()) == 3  # all at once
    assert harness.drain() == 3
    assert sorted(seen) == [("a.csv", 0, 3), ("b.csv", 1, 3), ("c.csv", 2, 3)]
    done = harness.engine.get_instance(instance.id)
    assert done.status == "completed"
    assert "file" not in done.variables and "loopCounter" not in done.variables


def test_sequential_multi_instance_runs_one_after_another(harness):
    harness.deploy("p.bpmn", bpmn(
        "seq", START, external("each", "step", mi("", sequential=True, cardinality="3")), END,
        chain("s", "each", "e")))
    order = []
    harness.handle("step", lambda ctx: order.append(ctx.variables["loopCounter"]))
    instance = harness.engine.start("seq")
    for _ in range(3):
        assert len(harness.tasks.list()) == 1
        harness.worker.run_once()
    assert order == [0, 1, 2] and harness.status(instance.id) == "completed"


def test_completion_condition_cancels_the_remaining_instances(harness):
    harness.deploy("p.bpmn", bpmn(
        "quorum", START, external("vote", "vote", mi(
            "", cardinality="${voters}", completion="${nrOfCompletedInstances >= 2}")),
        out("after", "done", "${true}"), END, chain("s", "vote", "after", "e")))
    harness.handle("vote", lambda ctx: None)
    instance = harness.engine.start("quorum", {"voters": 5})
    assert len(harness.tasks.list()) == 5
    harness.worker.run_once()
    harness.worker.run_once()
    done = harness.engine.get_instance(instance.id)
    assert done.status == "completed" and done.variables["done"] is True
    assert harness.tasks.list() == []
    assert history(harness, instance.id, "activity.cancelled").count("vote") == 3


def test_multi_instance_sub_process_with_its_own_scope_per_instance(harness):
    sub = ('<bpmn:subProcess id="per_model">' + mi("", collection="${models}", element="m")
           + '<bpmn:startEvent id="ss" />' + external("check", "check") + '<bpmn:endEvent id="se" />'
           + chain("ss", "check", "se") + '</bpmn:subProcess>')
    harness.deploy("p.bpmn", bpmn("mis", START, sub, END, chain("s", "per_model", "e")))
    harness.handle("check", lambda ctx: {"last_checked": ctx.variables["m"]})
    instance = harness.engine.start("mis", {"models": ["m1", "m2"]})
    assert sorted(t.variables["m"] for t in harness.tasks.list()) == ["m1", "m2"]
    harness.drain()
    done = harness.engine.get_instance(instance.id)
    assert done.status == "completed" and done.variables["last_checked"] in ("m1", "m2")


def test_multi_instance_call_activity(harness):
    child = process("sq", START, out("t", "y", "${n * n}"), END, chain("s", "t", "e"))
    parent = process("squares", START, '<bpmn:callActivity id="call" calledElement="sq">'
                     + mi("", collection="${ns}", element="n")
                     + '<bpmn:extensionElements><camunda:in source="n" target="n" />'
                     '<camunda:out source="y" target="last" /></bpmn:extensionElements>'
                     '</bpmn:callActivity>', END, chain("s", "call", "e"))
    harness.engine.deploy([("p.bpmn", definitions(parent, child))])
    done = harness.engine.start("squares", {"ns": [2, 3]})
    assert done.status == "completed" and done.variables["last"] in (4, 9)
    assert history(harness, done.id, "activity.started").count("call") == 3  # body + 2


def test_boundary_timer_on_a_multi_instance_body_cancels_every_instance(harness):
    harness.deploy("p.bpmn", bpmn(
        "mit", START, external("each", "slow", mi("", cardinality="3")),
        '<bpmn:boundaryEvent id="late" attachedToRef="each"><bpmn:timerEventDefinition>'
        '<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>',
        END, '<bpmn:endEvent id="e2" />', chain("s", "each", "e"), flow("late", "e2")))
    instance = harness.engine.start("mit")
    assert len(harness.tasks.list()) == 3
    clock.advance(timedelta(hours=2))
    assert harness.engine.fire_due_timers() == 1
    assert harness.status(instance.id) == "completed" and harness.tasks.list() == []


def test_multi_instance_over_a_non_list_is_a_clear_error(harness):
    harness.deploy("p.bpmn", bpmn("bad", START, external("each", "x", mi(
        "", collection="${files}", element="f")), END, chain("s", "each", "e")))
    from engine import ExecutionError

    with pytest.raises(ExecutionError, match="collection of 'each' must be a list"):
        harness.engine.start("bad", {"files": "a.csv"})


# ------------------------------------------------------------------ asynchronous continuations


def test_async_before_and_after_are_jobs_the_worker_runs(harness):
    harness.deploy("p.bpmn", bpmn(
        "async", START, out("before", "b", "${1}").replace(
            '<bpmn:task id="before"', '<bpmn:task id="before" camunda:asyncBefore="true"'),
        out("after", "a", "${b + 1}").replace(
            '<bpmn:task id="after"', '<bpmn:task id="after" camunda:asyncAfter="true"'),
        END, chain("s", "before", "after", "e")))
    instance = harness.engine.start("async")
    assert instance.status == "waiting" and instance.active_activities == ["before"]
    assert harness.worker.run_once() == 1  # the async-before job: one transaction
    running = harness.engine.get_instance(instance.id)
    assert running.variables == {"b": 1, "a": 2} and running.active_activities == ["after"]
    assert harness.worker.run_once() == 1  # the async-after job: another
    assert harness.status(instance.id) == "completed"
    assert history(harness, instance.id, "job.executed") == ["before", "after"]


def test_a_failing_async_job_retries_then_opens_an_incident_that_retry_resumes(harness):
    harness.deploy("p.bpmn", bpmn(
        "asyncfail", START,
        '<bpmn:serviceTask id="calc" camunda:asyncBefore="true" camunda:expression="${10 / d}" '
        'camunda:resultVariable="q"><bpmn:extensionElements><camunda:failedJobRetryTimeCycle>'
        'R2/PT1M</camunda:failedJobRetryTimeCycle></bpmn:extensionElements></bpmn:serviceTask>',
        END, chain("s", "calc", "e")))
    instance = harness.engine.start("asyncfail", {"d": "zero"})
    harness.drain()
    assert harness.status(instance.id) == "waiting"  # one retry left, a minute from now
    clock.advance(timedelta(minutes=2))
    harness.drain()
    [incident] = harness.engine.get_instance(instance.id).incidents
    assert incident.kind == "failedJob" and incident.job_id
    harness.engine.set_variables(instance.id, {"d": 5})
    harness.tasks.retry_incident(incident.id)
    harness.drain()
    done = harness.engine.get_instance(instance.id)
    assert done.status == "completed" and done.variables["q"] == 2


# ------------------------------------------------------------------ listeners


def test_execution_listeners_on_activities_flows_and_the_process(harness):
    listen = ('<bpmn:extensionElements><camunda:executionListener event="{event}" '
              'expression="${{execution.setVariable(\'{name}\', {value})}}" />'
              '</bpmn:extensionElements>')
    task = ('<bpmn:task id="t">' + listen.format(event="start", name="started", value="true")
            .replace("</bpmn:extensionElements>", '<camunda:executionListener event="end" '
                     'expression="${execution.setVariable(\'ended\', started)}" />'
                     '</bpmn:extensionElements>') + '</bpmn:task>')
    taken = ('<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e">'
             + listen.format(event="take", name="took", value="'f2'") + '</bpmn:sequenceFlow>')
    body = bpmn("listened", START, task, END, flow("s", "t"), taken).replace(
        b'isExecutable="true">', b'isExecutable="true">' + listen.format(
            event="end", name="process_ended", value="true").encode())
    harness.deploy("p.bpmn", body)
    done = harness.engine.start("listened")
    assert done.variables == {"started": True, "ended": True, "took": "f2",
                                 "process_ended": True}


def test_delegate_listener_runs_when_registered_and_is_refused_when_not(harness):
    body = bpmn("audited", START, '<bpmn:task id="t"><bpmn:extensionElements>'
                '<camunda:executionListener event="end" delegateExpression="${auditTrail}" />'
                '</bpmn:extensionElements></bpmn:task>', END, chain("s", "t", "e"))
    with pytest.raises(ValidationError, match="listener 'auditTrail' is not registered") as info:
        harness.deploy("p.bpmn", body)
    assert info.value.problems[0].element_id == "t" and info.value.problems[0].line
    seen = []
    harness.handlers.register_listener("auditTrail", lambda execution: (
        seen.append((execution.activity_id, execution.event_name)),
        execution.set_variable("audited", True)))
    harness.deploy("p.bpmn", body)
    assert harness.engine.start("audited").variables == {"audited": True}
    assert seen == [("t", "end")]


def timeout_listener(lid: str, timer: str, variable: str) -> str:
    return (f'<camunda:taskListener id="{lid}" event="timeout" expression="${{execution.'
            f'setVariable(\'{variable}\', {variable} + 1)}}"><bpmn:timerEventDefinition>{timer}'
            '</bpmn:timerEventDefinition></camunda:taskListener>')


def test_timeout_task_listeners_fire_while_the_task_stays_open(harness):
    user = ('<bpmn:userTask id="review"><bpmn:extensionElements>'
            + timeout_listener("remind", "<bpmn:timeCycle>R2/PT1H</bpmn:timeCycle>", "reminded")
            + timeout_listener("escalate", "<bpmn:timeDuration>${grace}</bpmn:timeDuration>",
                               "escalated")
            + '</bpmn:extensionElements></bpmn:userTask>')
    harness.deploy("p.bpmn", bpmn("timeouts", START, user, END, chain("s", "review", "e")))
    instance = harness.engine.start("timeouts", {"reminded": 0, "escalated": 0,
                                                 "grace": "PT90M"})
    tasks = UserTaskService(harness.engine)
    assert harness.engine.fire_due_timers() == 0
    clock.advance(timedelta(hours=1, seconds=1))
    assert harness.engine.fire_due_timers() == 1  # the first reminder
    clock.advance(timedelta(minutes=30))
    assert harness.engine.fire_due_timers() == 1  # the escalation (90 minutes)
    clock.advance(timedelta(minutes=30))
    assert harness.engine.fire_due_timers() == 1  # the second and last reminder
    clock.advance(timedelta(hours=5))
    assert harness.engine.fire_due_timers() == 0
    seen = harness.engine.get_instance(instance.id)
    assert (seen.variables["reminded"], seen.variables["escalated"]) == (2, 1)
    [task] = tasks.list()  # still open: a timeout listener does not complete the task
    assert seen.active_activities == ["review"]
    tasks.complete(task.id, {})
    assert harness.status(instance.id) == "completed"


def test_a_timeout_listener_of_a_completed_task_never_fires(harness):
    user = ('<bpmn:userTask id="review"><bpmn:extensionElements>'
            + timeout_listener("late", "<bpmn:timeDuration>PT1H</bpmn:timeDuration>", "late")
            + '</bpmn:extensionElements></bpmn:userTask>')
    harness.deploy("p.bpmn", bpmn("ontime", START, user, END, chain("s", "review", "e")))
    instance = harness.engine.start("ontime", {"late": 0})
    tasks = UserTaskService(harness.engine)
    tasks.complete(tasks.list()[0].id, {})
    clock.advance(timedelta(hours=2))
    assert harness.engine.fire_due_timers() == 0
    assert harness.engine.get_instance(instance.id).variables["late"] == 0


def test_task_listeners_and_the_user_task_api(harness):
    user = ('<bpmn:userTask id="approve" name="Approve model" camunda:assignee="${reviewer}" '
            'camunda:candidateGroups="risk, ops" camunda:dueDate="${due}" '
            'camunda:formKey="embedded:app:forms/approve.html" camunda:priority="80">'
            '<bpmn:extensionElements><camunda:formData><camunda:formField id="ok" label="OK?" '
            'type="boolean" /></camunda:formData>'
            '<camunda:taskListener event="create" expression="${execution.setVariable('
            '\'created_for\', task.assignee)}" />'
            '<camunda:taskListener event="complete" expression="${execution.setVariable('
            '\'closed\', true)}" /></bpmn:extensionElements></bpmn:userTask>')
    harness.deploy("p.bpmn", bpmn("review", START, user, END, chain("s", "approve", "e")))
    instance = harness.engine.start("review", {"reviewer": "ana", "due": "2027-01-01T00:00:00Z"})
    tasks = UserTaskService(harness.engine)
    [task] = tasks.list(candidate_group="risk")
    assert (task.name, task.assignee, task.due_date, task.priority,
            task.form_key) == ("Approve model", "ana", "2027-01-01T00:00:00Z", 80,
                                  "embedded:app:forms/approve.html")
    assert task.candidate_groups == ["risk", "ops"]
    assert task.form["fields"][0]["id"] == "ok"
    assert harness.engine.get_instance(instance.id).variables["created_for"] == "ana"
    from engine import ConflictError

    with pytest.raises(ConflictError):
        tasks.complete(task.id, {"ok": True}, user="bob")
    tasks.complete(task.id, {"ok": True}, user="ana")
    done = harness.engine.get_instance(instance.id)
    assert done.status == "completed"
    assert done.variables["ok"] is True and done.variables["closed"] is True
    assert tasks.list() == []
