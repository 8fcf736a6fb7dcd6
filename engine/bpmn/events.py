"""Events: what tokens wait for, what fires them, and how thrown events find their catchers.

Waiting is data: a token (catch event, receive task, event-based gateway, boundary events of
its activity) or a flow scope (start events of its event sub-processes) carries ``subs``, a
list of ``{"n": catching node, "k": message|signal|timer|conditional, "name": ..., "t": timer
schedule}``. The unit of work turns those into subscription rows; delivering a signal,
message or timer finds the entry again and triggers it.

Errors and escalations propagate from the throwing activity outwards, scope by scope (the
activity's own boundary events, then each enclosing scope's event sub-processes and the
boundary events of the activity that owns it), a catcher with the exact code winning over a
catch-all at the same level. Compensation and transactions are in ``compensation.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import clock
from ..errors import ExpressionError
from .host import Holder, RunnerHost
from .model import Container, EventDefinition, Kind, Node, Trigger
from .state import Scope, ScopeKind, Token, TokenState
from .timers import due_of, next_schedule, schedule


class EventsMixin(RunnerHost):
    """Event behaviour of :class:`~engine.bpmn.runner.Runner`."""

    # ------------------------------------------------------------------ subscriptions

    def subscription(self, node: Node, event: EventDefinition,
                     scope_id: int) -> dict[str, Any] | None:
        """The wait entry of a catching ``node`` (None when it never fires, e.g. R0 cycles)."""
        trigger = event.trigger
        if trigger is Trigger.MESSAGE:
            return {"n": node.id, "k": "message", "name": event.name}
        if trigger is Trigger.SIGNAL:
            name = self.evaluate(event.name, scope_id, node.id)
            return {"n": node.id, "k": "signal", "name": str(name)}
        if trigger is Trigger.TIMER:
            timer = event.timer_of(node.id)
            value = self.evaluate(timer.text, scope_id, node.id)
            try:
                entry = schedule(timer.kind, value)
            except ExpressionError as exc:
                raise ExpressionError(exc.message, element_id=node.id) from None
            return None if entry is None else {"n": node.id, "k": "timer", "t": entry}
        if trigger is Trigger.CONDITIONAL:
            return {"n": node.id, "k": "conditional"}
        return None

    def _note_waiting(self, sub: dict[str, Any]) -> None:
        if sub["k"] != "conditional":
            self.record("activity.waiting", sub["n"], sub.get("name"), event=sub["k"],
                        due_at=sub.get("t", {}).get("due"))

    def arm_boundaries(self, token: Token, node: Node) -> None:
        """Subscribe the message/signal/timer/conditional boundary events of the activity."""
        if token.data.get("inner") or not node.boundaries:
            return
        subs = token.data.setdefault("subs", [])
        for boundary in node.boundaries:
            sub = self.subscription(boundary, boundary.event_definition, token.var_scope)
            if sub is not None:
                subs.append(sub)
                self._note_waiting(sub)
        self.check_conditions_now(token)

    def arm_event_sub_processes(self, scope: Scope, container: Container) -> None:
        model = self.model_of(scope.id)
        subs = []
        for esp_id in container.event_sub_processes:
            start = model.nodes[model.containers[esp_id].event_starts[0]]
            sub = self.subscription(start, start.event_definition, scope.id)
            if sub is not None:
                subs.append(sub)
                self._note_waiting(sub)
        if subs:
            scope.data["subs"] = subs

    def all_subscriptions(self) -> list[tuple[Holder, dict[str, Any]]]:
        found: list[tuple[Holder, dict[str, Any]]] = []
        for token in self.state.tokens.values():
            for sub in token.data.get("subs", ()):
                found.append((token, sub))
        for scope in self.state.scopes.values():
            for sub in scope.data.get("subs", ()):
                found.append((scope, sub))
        return found

    def _still_subscribed(self, holder: Holder, sub: dict[str, Any]) -> bool:
        if isinstance(holder, Token):
            alive = self.state.tokens.get(holder.id) is holder
        else:
            alive = self.state.scopes.get(holder.id) is holder
        return alive and any(s is sub for s in holder.data.get("subs", ()))

    # ------------------------------------------------------------------ outside triggers

    def deliver_signal(self, name: str, variables: dict[str, Any] | None) -> bool:
        targets = [(h, s) for h, s in self.all_subscriptions()
                   if s["k"] == "signal" and s["name"] == name]
        for holder, sub in targets:
            if self._still_subscribed(holder, sub):
                self.record("signal.received", sub["n"], name, variables=variables or {})
                self.trigger(holder, sub, variables)
        self.drain()
        return bool(targets)

    def deliver_message(self, name: str, variables: dict[str, Any] | None) -> bool:
        for holder, sub in self.all_subscriptions():
            if sub["k"] == "message" and sub["name"] == name:
                self.record("message.received", sub["n"], name, variables=variables or {})
                self.trigger(holder, sub, variables)
                self.drain()
                return True
        return False

    def fire_timer(self, ref: str, node_id: str) -> bool:
        """Fire the timer ``node_id`` of the token or scope ``ref`` (``t12`` / ``s3``)."""
        holder = self.holder(ref)
        candidates = ([(holder, s) for s in holder.data.get("subs", ())] if holder is not None
                      else self.all_subscriptions())  # a row written by an older engine
        for holder, sub in candidates:
            if sub["k"] == "timer" and sub["n"] == node_id:
                if due_of(sub["t"]) > clock.now():
                    continue  # a task's timeout listeners share its id; another may be due
                self.record("timer.fired", node_id, None, due_at=sub["t"]["due"])
                self.trigger(holder, sub, None)
                self.drain()
                return True
        return False

    def holder(self, ref: str) -> Holder | None:
        try:
            number = int(ref[1:])
        except (ValueError, TypeError):
            return None
        return self.state.tokens.get(number) if ref[0] == "t" else self.state.scopes.get(number)

    def trigger(self, holder: Holder, sub: dict[str, Any],
                variables: dict[str, Any] | None) -> None:
        """The event ``sub`` of ``holder`` happened: move on from its catching node."""
        model = self.model_of(holder.scope if isinstance(holder, Token) else holder.id)
        node = model.nodes[sub["n"]]
        if isinstance(holder, Scope):
            self.start_event_sub_process(holder, node, sub, variables)
            return
        token = holder
        if "tl" in sub:
            return self.task_timeout(token, sub)
        if node.kind is Kind.BOUNDARY:
            self.take_boundary(token, node, sub, variables)
            return
        token.data.pop("subs", None)
        if token.node != node.id:  # event-based gateway: the chosen event completes
            self.record("activity.completed", token.node, None)
            token.node = node.id
            token.data = {}
        self.set_variables(token.scope, variables)
        self.leave(token)

    def take_boundary(self, token: Token, boundary: Node, sub: dict[str, Any] | None,
                      variables: dict[str, Any] | None,
                      caught: tuple[str | None, str | None] | None = None) -> None:
        scope = token.scope
        if boundary.interrupting:
            self.cancel_token(token, f"interrupted by {boundary.id}")
        elif sub is not None:
            self._repeat_or_drop(token, sub)
        new = self.state.new_token(boundary.id, scope)
        self.set_variables(scope, variables)
        if caught is not None:
            self._caught_variables(boundary, scope, caught)
        self.leave(new)

    def _repeat_or_drop(self, holder: Holder, sub: dict[str, Any]) -> None:
        """A non-interrupting event stays subscribed; a timer moves to its next due time."""
        if sub["k"] != "timer":
            return
        following = next_schedule(sub["t"])
        if following is None:
            holder.data["subs"] = [s for s in holder.data.get("subs", ()) if s is not sub]
        else:
            sub["t"] = following

    def _caught_variables(self, node: Node, scope_id: int,
                          caught: tuple[str | None, str | None]) -> None:
        code, message = caught
        event = node.event_definition
        if event.code_variable:
            self.set_variable(scope_id, event.code_variable, code)
        if event.message_variable:
            self.set_variable(scope_id, event.message_variable, message)

    def start_event_sub_process(self, scope: Scope, start: Node,
                                sub: dict[str, Any] | None, variables: dict[str, Any] | None,
                                caught: tuple[str | None, str | None] | None = None) -> None:
        model = self.model_of(scope.id)
        esp = model.nodes[start.container]
        if start.interrupting:
            self.cancel_tokens_in(scope.id, f"interrupted by event sub-process {esp.id}")
            scope.data.pop("subs", None)
            scope.data["interrupted"] = True
        elif sub is not None:
            self._repeat_or_drop(scope, sub)
        owner = self.state.new_token(esp.id, scope.id, TokenState.SCOPE)
        child = self.state.new_scope(scope.id, ScopeKind.EVENT, esp.id, owner=owner.id)
        owner.child = child.id
        self.record("activity.started", esp.id, esp.name)
        self.open_scope(child, model.containers[esp.id], None)
        token = self.state.new_token(start.id, child.id)
        self.set_variables(child.id, variables)
        if caught is not None:
            self._caught_variables(start, child.id, caught)
        self.leave(token)

    # ------------------------------------------------------------------ conditions

    def check_conditions_now(self, holder: Holder) -> None:
        """Conditional events are evaluated when they are armed, not only on later changes."""
        for sub in list(holder.data.get("subs", ())):
            if sub["k"] == "conditional" and self._still_subscribed(holder, sub) \
                    and self._condition_true(holder, sub):
                self.trigger(holder, sub, None)

    def evaluate_conditions(self) -> bool:
        """Variables changed: fire every conditional event in or below a changed scope."""
        if not self.dirty:
            return False
        dirty = dict(self.dirty)  # changes the conditions below make count for the next round
        self.dirty.clear()
        fired = False
        for holder, sub in self.all_subscriptions():
            if sub["k"] != "conditional" or not self._still_subscribed(holder, sub):
                continue
            scope_id = holder.var_scope if isinstance(holder, Token) else holder.id
            changes: set[tuple[str, str]] = set()
            for scope in self.state.chain(scope_id):
                changes |= dirty.get(scope.id, set())
            if not changes or not self._wanted(holder, sub, changes):
                continue
            if self._condition_true(holder, sub):
                self.trigger(holder, sub, None)
                fired = True
        return fired

    def _event_node(self, holder: Holder, sub: dict[str, Any]) -> Node:
        return self.model_of(holder.scope if isinstance(holder, Token) else holder.id).nodes[sub["n"]]

    def _wanted(self, holder: Holder, sub: dict[str, Any],
                changes: set[tuple[str, str]]) -> bool:
        event = self._event_node(holder, sub).event_definition
        if event.variable_name and all(name != event.variable_name for name, _ in changes):
            return False
        if event.variable_events and not any(kind in event.variable_events for _, kind in changes):
            return False
        return True

    def _condition_true(self, holder: Holder, sub: dict[str, Any]) -> bool:
        node = self._event_node(holder, sub)
        scope_id = holder.var_scope if isinstance(holder, Token) else holder.id
        condition = node.event_definition.condition
        return bool(condition.evaluate_condition(self.view(scope_id, node.id)))

    # ------------------------------------------------------------------ catch / throw / end

    def catch_event(self, token: Token, node: Node) -> None:
        event = node.event_definition
        if event.trigger is Trigger.LINK:
            return self.leave(token)
        sub = self.subscription(node, event, token.scope)
        if sub is None:
            return self.leave(token)
        token.state = TokenState.WAIT
        token.data["subs"] = [sub]
        self._note_waiting(sub)
        self.check_conditions_now(token)

    def throw_event(self, token: Token, node: Node) -> None:
        event = node.event_definition
        trigger = event.trigger
        if node.topic:
            return self._external(token, node)
        if trigger is Trigger.SIGNAL:
            self.throw_signal(token, node)
        elif trigger is Trigger.ESCALATION:
            self.throw_escalation(token, event.name)
        elif trigger is Trigger.COMPENSATE:
            return self.throw_compensation(token, node)
        elif trigger is Trigger.LINK:
            target = self.model_of(token.scope).containers[node.container].links[event.name]
            self.record("activity.completed", node.id, node.name)
            token.node = target
            token.data = {}
            return self.schedule(self.enter, token)
        elif node.expression is not None:
            self.evaluate(node.expression, token.var_scope, node.id)
        if self.state.tokens.get(token.id) is token:
            self.leave(token)

    def end_event(self, token: Token, node: Node) -> None:
        event = node.event_definition
        trigger = event.trigger
        if node.topic:
            return self._external(token, node)
        if trigger is Trigger.ERROR:
            return self._end_with_error(token, node)
        if trigger is Trigger.CANCEL:
            return self.cancel_transaction(token, node)
        if trigger is Trigger.COMPENSATE:
            return self.throw_compensation(token, node)
        if trigger is Trigger.SIGNAL:
            self.throw_signal(token, node)
        elif trigger is Trigger.ESCALATION:
            self.throw_escalation(token, event.name)
        elif trigger is Trigger.TERMINATE:
            self.record("activity.completed", node.id, node.name)
            self.cancel_tokens_in(token.scope, f"terminated by {node.id}", keep=token)
            self.state.scopes[token.scope].data.pop("subs", None)
            return self.end_token(token)
        elif node.expression is not None:
            self.evaluate(node.expression, token.var_scope, node.id)
        if self.state.tokens.get(token.id) is token:
            self.leave(token)

    def _end_with_error(self, token: Token, node: Node) -> None:
        event = node.event_definition
        code = event.name
        message = (self.evaluate(event.condition, token.var_scope, node.id)
                   if event.condition is not None else None)
        self.record("bpmn_error.thrown", node.id, code, message=message)
        if not self.throw_error(token, code, message, None):
            token.state = TokenState.INCIDENT
            self.incidents.append({
                "kind": "unhandledBpmnError", "activity_id": node.id, "token": token.id,
                "message": f"BPMN error {code!r} was not caught by any boundary event or "
                           "event sub-process" + (f": {message}" if message else "")})

    def throw_signal(self, token: Token, node: Node) -> None:
        name = str(self.evaluate(node.event_definition.name, token.var_scope, node.id))
        self.record("signal.thrown", node.id, name)
        self.thrown_signals.append((name, {}))
        for holder, sub in self.all_subscriptions():
            if sub["k"] == "signal" and sub["name"] == name and self._still_subscribed(holder, sub):
                self.trigger(holder, sub, None)

    # ------------------------------------------------------------------ errors and escalations

    def throw_error(self, token: Token, code: str | None, message: str | None,
                    variables: dict[str, Any] | None) -> bool:
        """Hand the error to its nearest catcher; False when nothing catches it."""
        found = self._find_catcher(token, Trigger.ERROR, code)
        if found is None:
            return False
        self._hand_over(found, variables, (code, message))
        return True

    def throw_escalation(self, token: Token, code: str | None) -> bool:
        self.record("escalation.thrown", token.node, code)
        found = self._find_catcher(token, Trigger.ESCALATION, code)
        if found is None:
            return False  # an escalation nobody catches is ignored, as in Camunda
        self._hand_over(found, None, (code, None))
        return True

    def _hand_over(self, found: tuple[str, Holder, Node],
                   variables: dict[str, Any] | None,
                   caught: tuple[str | None, str | None]) -> None:
        _kind, holder, node = found
        if isinstance(holder, Token):  # a "boundary" catcher; an "event" one holds its scope
            self.take_boundary(holder, node, None, variables, caught)
        else:
            self.start_event_sub_process(holder, node, None, variables, caught)

    def _find_catcher(self, token: Token, trigger: Trigger,
                      code: str | None) -> tuple[str, Holder, Node] | None:
        found = self._pick([("boundary", token, b) for b in self._boundaries(token, trigger)],
                           code)
        if found is not None:
            return found
        scope_id: int | None = token.scope
        while scope_id is not None:
            scope = self.state.scopes[scope_id]
            candidates: list[tuple[str, Holder, Node]] = []
            model = self.model_of(scope.id)
            if scope.kind in (ScopeKind.PROCESS, ScopeKind.SUB, ScopeKind.EVENT) and \
                    not scope.data.get("interrupted"):
                for esp_id in model.containers[scope.node].event_sub_processes:
                    start = model.nodes[model.containers[esp_id].event_starts[0]]
                    if start.event_definition.trigger is trigger:
                        candidates.append(("event", scope, start))
            owner = self.state.tokens.get(scope.owner) if scope.owner is not None else None
            if owner is not None and scope.kind is not ScopeKind.EVENT:
                candidates.extend(("boundary", owner, b) for b in self._boundaries(owner, trigger))
            found = self._pick(candidates, code)
            if found is not None:
                return found
            scope_id = owner.scope if owner is not None else None
        return None

    def _boundaries(self, token: Token, trigger: Trigger) -> list[Node]:
        if token.data.get("inner"):
            return []
        node = self.node(token)
        return [b for b in node.boundaries if b.event_definition.trigger is trigger]

    @staticmethod
    def _pick(candidates: list[tuple[str, Holder, Node]],
              code: str | None) -> tuple[str, Holder, Node] | None:
        for candidate in candidates:
            event = candidate[2].event_definition
            if not event.catch_all and event.name == code:
                return candidate
        for candidate in candidates:
            if candidate[2].event_definition.catch_all:
                return candidate
        return None

    # ------------------------------------------------------------------ timers

    def due_timers(self) -> list[tuple[str, str, datetime]]:
        """(ref, node, due) of every timer this instance waits for."""
        found = []
        for holder, sub in self.all_subscriptions():
            if sub["k"] == "timer":
                ref = ("t" if isinstance(holder, Token) else "s") + str(holder.id)
                found.append((ref, sub["n"], due_of(sub["t"])))
        return found
