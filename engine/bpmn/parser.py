"""The Camunda 7 dialect of BPMN, on top of SpiffWorkflow's CamundaParser.

Keeps what Camunda Modeler writes (external/class/delegateExpression/expression service tasks,
``camunda:inputOutput``, properties, async flags, retry cycles, ``decisionRef``), swaps in the
engine's clock-aware timers, and validates a deployment up front so that every problem is
reported with its file, line and element id instead of failing later at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, full_tag
from SpiffWorkflow.bpmn.parser.task_parsers import ConditionalGatewayParser, GatewayParser
from SpiffWorkflow.bpmn.parser.util import first
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import ScriptTask
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.bpmn.parser.event_parsers import (
    CONDITIONAL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TIMER_EVENT_XPATH,
)
from SpiffWorkflow.camunda.parser.event_parsers import (
    CamundaBoundaryEventParser,
    CamundaEndEventParser,
    CamundaIntermediateCatchEventParser,
    CamundaIntermediateThrowEventParser,
    CamundaStartEventParser,
)
from SpiffWorkflow.camunda.parser.task_spec import CamundaTaskParser, ScriptTaskParser
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent,
    EndEvent,
    IntermediateCatchEvent,
    IntermediateThrowEvent,
    StartEvent,
)

from ..errors import ExpressionError, Problem, ValidationError
from ..xmlsafe import parse_xml
from .specs import (DecisionTask, ExpressionTask, ExternalTask, IoMapping, PassThroughTask,
                    ScopeInclusiveGateway, ScopeParallelGateway)
from .timers import ClockCycle, ClockDuration, ClockTimeDate, validate_timer_value

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}

# Flow elements the engine runs. Anything else inside a process is refused at deployment.
SUPPORTED = {
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
    "boundaryEvent", "task", "serviceTask", "sendTask", "receiveTask", "userTask", "manualTask",
    "businessRuleTask", "scriptTask", "subProcess", "callActivity", "exclusiveGateway",
    "parallelGateway", "inclusiveGateway", "eventBasedGateway", "sequenceFlow",
    "laneSet", "lane", "dataObject", "dataObjectReference", "dataStoreReference",
    "textAnnotation", "association", "extensionElements", "documentation", "ioSpecification",
    "property", "incoming", "outgoing", "flowNodeRef", "group", "category",
}
SUPPORTED_EVENT_DEFINITIONS = {
    "timerEventDefinition", "signalEventDefinition", "messageEventDefinition",
    "errorEventDefinition", "terminateEventDefinition", "escalationEventDefinition",
    "cancelEventDefinition", "compensateEventDefinition", "conditionalEventDefinition",
    "linkEventDefinition",
}
REFUSED_EVENT_DEFINITIONS = {"compensateEventDefinition", "conditionalEventDefinition",
                             "linkEventDefinition", "cancelEventDefinition"}


def _c(name: str) -> str:
    return f"{{{CAMUNDA_NS}}}{name}"


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def parse_param_value(node) -> tuple:
    """A ``camunda:inputParameter``/``outputParameter`` value: text, list, map or null."""
    children = [c for c in node if isinstance(c.tag, str)]
    if not children:
        return ("text", node.text or "") if node.text is not None else ("null",)
    child = children[0]
    kind = _local(child.tag)
    if kind == "list":
        return ("list", [parse_param_value(v) for v in child if isinstance(v.tag, str)])
    if kind == "map":
        return ("map", [(e.get("key"), parse_param_value(e)) for e in child
                        if isinstance(e.tag, str)])
    if kind == "script":
        raise ValidationException("script input/output parameters are not supported", node=node)
    return ("text", child.text or "")


def parse_io_mapping(node) -> IoMapping:
    io = IoMapping()
    for p in node.findall("bpmn:extensionElements/camunda:inputOutput/camunda:inputParameter", NS):
        io.inputs.append((p.get("name"), parse_param_value(p)))
    for p in node.findall("bpmn:extensionElements/camunda:inputOutput/camunda:outputParameter", NS):
        io.outputs.append((p.get("name"), parse_param_value(p)))
    return io


def parse_properties(node) -> dict[str, str]:
    return {p.get("name"): p.get("value") or ""
            for p in node.findall("bpmn:extensionElements/camunda:properties/camunda:property", NS)}


def retry_cycle(node) -> str | None:
    found = node.find("bpmn:extensionElements/camunda:failedJobRetryTimeCycle", NS)
    return found.text.strip() if found is not None and found.text else None


class ServiceTaskParser(CamundaTaskParser):
    """serviceTask / sendTask in all of Camunda's implementation styles."""

    def create_task(self):
        node = self.node
        io = parse_io_mapping(node)
        attrs = dict(self.bpmn_attributes)
        expression = node.get(_c("expression"))
        result_variable = node.get(_c("resultVariable"))
        if expression is not None:
            return ExpressionTask(self.spec, self.bpmn_id, expression=expression,
                                  result_variable=result_variable, io=io, **attrs)
        topic, implementation = service_topic(node)
        if topic is None:
            self.raise_validation_exception(
                "service task has no implementation: set camunda:type=\"external\" with "
                "camunda:topic, camunda:class, camunda:delegateExpression or camunda:expression")
        return ExternalTask(self.spec, self.bpmn_id, topic=topic, implementation=implementation,
                            io=io, properties=parse_properties(node),
                            retry_cycle=retry_cycle(node), result_variable=result_variable,
                            **attrs)


