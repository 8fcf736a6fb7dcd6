"""Readers for the ``camunda:`` extension elements and attributes Camunda Modeler writes.

Each reader takes an lxml element and a :class:`Located` problem sink, and returns model
values with every expression already compiled; anything it cannot run becomes a located
problem, never a silent drop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from lxml import etree

from ..errors import ExpressionError, Problem
from ..expressions import Expression, compile_expression, compile_template
from .model import CallMapping, EventDefinition, IoMapping, Listener, MultiInstance, Timer, Trigger
from .timers import validate_timer_value

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}

EXECUTION_LISTENER_EVENTS = frozenset({"start", "end", "take"})
TASK_LISTENER_EVENTS = frozenset({"create", "assignment", "complete", "delete", "update",
                                  "timeout"})


def c(name: str) -> str:
    """A ``camunda:`` attribute's Clark name."""
    return f"{{{CAMUNDA_NS}}}{name}"


def local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


class Located:
    """Collects problems of one file, each with its line and element id."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[Problem] = []

    def add(self, node: etree._Element, message: str, *,
            element: etree._Element | None = None) -> None:
        """Report ``message`` at ``node``'s line, naming ``element``'s id (default: node's)."""
        owner = node if element is None else element
        self.problems.append(Problem(
            message, file=self.filename, line=getattr(node, "sourceline", None),
            element_id=owner.get("id") if owner is not None else None))

    def template(self, text: str | None, what: str, node: etree._Element,
                 element: etree._Element | None = None) -> Expression | None:
        """Compile ``text`` as a Camunda value (plain text or ``${...}``); None when absent."""
        return self._compile(compile_template, text, what, node, element)

    def expression(self, text: str | None, what: str, node: etree._Element,
                   element: etree._Element | None = None) -> Expression | None:
        """Compile a condition-like ``${...}`` expression; None when absent."""
        return self._compile(compile_expression, text, what, node, element)

    def _compile(self, compiler: Callable[[str, str | None], Expression], text: str | None,
                 what: str, node: etree._Element,
                 element: etree._Element | None) -> Expression | None:
        if text is None:
            return None
        owner = node if element is None else element
        try:
            return compiler(text.strip() if compiler is compile_expression else text,
                            owner.get("id"))
        except ExpressionError as exc:
            self.add(node, f"bad {what}: {_reason(exc)}", element=owner)
            return None


def _reason(exc: ExpressionError) -> str:
    """The expression error without the element suffix the problem already carries."""
    message = exc.message
    suffix = f" at element {exc.element_id!r}" if exc.element_id else ""
    return message[:-len(suffix)] if suffix and message.endswith(suffix) else message


def extension(node: etree._Element, path: str) -> list[etree._Element]:
    found: list[etree._Element] = node.findall(f"bpmn:extensionElements/{path}", NS)
    return found


# ------------------------------------------------------------------------------ values


def _param_value(node: etree._Element, sink: Located, element: etree._Element) -> tuple[Any, ...]:
    children = [ch for ch in node if isinstance(ch.tag, str)]
    if not children:
        if node.text is None:
            return ("null",)
        return ("text", sink.template(node.text, f"parameter {element_param_name(node)!r}",
                                      node, element))
    child = children[0]
    kind = local(child.tag)
    if kind == "list":
        return ("list", [_param_value(v, sink, element) for v in child if isinstance(v.tag, str)])
    if kind == "map":
        return ("map", [(e.get("key"), _param_value(e, sink, element)) for e in child
                        if isinstance(e.tag, str)])
    if kind == "script":
        sink.add(child, "script input/output parameters cannot run here (no script engine "
                 "for Camunda's script formats); use an expression", element=element)
        return ("null",)
    return ("text", sink.template(child.text or "", f"parameter {element_param_name(node)!r}",
                                  child, element))


def element_param_name(node: etree._Element) -> str:
    current = node
    while current is not None and local(current.tag) not in ("inputParameter", "outputParameter"):
        current = current.getparent()
    name: str = current.get("name") if current is not None else "?"
    return name


def io_mapping(node: etree._Element, sink: Located) -> IoMapping:
    io = IoMapping()
    for kind, target in (("inputParameter", io.inputs), ("outputParameter", io.outputs)):
        for p in extension(node, f"camunda:inputOutput/camunda:{kind}"):
            name = p.get("name")
            if not name:
                sink.add(p, f"camunda:{kind} without a name", element=node)
                continue
            target.append((name, _param_value(p, sink, node)))
    return io


def properties(node: etree._Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") or ""
            for p in extension(node, "camunda:properties/camunda:property")}


def retry_cycle(node: etree._Element) -> str | None:
    found = extension(node, "camunda:failedJobRetryTimeCycle")
    text: str | None = found[0].text if found else None
    return text.strip() if text else None


def timer_definition(d: etree._Element, sink: Located, at: etree._Element,
                     owner: etree._Element | None = None) -> EventDefinition | None:
    """A ``bpmn:timerEventDefinition`` (date, duration or cycle; fixed or ``${}``), reported
    at ``at`` under ``owner``'s id."""
    found = [(k, d.find(f"bpmn:{t}", NS)) for k, t in
             (("date", "timeDate"), ("duration", "timeDuration"), ("cycle", "timeCycle"))]
    found = [(k, n) for k, n in found if n is not None]
    if not found or not (found[0][1].text or "").strip():
        sink.add(at, "timer without a time value", element=owner)
        return None
    kind, value_node = found[0]
    value: str = value_node.text.strip()
    if "${" not in value and "#{" not in value:
        try:
            validate_timer_value(kind, value)
        except ExpressionError as exc:
            sink.add(at, exc.message, element=owner)
            return None
    compiled = sink.template(value, f"timer {kind}", at, owner)
    if compiled is None:
        return None
    return EventDefinition(Trigger.TIMER, timer=Timer(kind, compiled))


def flag(node: etree._Element, name: str, default: bool = False) -> bool:
    value: str | None = node.get(c(name))
    return default if value is None else value.strip().lower() == "true"


# ------------------------------------------------------------------------------ listeners


def listeners(node: etree._Element, sink: Located, kind: str, *, allow_scripts: bool
              ) -> dict[str, tuple[Listener, ...]]:
    """``camunda:executionListener`` (kind ``execution``) or ``camunda:taskListener``."""
    allowed = EXECUTION_LISTENER_EVENTS if kind == "execution" else TASK_LISTENER_EVENTS
    found: dict[str, list[Listener]] = {}
    for el in extension(node, f"camunda:{kind}Listener"):
        event = (el.get("event") or "").strip()
        if event not in allowed:
            sink.add(el, f"{kind} listener event {event!r} is not one of "
                     f"{', '.join(sorted(allowed))}", element=node)
            continue
        listener = _listener(el, event, sink, node, kind, allow_scripts)
        if listener is not None and event == "timeout":
            listener = _timeout(el, listener, sink, node, found.get("timeout", ()))
        if listener is not None:
            found.setdefault(event, []).append(listener)
    return {event: tuple(items) for event, items in found.items()}


def _timeout(el: etree._Element, listener: Listener, sink: Located, node: etree._Element,
             others: Iterable[Listener]) -> Listener | None:
    """A ``timeout`` task listener: Camunda 7 keys its timer by the listener's id."""
    listener_id = (el.get("id") or "").strip()
    definition = el.find("bpmn:timerEventDefinition", NS)
    if not listener_id:
        sink.add(el, "a task listener with event 'timeout' needs an id (Camunda 7 keys its "
                 "timer by it)", element=node)
        return None
    if any(other.listener_id == listener_id for other in others):
        sink.add(el, f"two timeout task listeners with the id {listener_id!r}", element=node)
        return None
    if definition is None:
        sink.add(el, "a task listener with event 'timeout' needs a bpmn:timerEventDefinition "
                 "(when it fires)", element=node)
        return None
    timeout = timer_definition(definition, sink, el, node)
    if timeout is None:
        return None
    return dataclasses.replace(listener, listener_id=listener_id, timeout=timeout)


def _listener(el: etree._Element, event: str, sink: Located, node: etree._Element, kind: str,
              allow_scripts: bool
              ) -> Listener | None:
    what = f"{kind} listener ({event})"
    if el.get("expression") is not None:
        compiled = sink.template(el.get("expression"), f"{what} expression", el, node)
        return Listener(event, expression=compiled, line=el.sourceline) if compiled else None
    delegate = el.get("delegateExpression") or el.get("class")
    if delegate:
        return Listener(event, delegate=delegate_name(delegate), line=el.sourceline)
    script = el.find("camunda:script", NS)
    if script is not None:
        fmt = (script.get("scriptFormat") or "").lower()
        if not allow_scripts:
            sink.add(el, f"{what} is a script: scripts are refused (set MLC_ALLOW_SCRIPTS=1 "
                     "to allow python scripts)", element=node)
        elif fmt not in ("python", "py"):
            sink.add(el, f"{what} script format {fmt or '(none)'!r} cannot run here; only "
                     "python scripts run (MLC_ALLOW_SCRIPTS=1)", element=node)
        else:
            return Listener(event, script=script.text or "", line=el.sourceline)
        return None
    sink.add(el, f"{what} has no implementation (expression, delegateExpression, class or "
             "script)", element=node)
    return None


def delegate_name(text: str) -> str:
    """``${bean}`` / ``#{bean}`` / ``com.acme.Bean`` -> the name a handler is registered under."""
    name = text.strip()
    if name.startswith(("${", "#{")) and name.endswith("}"):
        name = name[2:-1].strip()
    return name


# ------------------------------------------------------------------------------ multi-instance


def multi_instance(node: etree._Element, sink: Located) -> MultiInstance | None:
    el = node.find("bpmn:multiInstanceLoopCharacteristics", NS)
    if el is None:
        return None
    cardinality_el = el.find("bpmn:loopCardinality", NS)
    completion_el = el.find("bpmn:completionCondition", NS)
    collection = el.get(c("collection"))
    element_variable = el.get(c("elementVariable"))
    input_ref = el.find("bpmn:loopDataInputRef", NS)
    input_item = el.find("bpmn:inputDataItem", NS)
    if collection is None and input_ref is not None and input_ref.text:
        collection = input_ref.text.strip()
    if element_variable is None and input_item is not None:
        element_variable = input_item.get("name") or input_item.get("id")
    if el.find("bpmn:loopDataOutputRef", NS) is not None:
        sink.add(el, "loopDataOutputRef is not part of Camunda 7: collect results with an "
                 "output mapping or an execution listener", element=node)
    cardinality = (sink.template(cardinality_el.text or "", "loopCardinality", cardinality_el, node)
                   if cardinality_el is not None else None)
    if cardinality_el is not None and not (cardinality_el.text or "").strip():
        sink.add(cardinality_el, "empty loopCardinality", element=node)
    compiled_collection = None
    if collection is not None:
        text = collection.strip()
        if "${" not in text and "#{" not in text:
            text = "${" + text + "}"  # Camunda: a bare name is the variable holding the collection
        compiled_collection = sink.template(text, "camunda:collection", el, node)
    if cardinality is None and compiled_collection is None:
        sink.add(el, "multi-instance needs loopCardinality or camunda:collection", element=node)
    completion = (sink.expression(completion_el.text or "", "completionCondition", completion_el,
                                  node) if completion_el is not None and
                  (completion_el.text or "").strip() else None)
    return MultiInstance(
        sequential=(el.get("isSequential") or "false").lower() == "true",
        cardinality=cardinality, collection=compiled_collection,
        element_variable=element_variable, completion_condition=completion,
        async_before=flag(el, "asyncBefore") or flag(el, "async"),
        async_after=flag(el, "asyncAfter"))


# ------------------------------------------------------------------------------ call activity


def call_mappings(node: etree._Element, sink: Located, direction: str) -> tuple[CallMapping, ...]:
    found: list[CallMapping] = []
    for el in extension(node, f"camunda:{direction}"):
        if el.get("businessKey") is not None:
            found.append(CallMapping(business_key=sink.template(
                el.get("businessKey"), f"camunda:{direction} businessKey", el, node)))
            continue
        if (el.get("variables") or "").strip() == "all":
            found.append(CallMapping(all=True, local=flag_plain(el, "local")))
            continue
        target = el.get("target")
        if not target:
            sink.add(el, f"camunda:{direction} needs a target (or variables=\"all\")", element=node)
            continue
        if el.get("sourceExpression") is not None:
            found.append(CallMapping(
                source_expression=sink.template(el.get("sourceExpression"),
                                                f"camunda:{direction} sourceExpression", el, node),
                target=target, local=flag_plain(el, "local")))
        elif el.get("source"):
            found.append(CallMapping(source=el.get("source"), target=target,
                                     local=flag_plain(el, "local")))
        else:
            sink.add(el, f"camunda:{direction} needs source or sourceExpression", element=node)
    return tuple(found)


def flag_plain(el: etree._Element, name: str) -> bool:
    value: str = el.get(name) or "false"
    return value.strip().lower() == "true"


# ------------------------------------------------------------------------------ user tasks


def user_task(node: etree._Element, sink: Located) -> dict[str, Any]:
    """Assignment, dates, priority and form of a user task (kept for the task API)."""
    info: dict[str, Any] = {}
    for attr in ("assignee", "candidateUsers", "candidateGroups", "dueDate", "followUpDate",
                 "priority", "formKey", "formRef"):
        value = node.get(c(attr))
        if value is not None:
            info[attr] = sink.template(value, f"camunda:{attr}", node)
    fields = []
    for field_el in extension(node, "camunda:formData/camunda:formField"):
        field: dict[str, Any] = {"id": field_el.get("id"), "label": field_el.get("label"),
                                 "type": field_el.get("type") or "string",
                                 "default": field_el.get("defaultValue")}
        values = [{"id": v.get("id"), "name": v.get("name")}
                  for v in field_el.findall("camunda:value", NS)]
        if values:
            field["values"] = values
        constraints = [{"name": v.get("name"), "config": v.get("config")}
                       for v in field_el.findall("camunda:validation/camunda:constraint", NS)]
        if constraints:
            field["validation"] = constraints
        fields.append(field)
    if fields:
        info["formFields"] = fields
    return info
