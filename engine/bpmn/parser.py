"""The Camunda 7 dialect of BPMN: validate a deployed file and build its executable models.

One pass over the lxml tree both checks and builds: each flow element is handled by the
builder registered for its tag in ``BUILDERS``, which reads Camunda's attributes and
extension elements, compiles every expression, and reports anything it cannot run as a
:class:`~engine.errors.Problem` located as ``file:line [id]: what and why``. Structural checks
(flows, boundaries, gateways, links, starts) follow once the container is built. Any NCName
is a valid id: ids are only ever keys of the model's own dictionaries.
"""

from __future__ import annotations

from lxml import etree

from ..errors import Problem, ValidationError
from ..xmlsafe import parse_xml
from .elements import BUILDERS
from .extensions import (
    BPMN_NS,
    NS,
    Located,
    c,
    flag,
    io_mapping,
    listeners,
    local,
    multi_instance,
    properties,
    retry_cycle,
)
from .model import Container, Flow, Kind, Node, ProcessInfo, ProcessModel, Trigger

#: Elements that may appear inside a process or sub-process without being flow nodes.
IGNORED = frozenset({
    "laneSet", "lane", "dataObject", "dataObjectReference", "dataStoreReference",
    "textAnnotation", "association", "extensionElements", "documentation", "ioSpecification",
    "property", "incoming", "outgoing", "flowNodeRef", "group", "category", "dataInput",
    "dataOutput", "dataInputAssociation", "dataOutputAssociation",
    "multiInstanceLoopCharacteristics", "standardLoopCharacteristics",
})
#: What Camunda 7 itself refuses; named so the refusal says why.
REFUSED = {
    "complexGateway": "complex gateways are not executable in Camunda 7",
    "adHocSubProcess": "ad-hoc sub-processes are not executable in Camunda 7",
    "choreographyTask": "choreographies are not executable",
    "subChoreography": "choreographies are not executable",
}
ACTIVITIES = frozenset({"task", "manualTask", "serviceTask", "sendTask", "businessRuleTask",
                        "scriptTask", "userTask", "receiveTask", "subProcess", "transaction",
                        "callActivity"})
CATCHERS_AFTER_EVENT_GATEWAY = frozenset({Trigger.MESSAGE, Trigger.SIGNAL, Trigger.TIMER,
                                          Trigger.CONDITIONAL})


class _Document:
    """The build of one executable process: the file's definitions-level lookups, the model
    and info being built, and the file's problem sink (shared by its processes)."""

    def __init__(self, root: etree._Element, sink: Located, allow_scripts: bool,
                 model: ProcessModel, info: ProcessInfo) -> None:
        self.root = root
        self.sink = sink
        self.filename = sink.filename
        self.allow_scripts = allow_scripts
        self.signals: dict[str | None, str | None] = {
            s.get("id"): s.get("name") for s in root.findall("bpmn:signal", NS)}
        self.messages: dict[str | None, str | None] = {
            m.get("id"): m.get("name") for m in root.findall("bpmn:message", NS)}
        self.errors: dict[str | None, etree._Element] = {
            e.get("id"): e for e in root.findall("bpmn:error", NS)}
        self.escalations: dict[str | None, etree._Element] = {
            e.get("id"): e for e in root.findall("bpmn:escalation", NS)}
        self.model = model
        self.info = info
        # node id -> its lxml element, to locate problems
        self.elements: dict[str, etree._Element] = {}


# ------------------------------------------------------------------------------ entry points


