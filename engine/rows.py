"""The rows an instance's state implies, and the statements that bring the tables in line.

Event subscriptions, external tasks, user tasks, jobs and the correlation index are all
*derived* from the instance state (:func:`derive`). A command compares what its instance
implied before with what it implies after and writes only the difference
(:func:`write_difference`): a few ``executemany`` Core statements, never a read.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Update, select

from . import statements
from .bpmn.model import Kind, ProcessModel
from .bpmn.state import InstanceState, Token, TokenState
from .bpmn.timers import due_of
from .hotpath import Writes
from .persistence import EventSubscription, ExternalTaskRow, InstanceVariable, Job, UserTask
from .states import WorkState
from .values import scalar_text

_NAMESPACE = uuid.UUID("6f1c2a9e-4b7d-4c1e-9a3f-2d8e5b7c1a00")


@dataclass(frozen=True)
class Meta:
    """What rows need to know about their instance beyond its state."""

    instance_id: str
    definition_id: str
    definition_key: str
    business_key: str | None


@dataclass
class Derived:
    """Everything the tables hold for one instance, keyed by row id."""

    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    external: dict[str, dict[str, Any]] = field(default_factory=dict)
    user: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    index: dict[str, str] = field(default_factory=dict)
    active: list[str] = field(default_factory=list)


def subscription_id(instance_id: str, ref: str, node: str, kind: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{instance_id}|{ref}|{node}|{kind}"))


def derive(state: InstanceState, meta: Meta, model_of: Callable[[int], ProcessModel],
           now: datetime) -> Derived:
    """The rows ``state`` implies (``now`` stamps rows that are new)."""
    out = Derived()
    if not state.ended:
        _subscriptions(state, meta, out, now)
        for token in state.tokens.values():
            _token_rows(state, token, meta, model_of, now, out)
    out.index = {name: text for name, value in (state.root.vars.items() if state.scopes else ())
                 if (text := scalar_text(value)) is not None}
    return out


def _subscriptions(state: InstanceState, meta: Meta, out: Derived, now: datetime) -> None:
    holders = [("t", t) for t in state.tokens.values()] + [("s", s) for s in state.scopes.values()]
    for prefix, holder in holders:
        for sub in holder.data.get("subs", ()):
            kind = sub["k"]
            if kind == "conditional":
                continue  # evaluated inside the instance when its variables change
            ref = f"{prefix}{holder.id}"
            node = sub["n"] if "tl" not in sub else f'{sub["n"]}#{sub["tl"]}'  # timeout listener
            row_id = subscription_id(meta.instance_id, ref, node, kind)
            out.subscriptions[row_id] = {
                "id": row_id, "kind": kind, "name": sub.get("name"),
                "instance_id": meta.instance_id, "definition_id": None, "task_id": ref,
                "activity_id": sub["n"], "business_key": meta.business_key,
                "due_at": due_of(sub["t"]) if kind == "timer" else None, "config": {},
                "created_at": now}


def _token_rows(state: InstanceState, token: Token, meta: Meta,
                model_of: Callable[[int], ProcessModel], now: datetime, out: Derived) -> None:
    if token.state in (TokenState.READY, TokenState.JOIN):
        return
    node = model_of(token.scope).nodes[token.node]
    if token.state in (TokenState.WAIT, TokenState.SCOPE, TokenState.INCIDENT,
                       TokenState.COMPENSATING, TokenState.ASYNC_BEFORE,
                       TokenState.ASYNC_AFTER) and node.id not in out.active \
            and node.kind is not Kind.BOUNDARY:
        out.active.append(node.id)
    ext_id = token.data.get("ext")
    if ext_id and token.state in (TokenState.WAIT, TokenState.INCIDENT):
        out.external[ext_id] = {
            "id": ext_id, "instance_id": meta.instance_id,
            "definition_key": meta.definition_key, "business_key": meta.business_key,
            "activity_id": node.id, "task_id": str(token.id), "topic": node.topic,
            "variables": state.visible(token.var_scope), "properties": dict(node.properties),
            "idempotency_key": token.data.get("key") or f"{meta.instance_id}:{ext_id}",
            "state": WorkState.AVAILABLE, "retry_cycle": node.retry_cycle,
            "priority": int(token.data.get("priority", 0)), "next_attempt_at": now,
            "created_at": now, "attempts": 0}
    task_id = token.data.get("ut")
    if task_id and token.state is TokenState.WAIT:
        info = token.data.get("task", {})
        out.user[task_id] = {
            "id": task_id, "instance_id": meta.instance_id, "definition_id": meta.definition_id,
            "definition_key": meta.definition_key, "business_key": meta.business_key,
            "activity_id": node.id, "task_id": str(token.id), "name": node.name,
            "assignee": _text(info.get("assignee")),
            "candidate_users": _names(info.get("candidateUsers")),
            "candidate_groups": _names(info.get("candidateGroups")),
            "due_date": _text(info.get("dueDate")),
            "follow_up_date": _text(info.get("followUpDate")),
            "priority": _priority(info.get("priority")),
            "form_key": _text(info.get("formKey") or info.get("formRef")),
            "form": {"fields": node.user.get("formFields", [])}, "created_at": now}
    job_id = token.data.get("job")
    if job_id and token.state in (TokenState.ASYNC_BEFORE, TokenState.ASYNC_AFTER):
        out.jobs[job_id] = {
            "id": job_id, "instance_id": meta.instance_id,
            "definition_key": meta.definition_key, "activity_id": node.id,
            "task_id": str(token.id), "kind": token.state.value, "state": WorkState.AVAILABLE,
            "exclusive": node.exclusive, "retry_cycle": node.retry_cycle, "attempts": 0,
            "next_attempt_at": now, "created_at": now}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _priority(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 50


# ------------------------------------------------------------------------------ writing


def write_difference(out: Writes, instance_id: str, before: Derived | None,
                     after: Derived, locked: dict[str, str] | None = None) -> list[str]:
    """Queue on ``out`` what makes the subscription, external-task and index tables match
    ``after``; return the ids of external tasks that are new.

    ``locked``: tasks (id -> owner) that must still be locked by their owner. A task among
    them that goes is deleted only if it is (a checked DELETE: the lock check and the delete
    in one statement); it is taken out of ``locked``, and the caller checks the rest."""
    before = before or Derived()
    fast = out.hot
    gone, new, changed = _difference(before.subscriptions, after.subscriptions,
                                     _same_subscription)
    gone += [row["id"] for row in changed]  # a subscription that moved (cycle timers)
    if gone:
        fast.delete_ids(out, "mlc_event_subscriptions", gone)
    if new or changed:
        fast.insert_subscriptions(out, new + changed)
    gone, new_external, changed = _difference(before.external, after.external, _same_external)
    if gone and locked:
        for task_id in [i for i in gone if i in locked]:
            fast.delete_locked(out, task_id, locked.pop(task_id))
            gone.remove(task_id)
    if gone:
        fast.delete_ids(out, "mlc_external_tasks", gone)
    if new_external:
        fast.insert_external(out, new_external)
    if changed:
        fast.update_external(out, changed)
    _sync_index(out, instance_id, before.index, after.index)
    return [row["id"] for row in new_external]


def write_rare_rows(conn: Connection, before: Derived | None, after: Derived) -> None:
    """User tasks and jobs, through SQLAlchemy (after the instance row exists)."""
    before = before or Derived()
    _sync(conn, UserTask.__tablename__, before.user, after.user, _same_assignee,
          update=statements.UPDATE_USER_ASSIGNEE, fields=("assignee",))
    _sync(conn, Job.__tablename__, before.jobs, after.jobs, lambda a, b: True)


Row = dict[str, Any]


def _difference(before: dict[str, Row], after: dict[str, Row], same: Callable[[Row, Row], bool]
                ) -> tuple[list[str], list[Row], list[Row]]:
    """(ids gone, rows new, rows changed) from ``before`` to ``after``."""
    if not before and not after:
        return [], [], []
    gone = [row_id for row_id in before if row_id not in after]
    new = [row for row_id, row in after.items() if row_id not in before]
    changed = [row for row_id, row in after.items()
               if row_id in before and not same(before[row_id], row)]
    return gone, new, changed


def _same_subscription(a: dict[str, Any], b: dict[str, Any]) -> bool:
    same: bool = a.get("due_at") == b["due_at"] and a.get("name") == b["name"]
    return same


def _same_external(a: dict[str, Any], b: dict[str, Any]) -> bool:
    same: bool = a["variables"] == b["variables"] and a["task_id"] == b["task_id"]
    return same


def _same_assignee(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.get("assignee") == b.get("assignee")


def _sync(conn: Connection, table_name: str, before: dict[str, Row], after: dict[str, Row],
          same: Callable[[Row, Row], bool], *, update: Update | None = None,
          fields: tuple[str, ...] = ()) -> None:
    """Make one table match ``after``: a changed row has ``fields`` set by ``update``, or
    without one is replaced (deleted and inserted)."""
    gone, new, changed = _difference(before, after, same)
    if changed and update is None:
        gone += [row["id"] for row in changed]
        new += changed
        changed = []
    if gone:
        conn.execute(statements.DELETE_BY_IDS[table_name], {"ids": gone})
    if new:
        conn.execute(statements.INSERT[table_name], new)
    if changed and update is not None:  # (None: replaced above)
        conn.execute(update, [dict({f"v_{f}": row[f] for f in fields}, b_id=row["id"])
                              for row in changed])


def _sync_index(out: Writes, instance_id: str, before: dict[str, str],
                after: dict[str, str]) -> None:
    if before == after:
        return
    fast = out.hot
    gone = [name for name in before if name not in after]
    new = {n: v for n, v in after.items() if n not in before}
    changed = {n: v for n, v in after.items() if n in before and before[n] != v}
    if gone:
        fast.index_delete(out, instance_id, gone)
    if new:
        fast.index_insert(out, instance_id, new)
    if changed:
        fast.index_update(out, instance_id, changed)


def rows_in_tables(conn: Connection, instance_id: str) -> Derived:
    """The rows an instance has in the tables now, as :class:`~engine.rows.Derived`."""
    out = Derived()
    subs = EventSubscription.__table__
    for r in conn.execute(select(subs).where(subs.c.instance_id == instance_id)).mappings():
        out.subscriptions[r["id"]] = dict(r)
    ext = ExternalTaskRow.__table__
    for r in conn.execute(select(ext).where(ext.c.instance_id == instance_id)).mappings():
        out.external[r["id"]] = dict(r)
    for table, target in ((UserTask.__table__, out.user), (Job.__table__, out.jobs)):
        for row in conn.execute(select(table.c.id).where(table.c.instance_id == instance_id)):
            target[row.id] = {"id": row.id}
    index = InstanceVariable.__table__
    out.index = {r.name: r.value for r in conn.execute(
        select(index.c.name, index.c.value).where(index.c.instance_id == instance_id))}
    return out
