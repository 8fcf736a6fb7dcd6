"""Instances stored by the SpiffWorkflow-based engine (before state format 2) keep running.

Their state is SpiffWorkflow's serialized task tree. :func:`convert` reads it as plain JSON
(SpiffWorkflow itself is not needed) and rebuilds the equivalent tokens and scopes: every
waiting task becomes a waiting token, a started sub-process or call activity becomes a
scope, an event-based gateway's waiting events become one token at the gateway, arrived
join inputs become joined tokens. Variables are the instance's stored process variables.
Rows that pointed at SpiffWorkflow task ids are re-pointed by the first write
(:func:`engine.rows.rows_in_tables` gives that write the tables as they are).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select

from ..persistence import ExternalTaskRow
from ..states import ENDED
from .model import Kind, Node, ProcessModel, Trigger
from .state import InstanceState, Scope, ScopeKind, Token, TokenState

WAITING, READY, STARTED = 8, 16, 32
LIVE = WAITING | READY | STARTED


CalledProcess = Callable[[str], tuple[str, ProcessModel]]
"""A call activity's calledElement -> (definition id, model) of the process it calls."""

#: SpiffWorkflow's serialized JSON: a workflow, one of its tasks, ...
Json = dict[str, Any]


def convert(text: str, row: dict[str, Any], model: ProcessModel, conn: Connection,
            called: CalledProcess) -> InstanceState:
    """The format-2 state of an instance stored as a SpiffWorkflow task tree; ``called``
    finds the process a started call activity runs."""
    body = json.loads(text) if text else {"tasks": {}, "subprocesses": {}}
    state = InstanceState()
    root = state.new_scope(None, ScopeKind.PROCESS, model.key, _variables(body, row))
    if row.get("status") in ENDED:
        state.ended = True
        return state
    external = {r.task_id: r for r in conn.execute(
        select(ExternalTaskRow.__table__.c.id, ExternalTaskRow.__table__.c.task_id,
               ExternalTaskRow.__table__.c.idempotency_key)
        .where(ExternalTaskRow.__table__.c.instance_id == row["id"])).all()}
    _Walker(state, body, external, called).walk(body, root, model)
    return state


def _variables(body: Json, row: dict[str, Any]) -> dict[str, Any]:
    """One process scope from SpiffWorkflow's per-path copies: what every finished or live
    task held, in the order they changed, then the stored variables (the latest view).

    The old engine showed only the live paths' data, so what a branch that had already
    reached a join wrote was missing from the stored variables; its task data still has it.
    """
    tasks = [t for t in body.get("tasks", {}).values() if t["state"] & (LIVE | 64)]
    merged: dict[str, Any] = {}
    for task in sorted(tasks, key=lambda t: t.get("last_state_change", 0)):
        merged.update(task.get("data") or {})
        # SpiffWorkflow 3 stores most tasks' data as a delta from their parent; deletions
        # there are copies being trimmed along a path, not variables removed
        merged.update((task.get("delta") or {}).get("updates") or {})
    merged.update(row.get("variables") or {})
    return merged


