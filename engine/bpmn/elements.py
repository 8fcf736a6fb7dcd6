"""Builders of the flow elements of the Camunda 7 dialect: events and tasks.

``BUILDERS`` maps each BPMN tag to the function that reads the element (its attributes,
``camunda:`` extensions and event definition) into a :class:`~engine.bpmn.model.Node`,
reporting what it cannot run as a located problem. ``parser.py`` walks the document and
calls them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lxml import etree

from .extensions import (
    NS,
    c,
    call_mappings,
    delegate_name,
    listeners,
    local,
    properties,
    timer_definition,
    user_task,
)
from .model import EventDefinition, Kind, Node, Trigger

if TYPE_CHECKING:  # pragma: no cover
    from .parser import _Document

Builder = Callable[["_Document", etree._Element, str], Node | None]
"""Reads one flow element (document, element, tag) into a node, or None after reporting why."""

ALLOWED_TRIGGERS = {
    ("startEvent", "process"): {Trigger.NONE, Trigger.MESSAGE, Trigger.SIGNAL, Trigger.TIMER,
                                Trigger.CONDITIONAL},
    ("startEvent", "event"): {Trigger.MESSAGE, Trigger.SIGNAL, Trigger.TIMER, Trigger.CONDITIONAL,
                              Trigger.ERROR, Trigger.ESCALATION, Trigger.COMPENSATE},
    ("startEvent", "sub"): {Trigger.NONE},
    ("endEvent", ""): {Trigger.NONE, Trigger.MESSAGE, Trigger.SIGNAL, Trigger.ERROR,
                       Trigger.ESCALATION, Trigger.COMPENSATE, Trigger.CANCEL, Trigger.TERMINATE},
    ("intermediateThrowEvent", ""): {Trigger.NONE, Trigger.MESSAGE, Trigger.SIGNAL,
                                     Trigger.ESCALATION, Trigger.COMPENSATE, Trigger.LINK},
    ("intermediateCatchEvent", ""): {Trigger.MESSAGE, Trigger.SIGNAL, Trigger.TIMER,
                                     Trigger.CONDITIONAL, Trigger.LINK},
    ("boundaryEvent", ""): {Trigger.MESSAGE, Trigger.SIGNAL, Trigger.TIMER, Trigger.ERROR,
                            Trigger.ESCALATION, Trigger.COMPENSATE, Trigger.CANCEL,
                            Trigger.CONDITIONAL},
}

# ------------------------------------------------------------------------------ events


def _event_definition(doc: _Document, el: etree._Element, tag: str,
                      place: str) -> EventDefinition | None:
    """The single event definition of an event element, or a ``none`` one."""
    sink = doc.sink
    definitions = [d for d in el if isinstance(d.tag, str)
                   and local(d.tag).endswith("EventDefinition")]
    refs = el.findall("bpmn:eventDefinitionRef", NS)
    if refs:
        sink.add(el, "eventDefinitionRef (a shared event definition) is not supported; put "
                 "the definition inside the event")
        return None
    if len(definitions) > 1:
        sink.add(el, "events with several event definitions (multiple / parallel multiple) are "
                 "not executable in Camunda 7")
        return None
    allowed = ALLOWED_TRIGGERS.get((tag, place)) or ALLOWED_TRIGGERS[(tag, "")]
    definition = (EventDefinition(Trigger.NONE) if not definitions
                  else _read_definition(doc, el, definitions[0]))
    if definition is None:
        return None
    if definition.trigger not in allowed:
        if not definitions:
            sink.add(el, f"a bpmn:{tag} needs an event definition here")
        else:
            sink.add(el, f"unsupported event definition bpmn:{local(definitions[0].tag)} on a "
                     f"bpmn:{tag}" + (" here" if place else ""))
        return None
    return definition


def _read_definition(doc: _Document, el: etree._Element,
                     d: etree._Element) -> EventDefinition | None:
    sink, kind = doc.sink, local(d.tag)
    if kind == "messageEventDefinition":
        ref = d.get("messageRef")
        if ref is None and local(el.tag) in ("intermediateThrowEvent", "endEvent"):
            return EventDefinition(Trigger.MESSAGE)
        if ref not in doc.messages:
            sink.add(el, f"messageRef {ref!r} does not name a bpmn:message")
            return None
        return EventDefinition(Trigger.MESSAGE, name=doc.messages[ref] or ref)
    if kind == "signalEventDefinition":
        ref = d.get("signalRef")
        if ref not in doc.signals:
            sink.add(el, f"signalRef {ref!r} does not name a bpmn:signal")
            return None
        name = sink.template(doc.signals[ref] or ref, "signal name", el)
        return EventDefinition(Trigger.SIGNAL, name=name) if name is not None else None
    if kind == "timerEventDefinition":
        return timer_definition(d, sink, el)
    if kind == "errorEventDefinition":
        ref = d.get("errorRef")
        code = None
        if ref is not None:
            if ref not in doc.errors:
                sink.add(el, f"errorRef {ref!r} does not name a bpmn:error")
                return None
            error = doc.errors[ref]
            code = error.get("errorCode") or None
            message = error.get(c("errorMessage"))
        else:
            message = None
        return EventDefinition(Trigger.ERROR, name=code, catch_all=code is None,
                               code_variable=d.get(c("errorCodeVariable")),
                               message_variable=d.get(c("errorMessageVariable")),
                               condition=sink.template(message, "camunda:errorMessage", el)
                               if message else None)
    if kind == "escalationEventDefinition":
        ref = d.get("escalationRef")
        code = None
        if ref is not None:
            if ref not in doc.escalations:
                sink.add(el, f"escalationRef {ref!r} does not name a bpmn:escalation")
                return None
            code = doc.escalations[ref].get("escalationCode") or None
        return EventDefinition(Trigger.ESCALATION, name=code, catch_all=code is None,
                               code_variable=d.get(c("escalationCodeVariable")))
    if kind == "compensateEventDefinition":
        return EventDefinition(Trigger.COMPENSATE, activity_ref=d.get("activityRef"),
                               wait_for_completion=(d.get("waitForCompletion") or "true")
                               .lower() != "false")
    if kind == "cancelEventDefinition":
        return EventDefinition(Trigger.CANCEL)
    if kind == "terminateEventDefinition":
        return EventDefinition(Trigger.TERMINATE)
    if kind == "linkEventDefinition":
        name = d.get("name")
        if not name:
            sink.add(el, "a link event definition needs a name")
            return None
        return EventDefinition(Trigger.LINK, name=name)
    if kind == "conditionalEventDefinition":
        cond = d.find("bpmn:condition", NS)
        if cond is None or not (cond.text or "").strip():
            sink.add(el, "a conditional event needs a condition")
            return None
        compiled = sink.expression(cond.text, "condition", cond, el)
        if compiled is None:
            return None
        events = frozenset(e.strip() for e in (d.get(c("variableEvents")) or "").split(",")
                           if e.strip())
        if events - {"create", "update", "delete"}:
            sink.add(el, "camunda:variableEvents may only list create, update, delete")
        return EventDefinition(Trigger.CONDITIONAL, condition=compiled,
                               variable_name=d.get(c("variableName")), variable_events=events)
    sink.add(el, f"unsupported event definition bpmn:{kind}")
    return None


def _start_event(doc: _Document, el: etree._Element, tag: str) -> Node | None:
    parent = el.getparent()
    parent_tag = local(parent.tag)
    if parent_tag == "process":
        place = "process"
    elif parent_tag == "subProcess" and parent.get("triggeredByEvent") == "true":
        place = "event"
    else:
        place = "sub"
    event = _event_definition(doc, el, tag, place)
    if event is None:
        return None
    node = Node(el.get("id"), Kind.START, event=event,
                interrupting=(el.get("isInterrupting") or "true").lower() != "false")
    if event.trigger in (Trigger.ERROR, Trigger.COMPENSATE) and not node.interrupting:
        doc.sink.add(el, f"an {event.trigger} start event is always interrupting")
    return node


def _event(kind: Kind) -> Builder:
    def build(doc: _Document, el: etree._Element, tag: str) -> Node | None:
        event = _event_definition(doc, el, tag, "")
        if event is None:
            return None
        node = Node(el.get("id"), kind, event=event)
        if kind is Kind.BOUNDARY:
            node.attached_to = el.get("attachedToRef")
            node.interrupting = (el.get("cancelActivity") or "true").lower() != "false"
        if event.trigger is Trigger.MESSAGE and kind in (Kind.THROW, Kind.END):
            _message_throw(doc, el, node)
        return node

    return build


def _message_throw(doc: _Document, el: etree._Element, node: Node) -> None:
    """A message throw event with an implementation runs like a service task; without one it
    passes (Camunda's message throw events need an implementation to do anything)."""
    definition = el.find("bpmn:messageEventDefinition", NS)
    topic, implementation = service_topic(definition)
    if topic:
        node.topic, node.implementation = topic, implementation
        node.properties.update(properties(definition))
    elif definition.get(c("expression")):
        node.expression = doc.sink.template(definition.get(c("expression")), "expression", el)


# ------------------------------------------------------------------------------ tasks


def service_topic(node: etree._Element | None) -> tuple[str | None, str]:
    """The topic a service task is dispatched on, and which Camunda attribute named it."""
    if node is None:
        return None, "none"
    if node.get(c("type")) == "external":
        return node.get(c("topic")), "external"
    if node.get(c("class")):
        return node.get(c("class")), "class"
    delegate = node.get(c("delegateExpression"))
    if delegate:
        return delegate_name(delegate), "delegateExpression"
    connector = node.find("bpmn:extensionElements/camunda:connector/camunda:connectorId", NS)
    if connector is not None and connector.text:
        return connector.text.strip(), "connector"
    return None, "none"


NO_IMPLEMENTATION = ("service task has no implementation: set camunda:type=\"external\" with "
                     "camunda:topic, camunda:class, camunda:delegateExpression or "
                     "camunda:expression")


def _service_task(doc: _Document, el: etree._Element, tag: str) -> Node | None:
    sink = doc.sink
    node_id = el.get("id")
    result_variable = el.get(c("resultVariable"))
    if el.get(c("expression")) is not None:
        compiled = sink.template(el.get(c("expression")), "expression", el)
        return Node(node_id, Kind.EXPRESSION, expression=compiled,
                    result_variable=result_variable)
    topic, implementation = service_topic(el)
    if implementation == "external" and not topic:
        sink.add(el, "external service task without camunda:topic")
        return None
    if topic is None:
        sink.add(el, NO_IMPLEMENTATION)
        return None
    node = Node(node_id, Kind.EXTERNAL, topic=topic, implementation=implementation,
                result_variable=result_variable)
    priority = el.get(c("taskPriority"))
    if priority is not None:
        node.user["taskPriority"] = sink.template(priority, "camunda:taskPriority", el)
    return node


def _business_rule_task(doc: _Document, el: etree._Element, tag: str) -> Node | None:
    sink = doc.sink
    ref = el.get(c("decisionRef"))
    if not ref:
        topic, implementation = service_topic(el)
        if topic is None:
            sink.add(el, "businessRuleTask needs camunda:decisionRef or an external "
                     "implementation")
            return None
        return Node(el.get("id"), Kind.EXTERNAL, topic=topic, implementation=implementation,
                    result_variable=el.get(c("resultVariable")))
    mode = el.get(c("mapDecisionResult")) or "resultList"
    if mode not in ("singleEntry", "singleResult", "collectEntries", "resultList"):
        sink.add(el, f"unknown camunda:mapDecisionResult {mode!r}")
        return None
    binding = el.get(c("decisionRefBinding")) or "latest"
    if binding not in ("latest", "version", "deployment", "versionTag"):
        sink.add(el, f"unknown camunda:decisionRefBinding {binding!r}")
        return None
    version_attr = "decisionRefVersionTag" if binding == "versionTag" else "decisionRefVersion"
    if binding == "versionTag" and not el.get(c(version_attr)):
        sink.add(el, "camunda:decisionRefBinding=\"versionTag\" needs "
                 "camunda:decisionRefVersionTag (the tag of the decision to evaluate)")
        return None
    return Node(el.get("id"), Kind.DECISION,
                decision_ref=sink.template(ref, "camunda:decisionRef", el),
                decision_binding=binding,
                decision_version=sink.template(el.get(c(version_attr)),
                                               f"camunda:{version_attr}", el),
                result_variable=el.get(c("resultVariable")), map_decision_result=mode)


def _script_task(doc: _Document, el: etree._Element, tag: str) -> Node | None:
    sink = doc.sink
    if not doc.allow_scripts:
        sink.add(el, "script tasks are refused (set MLC_ALLOW_SCRIPTS=1 to allow them)")
        return None
    fmt = (el.get("scriptFormat") or "python").lower()
    if fmt not in ("python", "py"):
        sink.add(el, f"script format {fmt!r} cannot run here; only python scripts run "
                 "(MLC_ALLOW_SCRIPTS=1)")
        return None
    if el.get(c("resource")):
        sink.add(el, "external script resources (camunda:resource) are not supported")
        return None
    script = el.find("bpmn:script", NS)
    return Node(el.get("id"), Kind.SCRIPT, script=script.text if script is not None else "",
                script_format=fmt, result_variable=el.get(c("resultVariable")))


def _user_task(doc: _Document, el: etree._Element, tag: str) -> Node:
    node = Node(el.get("id"), Kind.USER, user=user_task(el, doc.sink))
    node.task_listeners = listeners(el, doc.sink, "task", allow_scripts=doc.allow_scripts)
    return node


def _receive_task(doc: _Document, el: etree._Element, tag: str) -> Node | None:
    ref = el.get("messageRef")
    if ref not in doc.messages:
        doc.sink.add(el, f"messageRef {ref!r} does not name a bpmn:message")
        return None
    return Node(el.get("id"), Kind.RECEIVE, message=doc.messages[ref] or ref)


def _pass_through(doc: _Document, el: etree._Element, tag: str) -> Node:
    return Node(el.get("id"), Kind.TASK)


def _gateway(kind: Kind) -> Builder:
    def build(doc: _Document, el: etree._Element, tag: str) -> Node:
        return Node(el.get("id"), kind, default=el.get("default"))

    return build


def _sub_process(doc: _Document, el: etree._Element, tag: str) -> Node:
    if tag == "transaction":
        return Node(el.get("id"), Kind.TRANSACTION)
    if el.get("triggeredByEvent") == "true":
        return Node(el.get("id"), Kind.EVENT_SUB_PROCESS, triggered_by_event=True)
    return Node(el.get("id"), Kind.SUB_PROCESS)


def _call_activity(doc: _Document, el: etree._Element, tag: str) -> Node | None:
    sink = doc.sink
    called = el.get("calledElement")
    if el.get(c("caseRef")):
        sink.add(el, "callActivity with camunda:caseRef (CMMN) is not supported")
        return None
    if not called:
        sink.add(el, "callActivity without calledElement")
        return None
    for attr in ("variableMappingClass", "variableMappingDelegateExpression"):
        if el.get(c(attr)):
            sink.add(el, f"camunda:{attr} cannot run here (no Java); use camunda:in/camunda:out")
    binding = el.get(c("calledElementBinding")) or "latest"
    if binding not in ("latest", "deployment", "version", "versionTag"):
        sink.add(el, f"unknown camunda:calledElementBinding {binding!r}")
    version_attr = "calledElementVersionTag" if binding == "versionTag" else "calledElementVersion"
    version = el.get(c(version_attr))
    if binding == "versionTag" and not version:
        sink.add(el, "camunda:calledElementBinding=\"versionTag\" needs "
                 "camunda:calledElementVersionTag (the tag of the process to call)")
    compiled = sink.template(called, "calledElement", el)
    if compiled is not None and compiled.is_literal:
        doc.info.called_elements.append(called)  # checked at deployment
    return Node(el.get("id"), Kind.CALL, called_element=called, called_binding=binding,
                called_expression=None if compiled is None or compiled.is_literal else compiled,
                called_version=sink.template(version, f"camunda:{version_attr}", el),
                call_in=call_mappings(el, sink, "in"), call_out=call_mappings(el, sink, "out"))


BUILDERS: dict[str, Builder] = {
    "startEvent": _start_event,
    "endEvent": _event(Kind.END),
    "intermediateCatchEvent": _event(Kind.CATCH),
    "intermediateThrowEvent": _event(Kind.THROW),
    "boundaryEvent": _event(Kind.BOUNDARY),
    "task": _pass_through,
    "manualTask": _pass_through,
    "serviceTask": _service_task,
    "sendTask": _service_task,
    "businessRuleTask": _business_rule_task,
    "scriptTask": _script_task,
    "userTask": _user_task,
    "receiveTask": _receive_task,
    "exclusiveGateway": _gateway(Kind.EXCLUSIVE),
    "parallelGateway": _gateway(Kind.PARALLEL),
    "inclusiveGateway": _gateway(Kind.INCLUSIVE),
    "eventBasedGateway": _gateway(Kind.EVENT_GATEWAY),
    "subProcess": _sub_process,
    "transaction": _sub_process,
    "callActivity": _call_activity,
}
