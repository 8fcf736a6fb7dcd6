"""Compensation and transactions: undoing what completed activities did, Camunda's way.

A mixin of :class:`~engine.bpmn.runner.Runner`. When an activity with a compensation handler
completes (or a sub-process with compensable activities inside, or one with a compensation
event sub-process), its flow scope remembers it in ``data["comp"]`` with a snapshot of its
local variables. A compensation throw or end event replays that log in reverse order of
completion: each entry gets a *holder* scope (the activity's variables as they were), in
which its handler runs. A sub-process's own handler (a compensation boundary event's
activity, or its compensation event sub-process) replaces the compensation of its inner
activities; a compensation event sub-process may throw compensation itself, which
compensates those inner activities. A cancel end event cancels its transaction, compensates
it, and leaves through the transaction's cancel boundary event.
"""

from __future__ import annotations

from typing import Any

from .host import RunnerHost
from .model import Kind, Node, Trigger
from .state import Scope, ScopeKind, Token, TokenState


class CompensationMixin(RunnerHost):
    """Compensation, compensation event sub-processes and transaction cancellation."""

    def note_compensation(self, token: Token, node: Node) -> None:
        """A completed activity with a compensation handler (or with compensable activities
        inside) is remembered by its scope, for a later compensation event."""
        inner_log = token.data.pop("comp_inner", None)
        if node.compensation_handler is None and not inner_log:
            return
        snapshot: dict[str, Any] = {}
        target = token.scope
        scope = self.state.scopes[token.scope]
        if token.data.get("inner"):
            snapshot.update(scope.vars)  # loopCounter, element variable
            body = self.state.owner_of(scope)
            target = body.scope
        if token.local is not None:
            snapshot.update(self.state.scopes[token.local].vars)
        snapshot.update(token.data.pop("comp_vars", None) or {})  # a sub-process's locals
        entry = {"n": node.id, "h": node.compensation_handler, "v": snapshot}
        if inner_log:
            entry["inner"] = inner_log
        self.state.scopes[target].data.setdefault("comp", []).append(entry)

    def throw_compensation(self, token: Token, node: Node) -> None:
        event = node.event_definition
        scope = self.state.scopes[token.scope]
        if scope.kind is ScopeKind.EVENT and scope.parent is not None:
            scope = self.state.scopes[scope.parent]  # a compensation handler's event sub-process
        log = scope.data.get("comp", [])
        chosen = [e for e in log if event.activity_ref in (None, e["n"])]
        scope.data["comp"] = [e for e in log if not any(e is c for c in chosen)]
        if not scope.data["comp"]:
            scope.data.pop("comp")
        self.record("compensation.thrown", node.id, event.activity_ref,
                    activities=[e["n"] for e in chosen])
        started = self._compensate(chosen, scope.id, token)
        if started and event.wait_for_completion:
            token.state = TokenState.COMPENSATING
            token.data["pending"] = started
            return
        self._after_compensation(token)

    def _compensate(self, entries: list[dict[str, Any]], scope_id: int,
                    waiter: Token) -> int:
        """Start the handlers of ``entries`` (latest first); return how many run."""
        started = 0
        for entry in reversed(entries):
            if not entry.get("h") and not entry.get("inner"):
                continue
            holder = self.state.new_scope(scope_id, ScopeKind.SUB, entry["n"], entry["v"])
            holder.data["comp_for"] = waiter.id
            handler = self.model_of(scope_id).nodes[entry["h"]] if entry.get("h") else None
            if handler is not None and handler.kind is Kind.EVENT_SUB_PROCESS:
                self._start_compensation_event_sub_process(holder, handler, entry)
                started += 1
            elif handler is not None:  # the activity's own handler replaces its inner ones
                self.schedule(self.enter, self.state.new_token(handler.id, holder.id))
                started += 1
            else:
                inner = self._compensate(entry["inner"], holder.id, waiter)
                started += inner
                if not inner:
                    del self.state.scopes[holder.id]
        return started

    def _start_compensation_event_sub_process(self, holder: Scope, esp: Node,
                                              entry: dict[str, Any]) -> None:
        """Run a sub-process's compensation event sub-process in ``holder`` (the completed
        sub-process's variables); the inner log stays there for its compensation throws."""
        if entry.get("inner"):
            holder.data["comp"] = entry["inner"]
        owner = self.state.new_token(esp.id, holder.id, TokenState.SCOPE)
        child = self.state.new_scope(holder.id, ScopeKind.EVENT, esp.id, owner=owner.id)
        owner.child = child.id
        self.record("activity.started", esp.id, esp.name)
        container = self.model_of(holder.id).containers[esp.id]
        self.open_scope(child, container, container.event_starts[0])

    def compensation_done(self, scope: Scope) -> None:
        """A compensation handler finished (its holder scope has no token left)."""
        waiter = self.state.tokens.get(scope.data["comp_for"])
        self.drop_scope(scope.id)
        parent = self.state.scopes.get(scope.parent) if scope.parent is not None else None
        while parent is not None and "comp_for" in parent.data and not any(
                s.parent == parent.id for s in self.state.scopes.values()):
            self.drop_scope(parent.id)  # a sub-process whose inner handlers all finished
            parent = self.state.scopes.get(parent.parent) if parent.parent is not None else None
        if waiter is None or waiter.state is not TokenState.COMPENSATING:
            return
        waiter.data["pending"] -= 1
        if waiter.data["pending"] <= 0:
            waiter.data.pop("pending")
            waiter.state = TokenState.READY
            self._after_compensation(waiter)

    def _after_compensation(self, token: Token) -> None:
        if token.data.pop("cancelling", False):
            return self._leave_by_cancel_boundary(token)
        node = self.node(token)
        if node.kind is Kind.END:
            self.record("activity.completed", node.id, node.name)
            self.end_token(token)
        else:
            self.leave(token)

    # ------------------------------------------------------------------ transactions

    def cancel_transaction(self, token: Token, node: Node) -> None:
        """A cancel end event: cancel the transaction, compensate it, leave by its cancel
        boundary event."""
        tx_scope = self.state.scopes[token.scope]
        owner = self.state.owner_of(tx_scope)
        self.record("activity.completed", node.id, node.name)
        self.state.tokens.pop(token.id, None)
        self.cancel_tokens_in(tx_scope.id, "transaction cancelled")
        tx_scope.data.pop("subs", None)
        log = tx_scope.data.pop("comp", [])
        owner.data["cancelling"] = True
        started = self._compensate(log, tx_scope.id, owner)
        if started:
            owner.state = TokenState.COMPENSATING
            owner.data["pending"] = started
            return
        owner.data.pop("cancelling")
        self._leave_by_cancel_boundary(owner)

    def _leave_by_cancel_boundary(self, owner: Token) -> None:
        cancels = [b for b in self.node(owner).boundaries
                   if b.event_definition.trigger is Trigger.CANCEL]
        if not cancels:  # no cancel boundary: the transaction just ends
            self.cancel_token(owner, "transaction cancelled")
            return self.after_token_left(owner.scope)
        [boundary] = cancels
        owner.state = TokenState.SCOPE
        self.take_boundary(owner, boundary, None, None)