class _Walker:
    def __init__(self, state: InstanceState, body: Json,
                 external: dict[str, Row[str, str, str]], called: CalledProcess) -> None:
        self.state = state
        self.subprocesses = body.get("subprocesses", {})
        self.external = external
        self.called = called

    def walk(self, workflow: Json, scope: Scope, model: ProcessModel) -> None:
        container = model.containers.get(scope.node)
        if container is not None:
            starts = [model.nodes[model.containers[esp].event_starts[0]]
                      for esp in container.event_sub_processes]
            subs = [self._sub(start, None) for start in starts
                    if start.event_definition.trigger in
                    (Trigger.MESSAGE, Trigger.SIGNAL, Trigger.TIMER)]
            if subs:
                scope.data["subs"] = subs
        tasks = workflow.get("tasks", {})
        live = [t for t in tasks.values() if t["state"] & LIVE and t["task_spec"] in model.nodes]
        boundary_timers = {t["task_spec"]: t for t in live
                           if model.nodes[t["task_spec"]].kind is Kind.BOUNDARY}
        gateways: dict[str, list[Json]] = {}
        for task in live:
            node = model.nodes[task["task_spec"]]
            parent = tasks.get(task.get("parent") or "")
            parent_node = model.nodes.get(parent["task_spec"]) if parent else None
            if node.kind is Kind.BOUNDARY or (node.kind is Kind.START and task["state"] == WAITING):
                continue  # re-armed from the model with their activity / scope
            if parent_node is not None and parent_node.kind is Kind.EVENT_GATEWAY \
                    and task["state"] == WAITING:
                gateways.setdefault(parent["id"], []).append(task)
                continue
            self._token(task, node, scope, model, boundary_timers)
        for parent_id, waiting in gateways.items():
            gateway = model.nodes[tasks[parent_id]["task_spec"]]
            token = self.state.new_token(gateway.id, scope.id, TokenState.WAIT)
            token.data["subs"] = [self._sub(model.nodes[t["task_spec"]], t) for t in waiting]

    def _token(self, task: Json, node: Node, scope: Scope, model: ProcessModel,
               boundary_timers: dict[str, Json]) -> None:
        kind = node.kind
        if kind in (Kind.SUB_PROCESS, Kind.TRANSACTION, Kind.EVENT_SUB_PROCESS, Kind.CALL):
            token = self.state.new_token(node.id, scope.id, TokenState.SCOPE)
            sub = self.subprocesses.get(task["id"])
            if kind is Kind.CALL:
                definition_id, child_model = self.called(node.called_element)
                child = self.state.new_scope(scope.id, ScopeKind.PROCESS, child_model.key,
                                             owner=token.id)
                child.data["def"] = definition_id
            else:
                child_model = model
                child = self.state.new_scope(
                    scope.id, ScopeKind.EVENT if kind is Kind.EVENT_SUB_PROCESS else ScopeKind.SUB,
                    node.id, owner=token.id)
            token.child = child.id
            self._boundaries(token, node, boundary_timers)
            if sub is not None:
                self.walk(sub, child, child_model)
            return
        if kind in (Kind.PARALLEL, Kind.INCLUSIVE) and task["state"] == WAITING:
            self.state.new_token(node.id, scope.id, TokenState.JOIN)
            return
        if kind is Kind.EVENT_GATEWAY and task["state"] == WAITING:
            token = self.state.new_token(node.id, scope.id, TokenState.WAIT)
            targets = [model.nodes[f.target] for f in node.outgoing]
            token.data["subs"] = [self._sub(t, None) for t in targets]
            return
        transient = task["state"] == STARTED or (
            task["state"] == READY and kind not in (Kind.EXTERNAL, Kind.USER) and not node.topic)
        if transient:
            return  # the old engine never stored these at rest
        token = self.state.new_token(node.id, scope.id, TokenState.WAIT)
        if kind is Kind.EXTERNAL or node.topic:
            found = self.external.get(task["id"])
            if found is not None:
                token.data["ext"] = found.id
                token.data["key"] = found.idempotency_key
        elif kind is Kind.USER:
            token.data["ut"] = task["id"]
            token.data["task"] = {}
        elif kind is Kind.RECEIVE:
            token.data["subs"] = [{"n": node.id, "k": "message", "name": node.message}]
        elif kind is Kind.CATCH:
            token.data["subs"] = [self._sub(node, task)]
        self._boundaries(token, node, boundary_timers)

    def _boundaries(self, token: Token, node: Node,
                    boundary_timers: dict[str, Json]) -> None:
        subs = token.data.setdefault("subs", [])
        for boundary in node.boundaries:
            if boundary.event_definition.trigger in (Trigger.MESSAGE, Trigger.SIGNAL, Trigger.TIMER):
                subs.append(self._sub(boundary, boundary_timers.get(boundary.id)))
        if not subs:
            token.data.pop("subs")

    @staticmethod
    def _sub(node: Node, task: Json | None) -> dict[str, Any]:
        event = node.event if node.kind is not Kind.RECEIVE else None
        if event is None:
            return {"n": node.id, "k": "message", "name": node.message}
        if event.trigger is Trigger.MESSAGE:
            return {"n": node.id, "k": "message", "name": event.name}
        if event.trigger is Trigger.SIGNAL:
            return {"n": node.id, "k": "signal", "name": event.name.source}
        value = ((task or {}).get("internal_data") or {}).get("event_value")
        if isinstance(value, dict):  # a cycle: {"cycles", "next", "duration" | "cron"}
            entry: dict[str, Any] = {"due": value["next"]}
            if "cron" in value:
                entry["cron"] = value["cron"]
            else:
                entry.update(left=value["cycles"], every=value["duration"])
            return {"n": node.id, "k": "timer", "t": entry}
        if isinstance(value, str):
            return {"n": node.id, "k": "timer", "t": {"due": datetime.fromisoformat(value)
                                                      .isoformat()}}
        from .timers import schedule

        timer = event.timer_of(node.id)
        return {"n": node.id, "k": "timer", "t": schedule(timer.kind, timer.text.source)}