def service_topic(node) -> tuple[str | None, str]:
    """The topic a service task is dispatched on, and which Camunda attribute named it."""
    if node.get(_c("type")) == "external":
        return node.get(_c("topic")), "external"
    if node.get(_c("class")):
        return node.get(_c("class")), "class"
    delegate = node.get(_c("delegateExpression"))
    if delegate:
        name = delegate.strip()
        if name.startswith(("${", "#{")) and name.endswith("}"):
            name = name[2:-1].strip()
        return name, "delegateExpression"
    connector = node.find("bpmn:extensionElements/camunda:connector/camunda:connectorId", NS)
    if connector is not None and connector.text:
        return connector.text.strip(), "connector"
    return None, "none"


class PassThroughParser(CamundaTaskParser):
    def create_task(self):
        return PassThroughTask(self.spec, self.bpmn_id, io=parse_io_mapping(self.node),
                               **self.bpmn_attributes)


class DecisionTaskParser(CamundaTaskParser):
    def create_task(self):
        node = self.node
        ref = node.get(_c("decisionRef"))
        if not ref:
            topic, implementation = service_topic(node)
            if topic is None:
                self.raise_validation_exception("businessRuleTask needs camunda:decisionRef "
                                                "or an external implementation")
            return ExternalTask(self.spec, self.bpmn_id, topic=topic,
                                implementation=implementation, io=parse_io_mapping(node),
                                properties=parse_properties(node), retry_cycle=retry_cycle(node),
                                **self.bpmn_attributes)
        mode = node.get(_c("mapDecisionResult")) or "resultList"
        if mode not in ("singleEntry", "singleResult", "collectEntries", "resultList"):
            self.raise_validation_exception(f"unknown camunda:mapDecisionResult {mode!r}")
        return DecisionTask(self.spec, self.bpmn_id, decision_ref=ref,
                            binding=node.get(_c("decisionRefBinding")) or "latest",
                            version=node.get(_c("decisionRefVersion")),
                            result_variable=node.get(_c("resultVariable")),
                            map_decision_result=mode, io=parse_io_mapping(node),
                            **self.bpmn_attributes)


class CamundaErrorEventDefinition(ErrorEventDefinition):
    """An error event that also stores the caught error's code and message in variables.

    ``camunda:errorCodeVariable`` / ``camunda:errorMessageVariable`` on the
    ``errorEventDefinition``, as Camunda 7 does. The thrown error's message travels as the
    ``message`` attribute of the thrown definition (set by the external-task service).
    """

    def __init__(self, name, code=None, code_variable=None, message_variable=None, **kwargs):
        super().__init__(name, code, **kwargs)
        self.code_variable = code_variable
        self.message_variable = message_variable

    def catch(self, my_task, event=None):
        super().catch(my_task, event)
        payload = dict(my_task.internal_data.get(self.name) or {})
        thrown = event.event_definition if event is not None else None
        if self.code_variable:
            payload[self.code_variable] = getattr(thrown, "code", None)
        if self.message_variable:
            payload[self.message_variable] = getattr(thrown, "message", None) or getattr(
                thrown, "name", None)
        my_task.internal_data[self.name] = payload

    def __eq__(self, other):
        # Errors match by code across the error-definition classes (thrown ones are plain).
        return isinstance(other, ErrorEventDefinition) and self.code in (None, other.code)


