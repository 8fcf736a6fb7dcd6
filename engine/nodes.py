"""Nodes: the ``mlc serve`` / ``mlc worker`` processes sharing one database.

Each process registers a node (id ``host:pid:suffix``) and heartbeats it. Its locks on
external tasks are *leases*: short, and renewed by every heartbeat while one of the node's
workers is running (or about to run) the task's handler, so a node that dies without a word
gives its work back within a lease, and a lock a live node no longer works on (a result that
could not be reported) expires like any other. A live node also reaps the dead: a node whose
heartbeat is three intervals old has its row removed and its locks (tasks and jobs) released
at once. Stopping (SIGTERM) deregisters after the node's work was finished or released.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, delete, func, insert, select, update
from sqlalchemy.orm import Session

from . import clock, statements
from .db import Database, affected_rows, table_of
from .persistence import Node
from .states import WorkState

log = logging.getLogger("mlc.nodes")

NODES = table_of(Node)
EXTERNAL = statements.EXTERNAL
JOBS = statements.JOBS
HEARTBEAT_SECONDS = 5.0
LEASE_SECONDS = 30.0
DEAD_AFTER = 3  # heartbeats missed


def new_node_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class NodeRegistry:
    """This process's node: registration, heartbeat, lease renewal, reaping of dead nodes.

    Args:
        db: the shared database.
        kind: ``serve`` or ``worker``.
        topics: the topics this node's embedded worker runs (shown in ``mlc nodes``).
        heartbeat: seconds between heartbeats.
        lease: how long a lock lasts without a heartbeat.
    """

    def __init__(self, db: Database, kind: str, topics: list[str] | None = None, *,
                 heartbeat: float = HEARTBEAT_SECONDS, lease: float = LEASE_SECONDS,
                 node_id: str | None = None) -> None:
        self.db = db
        self.kind = kind
        self.topics = sorted(topics or [])
        self.heartbeat = heartbeat
        self.lease = lease
        self.id = node_id or new_node_id()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._working: list[Callable[[], Iterable[str]]] = []

    def track(self, working: Callable[[], Iterable[str]]) -> None:
        """Renew the leases of the external tasks ``working()`` names (a worker's running and
        handed-over tasks) at every heartbeat."""
        self._working.append(working)

    def owns(self, lock_owner: str | None) -> bool:
        return lock_owner is not None and lock_owner.startswith(self.id)

    def start(self) -> None:
        with self.db.write_session() as s:
            self._register(s, clock.now())
        self._thread = threading.Thread(target=self._run, daemon=True, name="mlc-heartbeat")
        self._thread.start()
        log.info("node %s (%s) registered", self.id, self.kind)

    def _register(self, s: Session, now: datetime) -> None:
        s.execute(insert(NODES).values(
            id=self.id, kind=self.kind, host=socket.gethostname(), pid=os.getpid(),
            started_at=now, heartbeat_at=now, topics=self.topics,
            info={"heartbeat_seconds": self.heartbeat, "lease_seconds": self.lease}))

    def _run(self) -> None:
        while not self._stop.wait(self.heartbeat):
            try:
                self.beat()
            except Exception:
                log.exception("heartbeat of node %s failed", self.id)

    def beat(self) -> dict[str, int]:
        """One heartbeat: mark this node alive, renew the leases of what its workers run,
        reap dead nodes."""
        now = clock.now()
        expires = now + timedelta(seconds=self.lease)
        with self.db.write_session() as s:
            alive = affected_rows(s.execute(update(NODES).where(NODES.c.id == self.id)
                                            .values(heartbeat_at=now)))
            if not alive:  # reaped while it could not beat (a long pause): register again
                self._register(s, now)
            working = sorted({task_id for source in self._working for task_id in source()})
            renewed = affected_rows(s.execute(update(EXTERNAL).where(_free_rows(
                EXTERNAL, EXTERNAL.c.id.in_(working), _held_by(EXTERNAL, self.id),
                EXTERNAL.c.state == WorkState.LOCKED)).values(lock_expires_at=expires))) \
                if working else 0
            released = self._reap(s, now)
        return {"renewed": renewed, "released": released}

    def _reap(self, s: Session, now: datetime) -> int:
        cutoff = now - timedelta(seconds=self.heartbeat * DEAD_AFTER)
        dead = s.scalars(select(NODES.c.id).where(NODES.c.heartbeat_at < cutoff,
                                                  NODES.c.id != self.id)).all()
        released = 0
        for node_id in dead:
            count = release_locks(s, node_id, skip_locked=True)
            s.execute(delete(NODES).where(NODES.c.id == node_id))
            log.warning("node %s stopped heartbeating; released %d of its locks", node_id,
                        count)
            released += count
        return released

    def stop(self) -> int:
        """Deregister; release what this node still holds. Returns how many were released."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.heartbeat + 5)
        with self.db.write_session() as s:
            released = release_locks(s, self.id)
            s.execute(delete(NODES).where(NODES.c.id == self.id))
        log.info("node %s deregistered (%d locks released)", self.id, released)
        return released


def release_locks(s: Session, node_id: str, *, skip_locked: bool = False) -> int:
    """Give back every external task and job a node holds (its handlers are gone).

    ``skip_locked``: leave rows another transaction is writing now (another reaper, or a
    claim of an expired lock) to that transaction."""
    released = 0
    for table in (EXTERNAL, JOBS):
        held = (_held_by(table, node_id), table.c.state == WorkState.LOCKED)
        released += affected_rows(s.execute(update(table).where(
            _free_rows(table, *held) if skip_locked else and_(*held))
            .values(state=WorkState.AVAILABLE, lock_owner=None, lock_expires_at=None)))
    return released


def _free_rows(table: Table, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """Rows matching ``conditions`` that no other transaction is writing now (SKIP LOCKED
    on PostgreSQL), so a heartbeat never waits for, nor deadlocks with, a writer completing
    the same tasks in another order; a renewal skipped now comes with the next beat."""
    pick = select(table.c.id).where(*conditions).with_for_update(skip_locked=True)
    return table.c.id.in_(pick.scalar_subquery())


def _held_by(table: Table, node_id: str) -> ColumnElement[bool]:
    """Locks of a node: its workers' ids start with the node id (``id`` or ``id/...``)."""
    return table.c.lock_owner.startswith(node_id, autoescape=True)


def list_nodes(db: Database) -> list[dict[str, Any]]:
    """Live nodes, with what each holds (locked external tasks and jobs) and its age."""
    now = clock.now()
    with db.session() as s:
        rows = s.execute(select(NODES).order_by(NODES.c.started_at)).mappings().all()
        held: dict[str, dict[str, int]] = {}
        for label, table in (("external_tasks", EXTERNAL), ("jobs", JOBS)):
            for row in rows:
                count = s.scalar(select(func.count()).where(
                    _held_by(table, row["id"]), table.c.state == WorkState.LOCKED)) or 0
                held.setdefault(row["id"], {})[label] = int(count)
    out: list[dict[str, Any]] = []
    for row in rows:
        age = (now - row["heartbeat_at"]).total_seconds()
        beat = (row["info"] or {}).get("heartbeat_seconds", HEARTBEAT_SECONDS)
        out.append({"id": row["id"], "kind": row["kind"], "host": row["host"], "pid": row["pid"],
                    "started_at": row["started_at"].isoformat(),
                    "heartbeat_at": row["heartbeat_at"].isoformat(),
                    "alive": age <= beat * DEAD_AFTER, "topics": row["topics"] or [],
                    "holds": held.get(row["id"], {})})
    return out
