"""The interpreter: moves the tokens of one instance until each waits, Camunda's way.

A :class:`Runner` works on one :class:`~engine.bpmn.state.InstanceState` inside one command:
an agenda of token operations (enter a node, leave it) runs until it is empty and no
conditional event fires any more. It knows nothing of the database: what it did is left in
the state (which the unit of work diffs into rows) and in its ``history``, ``thrown_signals``
and ``incidents`` lists.

Semantics follow Camunda 7's process virtual machine: one variable scope per process
instance with local scopes only where the model makes them; implicit parallel splits and
uncontrolled merges on activities; exclusive/inclusive/parallel/event-based gateways;
boundary events and event sub-processes for every trigger Camunda allows (``events.py``);
compensation and transactions (``compensation.py``);
multi-instance bodies (``multi.py``); call activities in an isolated scope with
``camunda:in``/``camunda:out``; asynchronous continuations as stored token states a job
resumes; execution and task listeners.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import ExecutionFault, ExpressionError
from ..expressions import Expression
from ..uuids import new_id
from ..values import jsonable
from .activities import BEHAVIOURS, ActivitiesMixin
from .compensation import CompensationMixin
from .context import ExecutionContext, ScopeView
from .events import EventsMixin
from .host import RunnerServices
from .model import Container, Flow, Kind, Listener, Node, ProcessModel, Trigger
from .multi import MultiInstanceMixin
from .state import InstanceState, Scope, ScopeKind, Token, TokenState

MAX_STEPS = 2_000_000
_MISSING = object()


@dataclass(frozen=True)
class InstanceFacts:
    instance_id: str
    definition_id: str
    definition_key: str
    business_key: str | None


class Runner(ActivitiesMixin, EventsMixin, CompensationMixin, MultiInstanceMixin):
    """Runs one command's worth of token moves on ``state``."""

    def __init__(self, state: InstanceState, facts: InstanceFacts,
                 services: RunnerServices) -> None:
        self.state = state
        self.facts = facts
        self.services = services
        self.agenda: deque[tuple[Callable[[Token], None], Token]] = deque()
        self.history: list[tuple[str, str | None, str | None, dict[str, Any]]] = []
        self.thrown_signals: list[tuple[str, dict[str, Any]]] = []
        self.incidents: list[dict[str, Any]] = []
        self.completed_tasks: list[int] = []
        self.dirty: dict[int, set[tuple[str, str]]] = {}
        self._models: dict[int, ProcessModel] = {}
        self.steps = 0

    # ------------------------------------------------------------------ models and views

    def model_of(self, scope_id: int) -> ProcessModel:
        process = self.state.process_scope(scope_id)
        found = self._models.get(process.id)
        if found is None:
            found = self._models[process.id] = self.services.model(
                process.data.get("def", self.facts.definition_id))
        return found

    def node(self, token: Token) -> Node:
        return self.model_of(token.scope).nodes[token.node]

    def definition_of(self, scope_id: int) -> str:
        definition_id: str = self.state.process_scope(scope_id).data.get(
            "def", self.facts.definition_id)
        return definition_id

    def view(self, scope_id: int, activity_id: str | None,
             extra: dict[str, Any] | None = None) -> ScopeView:
        process = self.state.process_scope(scope_id)
        business_key = process.data.get("bk", self.facts.business_key)
        facts = {"processInstanceId": self.facts.instance_id,
                 "processBusinessKey": business_key, "businessKey": business_key,
                 "processDefinitionId": self.definition_of(scope_id),
                 "activityId": activity_id}
        return ScopeView(self.state, scope_id, ExecutionContext(facts, self, scope_id), extra)

    def evaluate(self, compiled: Expression, scope_id: int, activity_id: str | None,
                 extra: dict[str, Any] | None = None) -> Any:
        return compiled.evaluate(self.view(scope_id, activity_id, extra))

    # ------------------------------------------------------------------ variables

    def set_variable(self, scope_id: int, name: str, value: Any) -> None:
        """Camunda's ``setVariable``: where the name already lives, else at the process scope."""
        target = self.state.scopes[scope_id]
        for scope in self.state.chain(scope_id):
            target = scope
            if name in scope.vars:
                break
        self._write(target, name, value)

    def set_local(self, scope_id: int, name: str, value: Any) -> None:
        self._write(self.state.scopes[scope_id], name, value)

    def set_variables(self, scope_id: int, variables: dict[str, Any] | None) -> None:
        for name, value in (variables or {}).items():
            self.set_variable(scope_id, name, value)

    def remove_variable(self, scope_id: int, name: str, *, local: bool = False) -> None:
        for scope in self.state.chain(scope_id):
            if name in scope.vars:
                del scope.vars[name]
                self._touch(scope.id, name, "delete")
                return
            if local:
                return

    def _write(self, scope: Scope, name: str, value: Any) -> None:
        value = jsonable(value)
        old = scope.vars.get(name, _MISSING)
        if old is not _MISSING and old == value and type(old) is type(value):
            return
        scope.vars[name] = value
        self._touch(scope.id, name, "create" if old is _MISSING else "update")

    def _touch(self, scope_id: int, name: str, event: str) -> None:
        self.dirty.setdefault(scope_id, set()).add((name, event))

    # ------------------------------------------------------------------ the agenda

    def schedule(self, operation: Callable[[Token], None], token: Token) -> None:
        self.agenda.append((operation, token))

    def drain(self) -> None:
        """Run until every token waits and no conditional event fires any more."""
        while True:
            while self.agenda:
                operation, token = self.agenda.popleft()
                if self.state.tokens.get(token.id) is not token:
                    continue  # cancelled meanwhile
                self.steps += 1
                if self.steps > MAX_STEPS:
                    raise ExecutionFault(
                        f"instance {self.facts.instance_id}: more than {MAX_STEPS:,} steps "
                        "without reaching a wait state (an endless loop?)")
                operation(token)
            if not self.evaluate_conditions():
                return

    def record(self, kind: str, activity_id: str | None = None, name: str | None = None,
               **data: Any) -> None:
        self.history.append((kind, activity_id, name, data))

    # ------------------------------------------------------------------ starting

    def start(self, model: ProcessModel, trigger: tuple[str, str] | None,
              variables: dict[str, Any]) -> None:
        """Start the instance: the none start event, or the start event ``trigger`` names."""
        root = self.state.new_scope(None, ScopeKind.PROCESS, model.key)
        for name, value in variables.items():
            root.vars[name] = jsonable(value)
        self._models[root.id] = model
        start_id = self._choose_start(model, trigger)
        self.listen(model.nodes[model.key].listeners, "start", root.id, None)
        self.open_scope(root, model.root, start_id)
        self.drain()

    @staticmethod
    def _choose_start(model: ProcessModel, trigger: tuple[str, str] | None) -> str:
        container = model.root
        if trigger is None:
            if container.none_starts:
                return container.none_starts[0]
            if container.event_starts:  # started by hand: Camunda fires the first start event
                return container.event_starts[0]
            raise ExecutionFault(f"process {model.key!r} has no start event")
        kind, name = trigger
        for start_id in container.event_starts:
            event = model.nodes[start_id].event_definition
            if kind == "timer" and start_id == name and event.trigger is Trigger.TIMER:
                return start_id
            if kind == "conditional" and start_id == name:
                return start_id
            if kind == "signal" and event.trigger is Trigger.SIGNAL and event.name.source == name:
                return start_id
            if kind == "message" and event.trigger is Trigger.MESSAGE and event.name == name:
                return start_id
        raise ExecutionFault(f"process {model.key!r} has no {kind} start event for {name!r}")

    def open_scope(self, scope: Scope, container: Container, first: str | None) -> None:
        """A flow scope begins: subscribe its event sub-processes' start events, put a token
        on ``first`` (its start event), and fire conditional starts that already hold."""
        if container.event_sub_processes:
            self.arm_event_sub_processes(scope, container)
        if first is not None:
            self.schedule(self.enter, self.state.new_token(first, scope.id))
        if scope.data.get("subs"):
            self.check_conditions_now(scope)

    # ------------------------------------------------------------------ entering a node

    def enter(self, token: Token) -> None:
        node = self.node(token)
        inner = token.data.get("inner", False)
        if node.multi is not None and not inner:
            if node.async_before and not token.data.pop("async_done", False):
                return self._park(token, TokenState.ASYNC_BEFORE)
            return self.enter_multi_instance(token, node)
        async_before = node.loop.async_before if inner else node.async_before
        if async_before and not token.data.pop("async_done", False):
            return self._park(token, TokenState.ASYNC_BEFORE)
        if node.io.inputs or node.io.outputs:
            local = self.state.new_scope(token.scope, ScopeKind.LOCAL, node.id, owner=token.id)
            token.local = local.id
            for name, value in node.io.inputs:
                local.vars[name] = jsonable(self._param(value, local.id, node.id))
        self.listen(node.listeners, "start", token.var_scope, node.id)
        if self.state.tokens.get(token.id) is not token:
            return  # a listener's variable write triggered something that cancelled us
        BEHAVIOURS[node.kind](self, token, node)

    def _park(self, token: Token, state: TokenState) -> None:
        token.state = state
        token.data["job"] = new_id()
        self.record("job.created", token.node, None, continuation=state.value)

    def _param(self, value: tuple[Any, ...], scope_id: int, element_id: str) -> Any:
        kind = value[0]
        if kind == "text":
            compiled = value[1]
            return None if compiled is None else self.evaluate(compiled, scope_id, element_id)
        if kind == "list":
            return [self._param(v, scope_id, element_id) for v in value[1]]
        if kind == "map":
            return {k: self._param(v, scope_id, element_id) for k, v in value[1]}
        return None

    def listen(self, listeners: dict[str, tuple[Listener, ...]], event: str, scope_id: int,
               activity_id: str | None, *, extra: dict[str, Any] | None = None) -> None:
        for listener in listeners.get(event, ()):
            self.run_listener(listener, event, scope_id, activity_id, extra)

    def run_listener(self, listener: Listener, event: str, scope_id: int,
                     activity_id: str | None, extra: dict[str, Any] | None = None) -> None:
        if listener.expression is not None:
            self.evaluate(listener.expression, scope_id, activity_id, extra)
        elif listener.delegate is not None:
            handler = self.services.delegate(listener.delegate)
            if handler is None:
                raise ExecutionFault(f"no listener registered as {listener.delegate!r} "
                                     f"(element {activity_id!r})")
            from .delegate import DelegateExecution

            handler(DelegateExecution(self, scope_id, activity_id, event, extra))
        elif listener.script is not None:
            self.run_script(listener.script, scope_id, activity_id)

    # ------------------------------------------------------------------ leaving a node

    def set_result(self, token: Token, name: str, value: Any) -> None:
        """An activity's own result: local when it has a mapping scope, else propagated."""
        if token.local is not None:
            self.set_local(token.local, name, value)
        else:
            self.set_variable(token.scope, name, value)

    def leave(self, token: Token) -> None:
        """The activity at ``token`` completed: end listeners, outputs, then outgoing flows."""
        node = self.node(token)
        inner = token.data.get("inner", False)
        body = node.multi is not None and not inner
        if not body:
            self.listen(node.listeners, "end", token.var_scope, node.id)
            if token.local is not None:
                self._apply_outputs(token, node, token.local)
            self.note_compensation(token, node)
        token.data.pop("subs", None)
        token.data.pop("task", None)
        token.state = TokenState.READY
        if body:
            self.record("activity.completed", node.id, node.name, multi_instance_body=True)
        else:
            self.record("activity.completed", node.id, node.name)
        if inner:
            return self.inner_instance_done(token)
        async_after = node.async_after
        if async_after and not token.data.pop("async_done", False):
            return self._park(token, TokenState.ASYNC_AFTER)
        self.take_outgoing(token, node)

    def _apply_outputs(self, token: Token, node: Node, local_id: int) -> None:
        local = self.state.scopes.pop(local_id)
        token.local = None
        if node.io.outputs:
            values = [(name, self._param_in(value, local, node.id))
                      for name, value in node.io.outputs]
        else:
            inputs = {name for name, _ in node.io.inputs}
            values = [(k, v) for k, v in local.vars.items() if k not in inputs]
        for name, value in values:
            self.set_variable(token.scope, name, value)

    def _param_in(self, value: tuple[Any, ...], local: Scope, element_id: str) -> Any:
        """Evaluate an output parameter against a mapping scope that was just taken out."""
        self.state.scopes[local.id] = local
        try:
            return self._param(value, local.id, element_id)
        finally:
            del self.state.scopes[local.id]

    def take_outgoing(self, token: Token, node: Node) -> None:
        flows = self.select_flows(token, node)
        if not flows:
            self.end_token(token)
            return
        for i, flow in enumerate(flows):
            moving = token if i == 0 else self.state.new_token(flow.target, token.scope)
            self.take(moving, flow)

    def take(self, token: Token, flow: Flow) -> None:
        for listener in flow.listeners:
            self.run_listener(listener, "take", token.scope, flow.id)
        token.node = flow.target
        token.state = TokenState.READY
        token.local = None
        token.child = None
        token.data = {}
        self.schedule(self.enter, token)

    def select_flows(self, token: Token, node: Node) -> list[Flow]:
        """Which outgoing flows a token takes, by Camunda's rules for the node's kind."""
        if not node.outgoing:
            return []
        if node.kind is Kind.PARALLEL:
            return list(node.outgoing)
        scope = token.scope
        chosen: list[Flow] = []
        for flow in node.outgoing:
            if flow.id == node.default:
                continue
            if flow.condition is None or self._condition(flow, scope, node):
                chosen.append(flow)
                if node.kind is Kind.EXCLUSIVE:
                    break
        if not chosen and node.default is not None:
            chosen = [f for f in node.outgoing if f.id == node.default]
        if not chosen:
            raise ExecutionFault(f"no outgoing sequence flow of {node.id!r} can be taken: "
                                 "every condition is false and there is no default flow")
        return chosen

    def _condition(self, flow: Flow, scope_id: int, node: Node) -> bool:
        try:
            return bool(flow.condition.evaluate_condition(self.view(scope_id, flow.id)))
        except ExpressionError as exc:
            raise ExpressionError(f"{exc.message} (a sequence flow leaving {node.id!r})") from None

    # ------------------------------------------------------------------ ending and completing

    def end_token(self, token: Token) -> None:
        scope_id = token.scope
        self.state.tokens.pop(token.id, None)
        self.after_token_left(scope_id)

    def after_token_left(self, scope_id: int) -> None:
        if scope_id not in self.state.scopes:
            return
        if any(t.scope == scope_id for t in self.state.tokens.values()):
            self.recheck_inclusive_joins(scope_id)
            return
        self.complete_scope(self.state.scopes[scope_id])

    def complete_scope(self, scope: Scope) -> None:
        """A flow scope has no token left: it completes, and its owner moves on."""
        if "comp_for" in scope.data:
            return self.compensation_done(scope)
        if scope.kind is ScopeKind.PROCESS and scope.parent is None:
            model = self.model_of(scope.id)
            self.listen(model.nodes[model.key].listeners, "end", scope.id, None)
            self.drop_descendants(scope.id)
            scope.data.pop("subs", None)
            self.state.ended = True
            return
        owner = self.state.tokens.get(scope.owner) if scope.owner is not None else None
        if scope.kind is ScopeKind.MI_INNER:
            self.drop_scope(scope.id)
            return
        if scope.kind is ScopeKind.PROCESS:  # a called process returns to its call activity
            model = self.model_of(scope.id)
            self.listen(model.nodes[model.key].listeners, "end", scope.id, None)
            if owner is not None:
                self._map_out(owner, scope)
        if owner is not None and scope.kind is ScopeKind.SUB:
            log = scope.data.get("comp")
            if log:
                owner.data["comp_inner"] = log
            if log or self.node(owner).compensation_handler:
                owner.data["comp_vars"] = dict(scope.vars)  # what its compensation sees
        self.drop_scope(scope.id)
        if owner is None:
            return
        owner.child = None
        if scope.kind is ScopeKind.EVENT:
            self.record("activity.completed", owner.node, None)
            self.end_token(owner)
        else:
            self.leave(owner)

    def _map_out(self, owner: Token, called: Scope) -> None:
        node = self.node(owner)
        target = owner.var_scope
        for mapping in node.call_out:
            if mapping.all:
                for name, value in called.vars.items():
                    (self.set_local if mapping.local else self.set_variable)(target, name, value)
            elif mapping.source_expression is not None:
                value = self.evaluate(mapping.source_expression, called.id, node.id)
                (self.set_local if mapping.local else self.set_variable)(
                    target, mapping.target_name, value)
            elif mapping.source is not None:
                value = called.vars.get(mapping.source)
                (self.set_local if mapping.local else self.set_variable)(
                    target, mapping.target_name, value)

    def drop_scope(self, scope_id: int) -> None:
        self.drop_descendants(scope_id)
        self.state.scopes.pop(scope_id, None)

    def drop_descendants(self, scope_id: int) -> None:
        """Remove every scope below ``scope_id`` and every token in them, without listeners."""
        doomed = self.descendants(scope_id)
        for token in [t for t in self.state.tokens.values() if t.scope in doomed]:
            del self.state.tokens[token.id]
        for sid in doomed:
            self.state.scopes.pop(sid, None)

    def descendants(self, scope_id: int) -> set[int]:
        children: dict[int, list[int]] = {}
        for scope in self.state.scopes.values():
            if scope.parent is not None:
                children.setdefault(scope.parent, []).append(scope.id)
        found: set[int] = set()
        stack = list(children.get(scope_id, ()))
        while stack:
            sid = stack.pop()
            if sid not in found:
                found.add(sid)
                stack.extend(children.get(sid, ()))
        return found

    # ------------------------------------------------------------------ cancelling

    def cancel_token(self, token: Token, reason: str) -> None:
        """Cancel the activity at ``token`` and everything inside it (end listeners run)."""
        if token.child is not None:
            self.cancel_scope(token.child, reason)
        if token.local is not None and token.data.get("mi_body"):
            for inner in [s for s in self.state.scopes.values() if s.parent == token.local
                          and s.kind is ScopeKind.MI_INNER]:
                self.cancel_scope(inner.id, reason)
        if token.id not in self.state.tokens:
            return
        node = self.node(token)
        if token.state in (TokenState.WAIT, TokenState.SCOPE):
            if node.kind is Kind.USER:
                self.listen(node.task_listeners, "delete", token.var_scope, node.id,
                            extra={"task": {"eventName": "delete", "id": token.id}})
            self.listen(node.listeners, "end", token.var_scope, node.id)
            self.record("activity.cancelled", node.id, node.name, reason=reason)
        self.state.tokens.pop(token.id, None)
        if token.local is not None:
            self.drop_scope(token.local)
        if token.child is not None:
            self.drop_scope(token.child)

    def cancel_tokens_in(self, scope_id: int, reason: str, *, keep: Token | None = None) -> None:
        """Cancel every token in flow scope ``scope_id`` (except ``keep``); the scope stays."""
        for token in [t for t in self.state.tokens.values() if t.scope == scope_id]:
            if token is not keep and token.id in self.state.tokens:
                self.cancel_token(token, reason)

    def cancel_scope(self, scope_id: int, reason: str) -> None:
        self.cancel_tokens_in(scope_id, reason)
        self.drop_scope(scope_id)

    def terminate(self, reason: str = "") -> None:
        """Operator terminate: cancel everything, the instance ends as terminated."""
        root = self.state.root
        self.cancel_tokens_in(root.id, reason or "terminated")
        self.drop_descendants(root.id)
        root.data.pop("subs", None)
        self.state.ended = True

    # ------------------------------------------------------------------ outside triggers

    def complete_task(self, token_id: int, variables: dict[str, Any] | None,
                      local_variables: dict[str, Any] | None = None) -> None:
        """An external task or user task is done: its results, then the flow goes on."""
        token = self._waiting(token_id)
        node = self.node(token)
        if node.kind is Kind.USER:
            self.listen(node.task_listeners, "complete", token.var_scope, node.id,
                        extra={"task": {"eventName": "complete", "id": token.id,
                                        "assignee": token.data.get("task", {}).get("assignee")}})
        for name, value in (local_variables or {}).items():
            if token.local is None:
                token.local = self.state.new_scope(token.scope, ScopeKind.LOCAL, node.id,
                                                   owner=token.id).id
            self.set_local(token.local, name, value)
        results = dict(variables or {})
        if node.result_variable and variables is not None and node.result_variable not in results:
            results[node.result_variable] = variables
        for name, value in results.items():
            self.set_result(token, name, value)
        self.completed_tasks.append(token.id)
        self.leave(token)
        self.drain()

    def run_job(self, token_id: int) -> None:
        """An asynchronous continuation's job: enter (async before) or leave (async after)."""
        token = self.state.tokens.get(token_id)
        if token is None or token.state not in (TokenState.ASYNC_BEFORE, TokenState.ASYNC_AFTER):
            raise ExecutionFault(f"no asynchronous continuation {token_id} in instance "
                                 f"{self.facts.instance_id}")
        before = token.state is TokenState.ASYNC_BEFORE
        token.state = TokenState.READY
        token.data["async_done"] = True
        self.record("job.executed", token.node, None,
                    continuation="async-before" if before else "async-after")
        if before:
            self.schedule(self.enter, token)
        else:
            self.take_outgoing(token, self.node(token))
        self.drain()

    def _waiting(self, token_id: int) -> Token:
        token = self.state.tokens.get(token_id)
        if token is None or token.state not in (TokenState.WAIT, TokenState.INCIDENT):
            raise ExecutionFault(f"activity instance {token_id} of instance "
                                 f"{self.facts.instance_id} is not waiting")
        token.state = TokenState.WAIT
        return token

    def set_instance_variables(self, variables: dict[str, Any]) -> None:
        """Operator/API variable writes on the process scope; conditions are re-evaluated."""
        for name, value in variables.items():
            self.set_local(self.state.root.id, name, value)
        self.drain()

    # ------------------------------------------------------------------ reading the state

    def waiting_tokens(self) -> Iterable[Token]:
        return (t for t in self.state.tokens.values()
                if t.state not in (TokenState.READY, TokenState.JOIN))
