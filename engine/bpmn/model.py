"""The executable form of a BPMN process: what the parser builds and the runner walks.

Plain, immutable-after-parse objects with everything the runner needs precomputed: outgoing
flows in document order, compiled expressions, boundary events per activity, event
sub-processes per container, link targets and the reachability that inclusive joins ask
about. Nothing here refers to SpiffWorkflow or to the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..errors import ExecutionFault


class Kind(StrEnum):
    """What a flow node does when a token reaches it."""

    START = "startEvent"
    END = "endEvent"
    CATCH = "intermediateCatchEvent"
    THROW = "intermediateThrowEvent"
    BOUNDARY = "boundaryEvent"
    TASK = "task"                  # task / manualTask: pass through
    EXTERNAL = "external"          # service/send/businessRule task run by a topic handler
    EXPRESSION = "expression"      # camunda:expression, evaluated in place
    DECISION = "decision"          # businessRuleTask with camunda:decisionRef
    SCRIPT = "scriptTask"
    USER = "userTask"
    RECEIVE = "receiveTask"
    EXCLUSIVE = "exclusiveGateway"
    PARALLEL = "parallelGateway"
    INCLUSIVE = "inclusiveGateway"
    EVENT_GATEWAY = "eventBasedGateway"
    SUB_PROCESS = "subProcess"
    EVENT_SUB_PROCESS = "eventSubProcess"
    TRANSACTION = "transaction"
    CALL = "callActivity"


#: Kinds whose token stays put until something outside the engine moves it.
WAIT_KINDS = frozenset({Kind.EXTERNAL, Kind.USER, Kind.RECEIVE})
#: Kinds that run a flow of their own (a child scope).
SCOPE_KINDS = frozenset({Kind.SUB_PROCESS, Kind.EVENT_SUB_PROCESS, Kind.TRANSACTION, Kind.CALL})
GATEWAYS = frozenset({Kind.EXCLUSIVE, Kind.PARALLEL, Kind.INCLUSIVE, Kind.EVENT_GATEWAY})
EVENTS = frozenset({Kind.START, Kind.END, Kind.CATCH, Kind.THROW, Kind.BOUNDARY})


class Trigger(StrEnum):
    """The event definition of an event (``none`` when it has none)."""

    NONE = "none"
    MESSAGE = "message"
    SIGNAL = "signal"
    TIMER = "timer"
    ERROR = "error"
    ESCALATION = "escalation"
    COMPENSATE = "compensate"
    CANCEL = "cancel"
    CONDITIONAL = "conditional"
    LINK = "link"
    TERMINATE = "terminate"


@dataclass(frozen=True)
class Timer:
    """``timeDate`` / ``timeDuration`` / ``timeCycle`` text (may hold ``${...}``)."""

    kind: str  # date | duration | cycle
    text: Any  # a compiled template


@dataclass(frozen=True)
class EventDefinition:
    """One event definition with what each trigger needs.

    ``name`` is the message or signal name (a compiled template for signals, which Camunda
    lets hold expressions), the error or escalation code, or the link name.
    """

    trigger: Trigger
    name: Any = None
    timer: Timer | None = None
    condition: Any = None                 # conditional: a compiled expression
    variable_name: str | None = None      # conditional: only changes of this variable
    variable_events: frozenset[str] = frozenset()  # conditional: create/update/delete
    activity_ref: str | None = None       # compensate: which activity (None: all)
    wait_for_completion: bool = True      # compensate
    code_variable: str | None = None      # error/escalation catch: where the code goes
    message_variable: str | None = None   # error catch: where the message goes
    catch_all: bool = False               # error/escalation catch without a code

    def timer_of(self, element_id: str) -> Timer:
        """The timer of a timer event (the parser gives every one a time value)."""
        if self.timer is None:
            raise ExecutionFault(f"element {element_id!r} has no timer definition "
                                 f"(a {self.trigger} event)")
        return self.timer


@dataclass(frozen=True)
class Listener:
    """A ``camunda:executionListener`` / ``camunda:taskListener`` the engine can run.

    ``expression`` is a compiled template evaluated for its effect; ``delegate`` names an
    in-process listener registered on the engine (``delegateExpression`` / ``class``). A
    ``timeout`` task listener has an id and a timer (``timeout``) that fires it while its
    task is open.
    """

    event: str
    expression: Any = None
    delegate: str | None = None
    script: str | None = None
    line: int | None = None
    listener_id: str | None = None
    timeout: EventDefinition | None = None

    @property
    def timer(self) -> EventDefinition:
        """The timer of a ``timeout`` task listener (the parser refuses one without)."""
        if self.timeout is None:
            raise ExecutionFault(f"task listener {self.listener_id!r} ({self.event}) has no "
                                 "timer")
        return self.timeout


@dataclass
class IoMapping:
    """Camunda ``inputParameter`` / ``outputParameter`` lists, evaluated in order.

    A value is ``("text", template)``, ``("list", [values])``, ``("map", [(key, value)])``
    or ``("null",)``.
    """

    inputs: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    outputs: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.inputs or self.outputs)


@dataclass(frozen=True)
class MultiInstance:
    """``multiInstanceLoopCharacteristics`` as Camunda 7 reads them."""

    sequential: bool
    cardinality: Any = None           # compiled template or None
    collection: Any = None            # compiled template (or a variable name turned into one)
    element_variable: str | None = None
    completion_condition: Any = None  # compiled expression or None
    async_before: bool = False        # camunda:asyncBefore on the loop characteristics
    async_after: bool = False


@dataclass(frozen=True)
class CallMapping:
    """One ``camunda:in`` / ``camunda:out``: a variable (or expression) copied across."""

    source: str | None = None
    source_expression: Any = None
    target: str | None = None
    all: bool = False
    local: bool = False
    business_key: Any = None  # camunda:in businessKey="${...}"

    @property
    def target_name(self) -> str:
        """The variable a ``source`` / ``sourceExpression`` mapping writes (the parser
        requires a target on those)."""
        if self.target is None:
            raise ExecutionFault(f"camunda:in/out mapping of {self.source!r} has no target")
        return self.target


@dataclass(eq=False)
class Flow:
    id: str
    source: str
    target: str
    condition: Any = None  # compiled expression or None
    listeners: tuple[Listener, ...] = ()
    line: int | None = None


@dataclass(eq=False)
class Node:
    """One flow node (activity, event or gateway) with what its kind needs."""

    id: str
    kind: Kind
    name: str | None = None
    line: int | None = None
    container: str = ""                       # id of the enclosing process / sub-process
    outgoing: list[Flow] = field(default_factory=list)
    incoming: list[Flow] = field(default_factory=list)
    default: str | None = None                # default flow id
    io: IoMapping = field(default_factory=IoMapping)
    listeners: dict[str, tuple[Listener, ...]] = field(default_factory=dict)
    task_listeners: dict[str, tuple[Listener, ...]] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    async_before: bool = False
    async_after: bool = False
    exclusive: bool = True
    retry_cycle: str | None = None
    multi: MultiInstance | None = None
    boundaries: list[Node] = field(default_factory=list)
    compensation_handler: str | None = None   # id of the handler (from a compensate boundary)
    for_compensation: bool = False
    # events
    event: EventDefinition | None = None
    interrupting: bool = True                 # boundary cancelActivity / start isInterrupting
    attached_to: str | None = None
    # tasks
    topic: str | None = None
    implementation: str | None = None
    expression: Any = None
    result_variable: str | None = None
    decision_ref: Any = None
    decision_binding: str = "latest"
    decision_version: Any = None
    map_decision_result: str = "resultList"
    script: str | None = None
    script_format: str | None = None
    message: str | None = None                # receive task
    user: dict[str, Any] = field(default_factory=dict)  # assignee, candidates, dates, form
    # call activity
    called_element: Any = None
    called_expression: Any = None             # calledElement="${...}": evaluated on entry
    called_binding: str = "latest"
    called_version: Any = None
    call_in: tuple[CallMapping, ...] = ()
    call_out: tuple[CallMapping, ...] = ()
    # containers
    triggered_by_event: bool = False

    @property
    def visible(self) -> bool:
        return True

    @property
    def event_definition(self) -> EventDefinition:
        """The definition of an event node: the parser gives every event one (``none`` when it
        has no trigger), so reading it on another node is an engine bug, named here."""
        if self.event is None:
            raise ExecutionFault(f"element {self.id!r} ({self.kind}) has no event definition")
        return self.event

    @property
    def loop(self) -> MultiInstance:
        """The multi-instance characteristics of an activity the runner runs as a body."""
        if self.multi is None:
            raise ExecutionFault(f"element {self.id!r} is not a multi-instance activity")
        return self.multi

    @property
    def is_scope(self) -> bool:
        return self.kind in SCOPE_KINDS

    @property
    def waits(self) -> bool:
        """Whether a token stays here until an outside trigger (task, catch event, gateway)."""
        if self.kind in WAIT_KINDS or self.kind is Kind.EVENT_GATEWAY:
            return True
        return self.kind is Kind.CATCH and self.event is not None and self.event.trigger in (
            Trigger.MESSAGE, Trigger.SIGNAL, Trigger.TIMER, Trigger.CONDITIONAL)


@dataclass(eq=False)
class Container:
    """A process or (event/transaction) sub-process: the flow nodes directly inside it."""

    id: str
    nodes: list[str] = field(default_factory=list)
    none_starts: list[str] = field(default_factory=list)
    event_starts: list[str] = field(default_factory=list)       # starts with a trigger
    event_sub_processes: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)         # link name -> catch node id
    compensation_handlers: list[str] = field(default_factory=list)


@dataclass(eq=False)
class ProcessModel:
    """One executable process of a deployed file."""

    key: str
    name: str | None
    file: str
    version_tag: str | None = None  # camunda:versionTag, for calledElementBinding="versionTag"
    nodes: dict[str, Node] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    containers: dict[str, Container] = field(default_factory=dict)
    _reach: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    @property
    def root(self) -> Container:
        return self.containers[self.key]

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def reachable_from(self, node_id: str) -> frozenset[str]:
        """Nodes a token at ``node_id`` can still reach along sequence flows (same container).

        An inclusive join asks this of every other token in its scope: it fires once none of
        them can arrive any more.
        """
        found = self._reach.get(node_id)
        if found is None:
            seen: set[str] = set()
            stack = [f.target for f in self.nodes[node_id].outgoing]
            node = self.nodes[node_id]
            stack.extend(f.target for b in node.boundaries for f in self.nodes[b.id].outgoing)
            while stack:
                current = stack.pop()
                if current in seen:
                    continue
                seen.add(current)
                target = self.nodes[current]
                stack.extend(f.target for f in target.outgoing)
                stack.extend(f.target for b in target.boundaries
                             for f in self.nodes[b.id].outgoing)
            found = self._reach[node_id] = frozenset(seen)
        return found


@dataclass
class ProcessInfo:
    """What deployment learns about one executable process in a BPMN file."""

    key: str
    name: str | None
    file: str
    version_tag: str | None = None
    signal_starts: list[str] = field(default_factory=list)
    message_starts: list[str] = field(default_factory=list)
    timer_starts: list[tuple[str, str, str]] = field(default_factory=list)  # (element, kind, value)
    conditional_starts: list[str] = field(default_factory=list)
    none_start: bool = False
    called_elements: list[str] = field(default_factory=list)
    delegates: list[tuple[str, str, int | None]] = field(default_factory=list)  # (name, element, line)