class _EngineEvents:
    """Mixin for event parsers: clock-aware timers, messages whose payload becomes variables,
    and error events with Camunda's code/message variables."""

    def parse_error_event(self, error_event):
        plain = super().parse_error_event(error_event)
        return CamundaErrorEventDefinition(
            plain.name, plain.code, code_variable=error_event.get(_c("errorCodeVariable")),
            message_variable=error_event.get(_c("errorMessageVariable")),
            description=plain.description)

    def parse_message_event(self, message_event):
        ref = message_event.get("messageRef")
        message = first(self.doc_xpath(f'.//bpmn:message[@id="{ref}"]')) if ref else None
        name = message.get("name") if message is not None else self.node.get("name")
        return MessageEventDefinition(name)

    def parse_timer_event(self, event):
        name = self.node.get("name", self.node.get("id"))
        for tag, cls in (("timeDate", ClockTimeDate), ("timeDuration", ClockDuration),
                         ("timeCycle", ClockCycle)):
            found = first(self._xpath(event, f".//bpmn:{tag}"))
            if found is not None:
                return cls(name, (found.text or "").strip())
        self.raise_validation_exception("timer event definition without a time value")


class StartEventParser(_EngineEvents, CamundaStartEventParser):
    """Also error start events, which only an event subprocess may have (Camunda's
    catch-all "any other error" handler); SpiffWorkflow alone parses them as none starts."""

    def create_task(self):
        event_definition = self.get_event_definition(
            [MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH,
             CONDITIONAL_EVENT_XPATH, ERROR_EVENT_XPATH])
        task = self._create_task(event_definition)
        self.spec.start.connect(task)
        return task


class EndEventParser(_EngineEvents, CamundaEndEventParser):
    pass


class CatchEventParser(_EngineEvents, CamundaIntermediateCatchEventParser):
    pass


class ThrowEventParser(_EngineEvents, CamundaIntermediateThrowEventParser):
    pass


class BoundaryEventParser(_EngineEvents, CamundaBoundaryEventParser):
    pass


class MlcBpmnParser(CamundaParser):
    """CamundaParser with the engine's task specs and timers."""

    OVERRIDE_PARSER_CLASSES = dict(CamundaParser.OVERRIDE_PARSER_CLASSES)
    OVERRIDE_PARSER_CLASSES.update({
        full_tag("serviceTask"): (ServiceTaskParser, ExternalTask),
        full_tag("sendTask"): (ServiceTaskParser, ExternalTask),
        full_tag("task"): (PassThroughParser, PassThroughTask),
        full_tag("manualTask"): (PassThroughParser, PassThroughTask),
        full_tag("businessRuleTask"): (DecisionTaskParser, DecisionTask),
        full_tag("scriptTask"): (ScriptTaskParser, ScriptTask),
        full_tag("startEvent"): (StartEventParser, StartEvent),
        full_tag("endEvent"): (EndEventParser, EndEvent),
        full_tag("intermediateCatchEvent"): (CatchEventParser, IntermediateCatchEvent),
        full_tag("intermediateThrowEvent"): (ThrowEventParser, IntermediateThrowEvent),
        full_tag("boundaryEvent"): (BoundaryEventParser, BoundaryEvent),
        full_tag("parallelGateway"): (GatewayParser, ScopeParallelGateway),
        full_tag("inclusiveGateway"): (ConditionalGatewayParser, ScopeInclusiveGateway),
    })

    def _find_dependencies(self, process):
        # Decisions are deployed resources looked up when the task runs (latest or pinned
        # version), not DMN files this parser holds; BpmnDmnParser's bookkeeping of them
        # expects SpiffWorkflow's own businessRuleTask parser and fails on ours.
        BpmnParser._find_dependencies(self, process)