def parse_bpmn(root: etree._Element, filename: str, *, allow_scripts: bool = False
               ) -> tuple[list[ProcessModel], list[ProcessInfo], list[Problem]]:
    """Check one parsed BPMN document; return its executable models, their infos, and every
    problem found (models are only usable when there are no problems)."""
    sink = Located(filename)
    if local(root.tag) != "definitions" or etree.QName(root.tag).namespace != BPMN_NS:
        sink.add(root, "not a BPMN 2.0 definitions document")
        return [], [], sink.problems
    processes = root.findall("bpmn:process", NS)
    if not processes:
        sink.add(root, "no bpmn:process in the file")
    models: list[ProcessModel] = []
    infos: list[ProcessInfo] = []
    for process in processes:
        if process.get("isExecutable", "false") != "true":
            continue
        key = process.get("id")
        if not key:
            sink.add(process, "a process needs an id")
            continue
        tag = process.get(c("versionTag")) or None
        doc = _Document(root, sink, allow_scripts,
                        ProcessModel(key=key, name=process.get("name"), file=filename,
                                     version_tag=tag),
                        ProcessInfo(key=key, name=process.get("name"), file=filename,
                                    version_tag=tag))
        root_node = Node(id=key, kind=Kind.SUB_PROCESS, name=process.get("name"),
                         line=process.sourceline)
        root_node.listeners = listeners(process, sink, "execution",
                                        allow_scripts=allow_scripts)
        _note_delegates(doc, root_node, process)
        doc.model.nodes[key] = root_node
        _build_container(doc, process, key, "process")
        models.append(doc.model)
        infos.append(doc.info)
    if processes and not models and not sink.problems:
        sink.add(processes[0], "no executable process (isExecutable=\"true\")")
    return models, infos, sink.problems


def validate_bpmn(root: etree._Element, filename: str, *, allow_scripts: bool = False
                  ) -> tuple[list[ProcessInfo], list[Problem]]:
    """The infos of a document's executable processes and every problem found."""
    _models, infos, problems = parse_bpmn(root, filename, allow_scripts=allow_scripts)
    return infos, problems


def load_models(data: bytes, filename: str, *, allow_scripts: bool = False
                ) -> dict[str, ProcessModel]:
    """Parse deployed bytes into models by process key; raise ValidationError on problems."""
    root = parse_xml(data, filename)
    models, _infos, problems = parse_bpmn(root, filename, allow_scripts=allow_scripts)
    if problems:
        raise ValidationError(f"{filename}: could not parse BPMN:", problems)
    return {m.key: m for m in models}


# ------------------------------------------------------------------------------ containers


def _build_container(doc: _Document, element: etree._Element, container_id: str,
                     kind: str) -> Container:
    """Build the flow nodes and flows directly inside ``element`` (process or sub-process)."""
    sink, model = doc.sink, doc.model
    container = Container(id=container_id)
    model.containers[container_id] = container
    flows = []
    for el in element:
        if not isinstance(el.tag, str) or etree.QName(el.tag).namespace != BPMN_NS:
            continue
        tag = local(el.tag)
        if tag == "sequenceFlow":
            flows.append(el)
            continue
        if tag in IGNORED:
            continue
        if tag in REFUSED:
            sink.add(el, f"unsupported element bpmn:{tag}: {REFUSED[tag]}")
            continue
        builder = BUILDERS.get(tag)
        if builder is None:
            sink.add(el, f"unsupported element bpmn:{tag}")
            continue
        node_id = el.get("id")
        if not node_id:
            sink.add(el, f"bpmn:{tag} without an id")
            continue
        if node_id in model.nodes:
            sink.add(el, f"duplicate id {node_id!r} (also on line {model.nodes[node_id].line})")
            continue
        doc.elements[node_id] = el
        node = builder(doc, el, tag)
        if node is None:  # its problem is reported; a stand-in keeps flows and boundaries that
            node = Node(node_id, Kind.TASK)  # name it from being reported as well
        node.container = container_id
        node.name = el.get("name")
        node.line = el.sourceline
        _common(doc, el, node)
        model.nodes[node_id] = node
        container.nodes.append(node_id)
        if node.kind in (Kind.SUB_PROCESS, Kind.TRANSACTION, Kind.EVENT_SUB_PROCESS):
            sub_kind = "event" if node.kind is Kind.EVENT_SUB_PROCESS else "sub"
            _build_container(doc, el, node_id, sub_kind)
            if node.kind is Kind.EVENT_SUB_PROCESS:
                container.event_sub_processes.append(node_id)
    for el in flows:
        _build_flow(doc, el, container)
    _check_container(doc, element, container, kind)
    return container


