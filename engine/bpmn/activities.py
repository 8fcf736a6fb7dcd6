"""What each kind of activity and gateway does when a token enters it.

A mixin of :class:`~engine.bpmn.runner.Runner`: tasks run in place (expression, decision,
script) or wait (external, user, receive); sub-processes and call activities open a child
scope; gateways join and split by Camunda's rules. ``BEHAVIOURS`` maps each node kind to its
entry behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ExecutionFault
from ..uuids import new_id
from ..values import jsonable
from .events import EventsMixin
from .host import RunnerHost
from .model import Kind, Node
from .state import ScopeKind, Token, TokenState

if TYPE_CHECKING:  # pragma: no cover
    from .runner import Runner


class ActivitiesMixin(RunnerHost):
    """Entry behaviour of tasks, sub-processes, call activities and gateways."""

    def _pass(self, token: Token, node: Node) -> None:
        self.leave(token)

    def _external(self, token: Token, node: Node) -> None:
        token.state = TokenState.WAIT
        token.data["ext"] = new_id()
        priority = node.user.get("taskPriority")
        if priority is not None:
            token.data["priority"] = self.evaluate(priority, token.var_scope, node.id)
        self.arm_boundaries(token, node)
        self.record("activity.started", node.id, node.name, topic=node.topic)

    def _expression(self, token: Token, node: Node) -> None:
        result = self.evaluate(node.expression, token.var_scope, node.id)
        if node.result_variable:
            self.set_result(token, node.result_variable, result)
        self.leave(token)

    def _decision(self, token: Token, node: Node) -> None:
        scope = token.var_scope
        ref = self.evaluate(node.decision_ref, scope, node.id)
        version = (self.evaluate(node.decision_version, scope, node.id)
                   if node.decision_version is not None else None)
        result = self.services.decide(str(ref), self.view(scope, node.id),
                                      binding=node.decision_binding, version=version,
                                      map_decision_result=node.map_decision_result,
                                      element_id=node.id,
                                      caller_definition_id=self.definition_of(token.scope))
        if node.result_variable:
            self.set_result(token, node.result_variable, result)
        self.leave(token)

    def _script(self, token: Token, node: Node) -> None:
        result = self.run_script(node.script or "", token.var_scope, node.id)
        if node.result_variable:
            self.set_result(token, node.result_variable, result)
        self.leave(token)

    def run_script(self, script: str, scope_id: int, activity_id: str | None) -> Any:
        """A python script the operator allowed (``MLC_ALLOW_SCRIPTS=1``): it sees the visible
        variables as globals; the names it binds become process variables."""
        if not self.services.allow_scripts:
            raise ExecutionFault(f"script at {activity_id!r} refused: scripts are disabled")
        before = self.state.visible(scope_id)
        namespace = dict(before)
        try:
            exec(compile(script, f"<script {activity_id}>", "exec"), namespace)  # noqa: S102
        except Exception as exc:  # a script's own failure is the process's failure
            raise ExecutionFault(f"script at {activity_id!r} failed: "
                                 f"{type(exc).__name__}: {exc}") from None
        namespace.pop("__builtins__", None)
        for name, value in namespace.items():
            if name.startswith("_") or callable(value) or type(value).__name__ == "module":
                continue
            if name not in before or before[name] is not value:
                self.set_variable(scope_id, name, value)
        return namespace.get("result")

    def _user(self, token: Token, node: Node) -> None:
        token.state = TokenState.WAIT
        assignee = node.user.get("assignee")
        info = {}
        for key in ("assignee", "candidateUsers", "candidateGroups", "dueDate", "followUpDate",
                    "priority", "formKey", "formRef"):
            compiled = node.user.get(key)
            if compiled is not None:
                info[key] = jsonable(self.evaluate(compiled, token.var_scope, node.id))
        token.data["task"] = info
        token.data["ut"] = new_id()
        self.arm_boundaries(token, node)
        self.arm_task_timeouts(token, node)
        self.record("activity.started", node.id, node.name, user_task=True)
        task = {"assignee": info.get("assignee"), "eventName": "create", "id": token.id}
        self.listen(node.task_listeners, "create", token.var_scope, node.id,
                    extra={"task": task})
        if assignee is not None and info.get("assignee") is not None:
            self.listen(node.task_listeners, "assignment", token.var_scope, node.id,
                        extra={"task": dict(task, eventName="assignment")})

    def arm_task_timeouts(self, token: Token, node: Node) -> None:
        """One timer per ``timeout`` task listener, due while the task stays open."""
        for listener in node.task_listeners.get("timeout", ()):
            sub = self.subscription(node, listener.timer, token.var_scope)
            if sub is not None:
                sub["tl"] = listener.listener_id
                token.data.setdefault("subs", []).append(sub)

    def task_timeout(self, token: Token, sub: dict[str, Any]) -> None:
        """A timeout listener's timer is due: run the listener; the task stays open (a cycle
        fires again at its next due time)."""
        node = self.node(token)
        self._repeat_or_drop(token, sub)
        [listener] = [t for t in node.task_listeners.get("timeout", ())
                      if t.listener_id == sub["tl"]]
        self.record("task.timeout", node.id, node.name, listener=sub["tl"])
        task = {"eventName": "timeout", "id": token.id,
                "assignee": token.data.get("task", {}).get("assignee")}
        self.run_listener(listener, "timeout", token.var_scope, node.id, {"task": task})

    def _receive(self, token: Token, node: Node) -> None:
        token.state = TokenState.WAIT
        token.data["subs"] = [{"n": node.id, "k": "message", "name": node.message}]
        self.arm_boundaries(token, node)
        self.record("activity.waiting", node.id, node.message, event="message", due_at=None)

    def _sub_process(self, token: Token, node: Node) -> None:
        model = self.model_of(token.scope)
        child = self.state.new_scope(token.var_scope, ScopeKind.SUB, node.id, owner=token.id)
        if node.kind is Kind.TRANSACTION:
            child.data["tx"] = True
        token.child = child.id
        token.state = TokenState.SCOPE
        self.arm_boundaries(token, node)
        self.record("activity.started", node.id, node.name)
        container = model.containers[node.id]
        self.open_scope(child, container, container.none_starts[0])

    def _call(self, token: Token, node: Node) -> None:
        caller_def = self.definition_of(token.scope)
        caller_scope = token.var_scope
        version = (self.evaluate(node.called_version, caller_scope, node.id)
                   if node.called_version is not None else None)
        key = (node.called_element if node.called_expression is None else
               str(self.evaluate(node.called_expression, caller_scope, node.id)))
        definition_id, model = self.services.called(key, node.called_binding, version, caller_def)
        variables: dict[str, Any] = {}
        business_key = None
        for mapping in node.call_in:
            if mapping.business_key is not None:
                business_key = self.evaluate(mapping.business_key, caller_scope, node.id)
            elif mapping.all:
                variables.update(self.state.visible(caller_scope) if not mapping.local
                                 else dict(self.state.scopes[caller_scope].vars))
            elif mapping.source_expression is not None:
                variables[mapping.target_name] = self.evaluate(mapping.source_expression,
                                                               caller_scope, node.id)
            elif mapping.source is not None:
                variables[mapping.target_name] = self.state.lookup(caller_scope, mapping.source)
        child = self.state.new_scope(caller_scope, ScopeKind.PROCESS, model.key,
                                     {k: jsonable(v) for k, v in variables.items()},
                                     owner=token.id)
        child.data["def"] = definition_id
        if business_key is not None:
            child.data["bk"] = str(business_key)
        self._models[child.id] = model
        token.child = child.id
        token.state = TokenState.SCOPE
        self.arm_boundaries(token, node)
        self.record("activity.started", node.id, node.name, called=model.key,
                    definition_id=definition_id)
        self.listen(model.nodes[model.key].listeners, "start", child.id, None)
        if not model.root.none_starts:
            raise ExecutionFault(f"called process {model.key!r} has no none start event")
        self.open_scope(child, model.root, model.root.none_starts[0])

    def _gateway(self, token: Token, node: Node) -> None:
        if len(node.incoming) > 1 and node.kind in (Kind.PARALLEL, Kind.INCLUSIVE):
            token.state = TokenState.JOIN
            if not self._try_join(token, node):
                return
        self.leave(token)

    def _try_join(self, token: Token, node: Node) -> bool:
        arrived = [t for t in self.state.tokens.values()
                   if t.scope == token.scope and t.node == node.id and t.state is TokenState.JOIN]
        if node.kind is Kind.PARALLEL:
            if len(arrived) < len(node.incoming):
                return False
            merged = arrived[:len(node.incoming)]
        else:
            model = self.model_of(token.scope)
            for other in self.state.tokens.values():
                if other.scope != token.scope or other.state is TokenState.JOIN and \
                        other.node == node.id:
                    continue
                if node.id in model.reachable_from(other.node):
                    return False
            merged = arrived
        keep = token if token in merged else merged[0]
        for other in merged:
            if other is not keep:
                del self.state.tokens[other.id]
        keep.state = TokenState.READY
        if keep is not token:
            self.leave(keep)
            return False
        return True

    def recheck_inclusive_joins(self, scope_id: int) -> None:
        """A token left the scope: an inclusive join that waited for it may fire now."""
        model = self.model_of(scope_id)
        for waiting in [t for t in self.state.tokens.values() if t.scope == scope_id
                        and t.state is TokenState.JOIN]:
            node = model.nodes[waiting.node]
            if node.kind is Kind.INCLUSIVE and waiting.id in self.state.tokens \
                    and self._try_join(waiting, node):
                self.leave(waiting)

    def _event_gateway(self, token: Token, node: Node) -> None:
        model = self.model_of(token.scope)
        token.state = TokenState.WAIT
        subs: list[dict[str, Any]] = []
        for flow in node.outgoing:
            target = model.nodes[flow.target]
            if target.kind is Kind.RECEIVE:
                subs.append({"n": target.id, "k": "message", "name": target.message})
            else:
                sub = self.subscription(target, target.event_definition, token.scope)
                if sub is not None:
                    subs.append(sub)
        token.data["subs"] = subs
        for sub in subs:
            self.record("activity.waiting", sub["n"], sub.get("name"), event=sub["k"],
                        due_at=sub.get("t", {}).get("due"))
        self.check_conditions_now(token)


BEHAVIOURS: dict[Kind, Callable[[Runner, Token, Node], None]] = {
    Kind.START: ActivitiesMixin._pass,
    Kind.END: EventsMixin.end_event,
    Kind.CATCH: EventsMixin.catch_event,
    Kind.THROW: EventsMixin.throw_event,
    Kind.BOUNDARY: ActivitiesMixin._pass,
    Kind.TASK: ActivitiesMixin._pass,
    Kind.EXTERNAL: ActivitiesMixin._external,
    Kind.EXPRESSION: ActivitiesMixin._expression,
    Kind.DECISION: ActivitiesMixin._decision,
    Kind.SCRIPT: ActivitiesMixin._script,
    Kind.USER: ActivitiesMixin._user,
    Kind.RECEIVE: ActivitiesMixin._receive,
    Kind.EXCLUSIVE: ActivitiesMixin._gateway,
    Kind.PARALLEL: ActivitiesMixin._gateway,
    Kind.INCLUSIVE: ActivitiesMixin._gateway,
    Kind.EVENT_GATEWAY: ActivitiesMixin._event_gateway,
    Kind.SUB_PROCESS: ActivitiesMixin._sub_process,
    Kind.TRANSACTION: ActivitiesMixin._sub_process,
    Kind.EVENT_SUB_PROCESS: ActivitiesMixin._sub_process,
    Kind.CALL: ActivitiesMixin._call,
}