@dataclass
class ProcessInfo:
    """What deployment learns about one executable process in a BPMN file."""

    key: str
    name: str | None
    file: str
    signal_starts: list[str] = field(default_factory=list)
    message_starts: list[str] = field(default_factory=list)
    timer_starts: list[tuple[str, str, str]] = field(default_factory=list)  # (element, kind, value)
    none_start: bool = False
    called_elements: list[str] = field(default_factory=list)


def _problem(node, filename: str, message: str) -> Problem:
    return Problem(message, file=filename, line=getattr(node, "sourceline", None),
                   element_id=node.get("id") if node is not None else None)


def validate_bpmn(root, filename: str, *, allow_scripts: bool, compile_template) -> tuple[list[ProcessInfo], list[Problem]]:
    """Check one parsed BPMN document; return its executable processes and every problem found.

    ``compile_template`` compiles a ``${...}`` text or raises ExpressionError; it is passed in
    so the parser does not depend on which expression language implementation is used.
    """
    problems: list[Problem] = []
    if _local(root.tag) != "definitions" or etree.QName(root.tag).namespace != BPMN_NS:
        return [], [_problem(root, filename, "not a BPMN 2.0 definitions document")]
    processes = root.findall("bpmn:process", NS)
    if not processes:
        problems.append(_problem(root, filename, "no bpmn:process in the file"))
    signals = {s.get("id"): s.get("name") for s in root.findall("bpmn:signal", NS)}
    messages = {m.get("id"): m.get("name") for m in root.findall("bpmn:message", NS)}
    errors = {e.get("id") for e in root.findall("bpmn:error", NS)}
    infos = []

    def check_expr(node, text: str | None, what: str, at=None) -> None:
        """``at``: the node whose line to report when ``node`` (the element) is further up."""
        if text is None or ("${" not in text and "#{" not in text):
            return
        try:
            compile_template(text)
        except ExpressionError as exc:
            problems.append(Problem(f"bad {what}: {exc.message}", file=filename,
                                    line=getattr(at if at is not None else node, "sourceline", None),
                                    element_id=node.get("id")))

    for process in processes:
        key = process.get("id")
        info = ProcessInfo(key=key, name=process.get("name"), file=filename)
        if process.get("isExecutable", "false") != "true":
            continue
        ids = {el.get("id"): el for el in process.iter() if isinstance(el.tag, str) and el.get("id")}
        for el in process.iter():
            if not isinstance(el.tag, str):
                continue
            ns = etree.QName(el.tag).namespace
            tag = _local(el.tag)
            if ns != BPMN_NS:
                continue
            parent = el.getparent()
            in_flow_scope = parent is not None and _local(parent.tag) in ("process", "subProcess", "transaction")
            if tag.endswith("EventDefinition"):
                if tag not in SUPPORTED_EVENT_DEFINITIONS or tag in REFUSED_EVENT_DEFINITIONS:
                    problems.append(_problem(parent, filename, f"unsupported event definition bpmn:{tag}"))
                continue
            if in_flow_scope and tag not in SUPPORTED and tag not in ("transaction",):
                problems.append(_problem(el, filename, f"unsupported element bpmn:{tag}"))
                continue
            if tag == "sequenceFlow":
                for ref in ("sourceRef", "targetRef"):
                    target = el.get(ref)
                    if not target or target not in ids:
                        problems.append(_problem(el, filename, f"{ref} {target!r} does not name an element of the process"))
                cond = el.find("bpmn:conditionExpression", NS)
                if cond is not None:
                    check_expr(el, cond.text, "condition")
            elif tag == "scriptTask" and not allow_scripts:
                problems.append(_problem(el, filename, "script tasks are refused (set MLC_ALLOW_SCRIPTS=1 to allow them)"))
            elif tag in ("serviceTask", "sendTask") and el.get(_c("expression")) is None:
                topic, _impl = service_topic(el)
                if not topic:
                    problems.append(_problem(el, filename, "service task has no implementation: set camunda:type=\"external\" with camunda:topic, camunda:class, camunda:delegateExpression or camunda:expression"))
            elif tag == "boundaryEvent":
                if el.get("attachedToRef") not in ids:
                    problems.append(_problem(el, filename, f"attachedToRef {el.get('attachedToRef')!r} does not name an element of the process"))
            elif tag == "callActivity":
                called = el.get("calledElement")
                if not called:
                    problems.append(_problem(el, filename, "callActivity without calledElement"))
                else:
                    info.called_elements.append(called)
            if tag in ("serviceTask", "sendTask"):
                check_expr(el, el.get(_c("expression")), "expression")
            for p in el.findall("bpmn:extensionElements/camunda:inputOutput/*", NS):
                for text_node in p.iter():
                    if isinstance(text_node.tag, str) and text_node.text:
                        # parameters have no id: name the activity, point at the parameter
                        check_expr(el, text_node.text, f"parameter {p.get('name')!r}", at=text_node)
            for ev in el.findall("bpmn:signalEventDefinition", NS):
                ref = ev.get("signalRef")
                if ref not in signals:
                    problems.append(_problem(el, filename, f"signalRef {ref!r} does not name a bpmn:signal"))
                elif tag == "startEvent" and parent is process:
                    info.signal_starts.append(signals[ref])
                else:
                    check_expr(el, signals[ref], "signal name")
            for ev in el.findall("bpmn:messageEventDefinition", NS):
                ref = ev.get("messageRef")
                if ref not in messages:
                    problems.append(_problem(el, filename, f"messageRef {ref!r} does not name a bpmn:message"))
                elif tag == "startEvent" and parent is process:
                    info.message_starts.append(messages[ref])
            if tag == "receiveTask":
                ref = el.get("messageRef")
                if ref not in messages:
                    problems.append(_problem(el, filename, f"messageRef {ref!r} does not name a bpmn:message"))
            for ev in el.findall("bpmn:errorEventDefinition", NS):
                ref = ev.get("errorRef")
                if ref is not None and ref not in errors:
                    problems.append(_problem(el, filename, f"errorRef {ref!r} does not name a bpmn:error"))
            for ev in el.findall("bpmn:timerEventDefinition", NS):
                found = [(k, ev.find(f"bpmn:{t}", NS)) for k, t in
                         (("date", "timeDate"), ("duration", "timeDuration"), ("cycle", "timeCycle"))]
                found = [(k, n) for k, n in found if n is not None]
                if not found or not (found[0][1].text or "").strip():
                    problems.append(_problem(el, filename, "timer without a time value"))
                    continue
                kind, value_node = found[0]
                value = value_node.text.strip()
                if "${" in value or "#{" in value:
                    check_expr(el, value, f"timer {kind}")
                else:
                    try:
                        validate_timer_value(kind, value)
                    except ExpressionError as exc:
                        problems.append(_problem(el, filename, exc.message))
                        continue
                if tag == "startEvent" and parent is process:
                    info.timer_starts.append((el.get("id"), kind, value))
            if tag == "startEvent" and parent is process and not any(
                    _local(c.tag).endswith("EventDefinition") for c in el if isinstance(c.tag, str)):
                info.none_start = True
        infos.append(info)
    if processes and not infos and not problems:
        problems.append(_problem(processes[0], filename, "no executable process (isExecutable=\"true\")"))
    return infos, problems


def spiff_problem(exc: ValidationException, filename: str) -> Problem:
    return Problem(str(getattr(exc, "msg", None) or exc).split("\n")[0],
                   file=getattr(exc, "file_name", None) or filename,
                   line=getattr(exc, "line_number", None) or None,
                   element_id=getattr(exc, "id", None) or None)


def build_parser(sources: Iterable[tuple[str, bytes]]) -> MlcBpmnParser:
    """A SpiffWorkflow parser loaded with the given (filename, BPMN bytes) documents."""
    parser = MlcBpmnParser()
    for filename, data in sources:
        root = parse_xml(data, filename)
        try:
            parser.add_bpmn_xml(etree.ElementTree(root), filename=filename)
        except ValidationException as exc:
            raise ValidationError(f"{filename}: could not parse BPMN:",
                                  [spiff_problem(exc, filename)]) from None
    return parser