def _common(doc: _Document, el: etree._Element, node: Node) -> None:
    """What every flow node may carry: listeners, async flags, io mapping, multi-instance."""
    sink = doc.sink
    node.listeners = listeners(el, sink, "execution", allow_scripts=doc.allow_scripts)
    node.async_before = flag(el, "asyncBefore") or flag(el, "async")
    node.async_after = flag(el, "asyncAfter")
    node.exclusive = flag(el, "exclusive", True)
    node.retry_cycle = retry_cycle(el)
    if node.retry_cycle:
        _check_retry_cycle(doc, el, node.retry_cycle)
    tag = local(el.tag)
    if tag in ACTIVITIES or tag in ("intermediateThrowEvent", "endEvent"):
        node.io = io_mapping(el, sink)
        node.properties.update(properties(el))
    if tag in ACTIVITIES:
        node.default = el.get("default")
        node.multi = multi_instance(el, sink)
        node.for_compensation = (el.get("isForCompensation") or "false").lower() == "true"
        if el.find("bpmn:standardLoopCharacteristics", NS) is not None:
            sink.add(el, "standard loops (loop marker) are not executable in Camunda 7: use a "
                     "multi-instance marker or a gateway loop")
    _note_delegates(doc, node, el)


def _note_delegates(doc: _Document, node: Node, el: etree._Element) -> None:
    for group in (node.listeners, node.task_listeners):
        for items in group.values():
            for listener in items:
                if listener.delegate:
                    doc.info.delegates.append((listener.delegate, node.id, listener.line))


def _check_retry_cycle(doc: _Document, el: etree._Element, text: str) -> None:
    from .timers import parse_duration

    parts = text.strip().split("/")
    ok = len(parts) == 2 and parts[0][:1].upper() == "R" and parts[0][1:].isdigit()
    if ok:
        try:
            parse_duration(parts[1])
        except ValueError:
            ok = False
    if not ok:
        doc.sink.add(el, f"invalid failedJobRetryTimeCycle {text!r}; expected e.g. R3/PT10S")


def _build_flow(doc: _Document, el: etree._Element, container: Container) -> None:
    sink, model = doc.sink, doc.model
    flow_id = el.get("id")
    if not flow_id:
        sink.add(el, "sequenceFlow without an id")
        return
    ok = True
    for ref in ("sourceRef", "targetRef"):
        target = el.get(ref)
        if not target or target not in model.nodes:
            sink.add(el, f"{ref} {target!r} does not name an element of the process")
            ok = False
        elif model.nodes[target].container != container.id:
            sink.add(el, f"{ref} {target!r} is in another (sub-)process: a sequence flow cannot "
                     "cross a sub-process boundary")
            ok = False
    cond_el = el.find("bpmn:conditionExpression", NS)
    condition = None
    if cond_el is not None and (cond_el.text or "").strip():
        if cond_el.get("language") and cond_el.get("language").lower() not in ("juel", "el"):
            sink.add(cond_el, f"condition language {cond_el.get('language')!r} cannot run here; "
                     "write a ${...} expression", element=el)
        elif not (cond_el.text or "").strip().startswith(("${", "#{")):
            sink.add(cond_el, "bad condition: a condition must be a ${...} expression",
                     element=el)
        else:
            condition = sink.expression(cond_el.text, "condition", cond_el, el)
    flow = Flow(flow_id, el.get("sourceRef"), el.get("targetRef"), condition,
                tuple(listeners(el, sink, "execution", allow_scripts=doc.allow_scripts)
                      .get("take", ())), el.sourceline)
    for listener in flow.listeners:
        if listener.delegate:
            doc.info.delegates.append((listener.delegate, flow_id, listener.line))
    if not ok:
        return
    model.flows[flow_id] = flow
    model.nodes[flow.source].outgoing.append(flow)
    model.nodes[flow.target].incoming.append(flow)


