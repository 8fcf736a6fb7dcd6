"""Multi-instance activities, as Camunda 7 runs them.

The token at the activity becomes the *body*: it owns a scope with ``nrOfInstances``,
``nrOfActiveInstances`` and ``nrOfCompletedInstances``. Each inner instance is a flow scope of
its own holding ``loopCounter`` and the element variable, with one token at the same
activity (marked ``inner``) that runs the activity's real behaviour. Parallel bodies start
every inner instance at once, sequential ones one after another; after each completion the
``completionCondition`` may end the body early, cancelling the instances still running.
Boundary events belong to the body.
"""

from __future__ import annotations

from typing import Any

from ..errors import ExecutionFault
from .host import RunnerHost
from .model import Node
from .state import Scope, ScopeKind, Token, TokenState

MAX_INSTANCES = 10_000


class MultiInstanceMixin(RunnerHost):
    """Multi-instance behaviour of :class:`~engine.bpmn.runner.Runner`."""

    def enter_multi_instance(self, token: Token, node: Node) -> None:
        mi = node.loop
        items: list[Any] | None = None
        if mi.collection is not None:
            value = self.evaluate(mi.collection, token.scope, node.id)
            if isinstance(value, dict):
                value = list(value)
            if not isinstance(value, list):
                raise ExecutionFault(f"multi-instance collection of {node.id!r} must be a list, "
                                     f"not {type(value).__name__}")
            items = value
            count = len(items)
        else:
            value = self.evaluate(mi.cardinality, token.scope, node.id)
            try:
                count = int(value)
            except (TypeError, ValueError):
                count = -1
            if count < 0 or (isinstance(value, float) and value != count):
                raise ExecutionFault(f"loopCardinality of {node.id!r} must be a whole number "
                                     f">= 0, not {value!r}")
        if count > MAX_INSTANCES:
            raise ExecutionFault(f"multi-instance {node.id!r} would start {count} instances "
                                 f"(at most {MAX_INSTANCES})")
        body = self.state.new_scope(token.scope, ScopeKind.MI_BODY, node.id, {
            "nrOfInstances": count, "nrOfActiveInstances": 0, "nrOfCompletedInstances": 0},
            owner=token.id)
        if items is not None:
            body.data["items"] = items
        token.local = body.id
        token.state = TokenState.SCOPE
        token.data["mi_body"] = True
        self.arm_boundaries(token, node)
        self.record("activity.started", node.id, node.name, instances=count,
                    sequential=mi.sequential)
        if self.state.tokens.get(token.id) is not token:
            return  # a conditional boundary fired at once
        if count == 0:
            return self._body_done(token, body)
        for index in range(1 if mi.sequential else count):
            self._start_inner(token, node, body, index)

    def _start_inner(self, body_token: Token, node: Node, body: Scope,
                     index: int) -> None:
        variables: dict[str, Any] = {"loopCounter": index}
        if node.loop.element_variable:
            items = body.data.get("items")
            variables[node.loop.element_variable] = items[index] if items is not None else None
        inner = self.state.new_scope(body.id, ScopeKind.MI_INNER, node.id, variables,
                                     owner=body_token.id)
        body.vars["nrOfActiveInstances"] += 1
        token = self.state.new_token(node.id, inner.id)
        token.data["inner"] = True
        self.schedule(self.enter, token)

    def inner_instance_done(self, token: Token) -> None:
        """One inner instance completed (its token just left the activity)."""
        inner = self.state.scopes[token.scope]
        body_token = self.state.owner_of(inner)
        body = self.state.local_of(body_token)
        node = self.node(body_token)
        self.state.tokens.pop(token.id, None)
        body.vars["nrOfActiveInstances"] -= 1
        body.vars["nrOfCompletedInstances"] += 1
        condition = node.loop.completion_condition
        done = False
        if condition is not None:
            done = bool(condition.evaluate_condition(self.view(inner.id, node.id)))
        self.drop_scope(inner.id)
        completed = body.vars["nrOfCompletedInstances"]
        total = body.vars["nrOfInstances"]
        if done:
            for other in [s for s in self.state.scopes.values()
                          if s.parent == body.id and s.kind is ScopeKind.MI_INNER]:
                self.cancel_scope(other.id, f"completion condition of {node.id} met")
            body.vars["nrOfActiveInstances"] = 0
            return self._body_done(body_token, body)
        if node.loop.sequential and completed < total:
            return self._start_inner(body_token, node, body, completed)
        if completed >= total:
            self._body_done(body_token, body)

    def _body_done(self, body_token: Token, body: Scope) -> None:
        self.drop_scope(body.id)
        body_token.local = None
        body_token.data.pop("mi_body", None)
        self.leave(body_token)