def _check_container(doc: _Document, element: etree._Element, container: Container,
                     kind: str) -> None:
    sink, model = doc.sink, doc.model
    nodes = [model.nodes[n] for n in container.nodes]
    for node in nodes:
        el = doc.elements[node.id]
        if node.kind is Kind.START:
            if node.event is None or node.event.trigger is Trigger.NONE:
                container.none_starts.append(node.id)
            else:
                container.event_starts.append(node.id)
        if node.default is not None and node.default not in {f.id for f in node.outgoing}:
            sink.add(el, f"default flow {node.default!r} is not an outgoing flow of this element")
        if node.kind is Kind.BOUNDARY:
            _attach_boundary(doc, el, node)
        if node.kind is Kind.EVENT_GATEWAY:
            for f in node.outgoing:
                target = model.nodes[f.target]
                if not (target.kind is Kind.RECEIVE or (
                        target.kind is Kind.CATCH and target.event is not None
                        and target.event.trigger in CATCHERS_AFTER_EVENT_GATEWAY)):
                    sink.add(el, f"event-based gateway flow {f.id!r} must lead to an intermediate "
                             "message/signal/timer/conditional catch event or a receive task")
        if node.kind is Kind.CATCH and node.event and node.event.trigger is Trigger.LINK:
            if node.event.name in container.links:
                sink.add(el, f"two link catch events named {node.event.name!r}")
            container.links[node.event.name] = node.id
        if node.for_compensation:
            container.compensation_handlers.append(node.id)
            if node.outgoing or node.incoming:
                sink.add(el, "a compensation handler (isForCompensation) must have no sequence "
                         "flows")
        if (node.kind is Kind.END and node.event and node.event.trigger is Trigger.CANCEL
                and model.nodes[container.id].kind is not Kind.TRANSACTION):
            sink.add(el, "a cancel end event must be inside a transaction sub-process")
    for node in nodes:
        if node.kind is Kind.THROW and node.event and node.event.trigger is Trigger.LINK:
            if node.event.name not in container.links:
                sink.add(doc.elements[node.id], f"no link catch event named "
                         f"{node.event.name!r} in the same (sub-)process")
    _check_starts(doc, element, container, kind)
    _link_compensation(doc, element, container)


def _check_starts(doc: _Document, element: etree._Element, container: Container,
                  kind: str) -> None:
    sink, model = doc.sink, doc.model
    where = doc.elements.get(container.id, element)
    if kind == "process":
        if len(container.none_starts) > 1:
            sink.add(element, "a process may have only one none start event (found "
                     f"{', '.join(container.none_starts)})")
        if not container.none_starts and not container.event_starts:
            sink.add(element, "the process has no start event")
        info = doc.info
        info.none_start = bool(container.none_starts)
        for start_id in container.event_starts:
            event = model.nodes[start_id].event_definition
            if event.trigger is Trigger.SIGNAL:
                if not event.name.is_literal:
                    sink.add(doc.elements[start_id], "a signal start event needs a fixed signal "
                             "name, not an expression")
                info.signal_starts.append(event.name.source)
            elif event.trigger is Trigger.MESSAGE:
                info.message_starts.append(event.name)
            elif event.trigger is Trigger.TIMER:
                timer = event.timer_of(start_id)
                info.timer_starts.append((start_id, timer.kind, timer.text.source))
            elif event.trigger is Trigger.CONDITIONAL:
                info.conditional_starts.append(start_id)
    elif kind == "event":
        starts = container.none_starts + container.event_starts
        if len(starts) != 1 or container.none_starts:
            sink.add(where, "an event sub-process needs exactly one start event with a trigger")
    else:
        if len(container.none_starts) != 1:
            sink.add(where, "an embedded sub-process needs exactly one none start event (found "
                     f"{len(container.none_starts)})")


def _link_compensation(doc: _Document, element: etree._Element,
                       container: Container) -> None:
    """Compensation boundaries point at their handler through a bpmn:association; a
    compensation event sub-process is the handler of the sub-process it sits in."""
    model = doc.model
    _link_compensation_event_sub_processes(doc, container)
    associations: dict[str | None, list[str | None]] = {}
    for el in doc.root.iter(f"{{{BPMN_NS}}}association"):
        associations.setdefault(el.get("sourceRef"), []).append(el.get("targetRef"))
    for node_id in container.nodes:
        node = model.nodes[node_id]
        if node.kind is not Kind.BOUNDARY or \
                node.event_definition.trigger is not Trigger.COMPENSATE:
            continue
        targets = [t for t in associations.get(node_id, []) if t in model.nodes]
        handlers = [t for t in targets if model.nodes[t].for_compensation]
        el = doc.elements[node_id]
        if len(handlers) != 1:
            doc.sink.add(el, "a compensation boundary event needs an association to exactly one "
                         "activity marked isForCompensation")
            continue
        attached = model.nodes.get(node.attached_to or "")
        if attached is not None and attached.compensation_handler is not None:
            doc.sink.add(el, "a compensation boundary event and an event sub-process with a "
                         f"compensation start event cannot both compensate {attached.id!r} "
                         "(Camunda 7 refuses the same)")
        elif attached is not None:
            attached.compensation_handler = handlers[0]


def _link_compensation_event_sub_processes(doc: _Document, container: Container) -> None:
    """Camunda 7 runs a compensation event sub-process only inside an embedded sub-process
    (one per sub-process), in place of compensating the sub-process's inner activities."""
    model = doc.model
    owner = model.nodes[container.id]
    for esp_id in container.event_sub_processes:
        starts = model.containers[esp_id].event_starts
        if len(starts) != 1 or model.nodes[starts[0]].event_definition.trigger \
                is not Trigger.COMPENSATE:
            continue
        start_el = doc.elements[starts[0]]
        if container.id == model.key:
            doc.sink.add(start_el, "an event sub-process with a compensation start event runs "
                         "only inside an embedded sub-process, not at process level (Camunda 7 "
                         "refuses the same)")
        elif owner.compensation_handler is not None:
            doc.sink.add(start_el, "only one event sub-process with a compensation start event "
                         f"per sub-process ({owner.compensation_handler!r} is already one)")
        else:
            owner.compensation_handler = esp_id


def _attach_boundary(doc: _Document, el: etree._Element, node: Node) -> None:
    sink, model = doc.sink, doc.model
    target = model.nodes.get(node.attached_to or "")
    if target is None:
        sink.add(el, f"attachedToRef {node.attached_to!r} does not name an element of the process")
        return
    if target.container != node.container:
        sink.add(el, f"attachedToRef {node.attached_to!r} is in another (sub-)process")
        return
    if target.kind in (Kind.START, Kind.END, Kind.CATCH, Kind.THROW, Kind.BOUNDARY) or \
            target.kind in (Kind.EXCLUSIVE, Kind.PARALLEL, Kind.INCLUSIVE, Kind.EVENT_GATEWAY):
        sink.add(el, f"a boundary event must be attached to an activity, not to {target.kind}")
        return
    trigger = node.event_definition.trigger
    if trigger is Trigger.CANCEL and target.kind is not Kind.TRANSACTION:
        sink.add(el, "a cancel boundary event must be attached to a transaction sub-process")
        return
    if trigger is Trigger.ERROR and not node.interrupting:
        sink.add(el, "an error boundary event is always interrupting (cancelActivity=\"false\" "
                 "is not allowed)")
        return
    if trigger is Trigger.COMPENSATE and node.outgoing:
        sink.add(el, "a compensation boundary event has no outgoing sequence flow; associate "
                 "its handler instead")
    target.boundaries.append(node)
