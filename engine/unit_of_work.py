"""One transaction's view of instances: load (from the cache when it is current), change
through a :class:`~engine.bpmn.runner.Runner`, and write back only what changed.

This is the public interface the command modules (``facade``, ``external_tasks``, ``jobs``,
``user_tasks``) use inside :meth:`Writer.run <engine.writer.Writer.run>`:

    def complete(uow: UnitOfWork) -> None:
        handle = uow.instance(instance_id)
        runner = uow.runner(handle)
        runner.complete_task(token, variables)
        uow.absorb(handle, runner)

:meth:`UnitOfWork.flush` (called by the writer after each command) writes every touched
instance: one version-checked UPDATE (or INSERT), the difference of its derived rows, its
variable index and its history, all with Core statements.

In a batch (:meth:`UnitOfWork.defer_writes`) those hot writes are not sent per command but
collected across the batch's commands and sent together: before any other statement runs on
the transaction's connection (so every read sees every earlier write, in order), and before
the commit. On PostgreSQL that is one pipeline round trip per batch instead of one per
command. A deferred send that fails (a version check, a constraint) cannot say whose write
it was, so it raises :class:`DeferredWritesFailed` and the writer runs the batch again with a
savepoint and an immediate send per command, where each failure has its owner.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, overload

from sqlalchemy import Connection, Engine, event, select, update

from . import clock, statements
from .bpmn.runner import InstanceFacts, Runner
from .bpmn.state import InstanceState, Token, decode, encode, is_current_format
from .errors import ConflictError, NotFoundError
from .hotpath import Writes, hot
from .rows import Derived, Meta, derive, write_difference, write_rare_rows
from .uuids import new_id
from .values import jsonable

if TYPE_CHECKING:  # pragma: no cover
    from .services import EngineServices

INCIDENTS = statements.INCIDENTS
_MISSING = object()
STATIC = statements.STATIC
_DEFERRING = threading.local()  # the unit of work whose writes wait, on this thread


class DeferredWritesFailed(Exception):
    """The batch's collected writes failed together; the writer retries the batch one
    command at a time."""


class StaleInstance(ConflictError):
    """Another writer changed the instance since it was cached; the command runs again."""

    code = "concurrent_update"

    def __init__(self, *instance_ids: str) -> None:
        super().__init__(f"instance {', '.join(instance_ids)} was changed by another writer")
        self.instance_ids = list(instance_ids)


@dataclass(eq=False)
class InstanceHandle:
    """An instance inside one command: its row facts, a working copy of its state, and what
    the command did to it."""

    id: str
    definition_id: str
    definition_key: str
    business_key: str | None
    status: str
    version: int | None            # committed version (None: created by this command)
    created_at: datetime
    ended_at: datetime | None
    error: str | None
    state: InstanceState
    before: Derived | None
    old_variables: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)  # to insert after the row
    touched: bool = False
    resync: bool = False           # rows written by an older engine: compare with the tables
    new_external: list[str] = field(default_factory=list)
    lock_checks: list[tuple[str, str]] = field(default_factory=list)  # (task id, owner)
    unverified: bool = False       # from the process cache: another node may have moved it on
    latest_version: int | None = None  # started as its key's latest version, as cached

    @property
    def meta(self) -> Meta:
        return Meta(self.id, self.definition_id, self.definition_key, self.business_key)

    @property
    def ended(self) -> bool:
        return self.status in ("completed", "terminated")

    def external_token(self, row: dict[str, Any]) -> Token | None:
        """The token an external-task row waits on (None when the instance moved on)."""
        task_id = row["task_id"] or ""
        token = self.state.tokens.get(int(task_id)) if task_id.isdigit() else None
        if token is None or token.data.get("ext") != row["id"]:  # a row of an older engine
            token = next((t for t in self.state.tokens.values()
                          if t.data.get("ext") == row["id"]), None)
        return token

    def record(self, kind: str, activity_id: str | None = None, name: str | None = None,
               **data: Any) -> None:
        self.history.append({"instance_id": self.id, "at": clock.now(), "kind": kind,
                             "activity_id": activity_id, "name": name, "data": jsonable(data)})
        self.touched = True


@dataclass
class CachedInstance:
    """A committed instance as the writer last wrote it."""

    version: int
    row: dict[str, Any]
    state: InstanceState
    derived: Derived


class UnitOfWork:
    """One batch transaction; commands see each other's committed-in-batch results."""

    def __init__(self, conn: Connection, services: EngineServices) -> None:
        self.conn = conn
        self.services = services
        self.dialect = conn.dialect.name
        self._batch: dict[str, CachedInstance] = {}     # written by earlier commands of the batch
        self._handles: dict[str, InstanceHandle] = {}   # touched by the current command
        self.after_commit: list[Any] = []
        self._command_after_commit: list[Any] = []
        self.after_rollback: list[Any] = []
        self._command_after_rollback: list[Any] = []
        self._deferred: Writes | None = None

    @staticmethod
    def install(engine: Engine) -> None:
        """Send a batch's waiting writes before any other statement on its connection."""
        if not event.contains(engine, "before_execute", _send_deferred_first):
            event.listen(engine, "before_execute", _send_deferred_first)

    def defer_writes(self) -> None:
        """Collect the hot writes of every command from now on (see the module docstring)."""
        self._deferred = hot(self.dialect).writes()
        _DEFERRING.uow = self

    def send_deferred(self) -> None:
        """Send the collected writes now; raise :class:`DeferredWritesFailed` if they fail."""
        out = self._deferred
        if out is None or out.empty:
            return
        self._deferred = hot(self.dialect).writes()
        try:
            fresh = out.send(self.conn)
        except Exception as exc:  # noqa: BLE001 - whoever owns it, the batch runs again
            raise DeferredWritesFailed(f"{type(exc).__name__}: {exc}") from exc
        if not fresh:
            raise DeferredWritesFailed("a version-checked write of the batch changed no row")

    def stop_deferring(self) -> None:
        if getattr(_DEFERRING, "uow", None) is self:
            _DEFERRING.uow = None
        self._deferred = None

    # ------------------------------------------------------------------ loading

    @overload
    def instance(self, instance_id: str, *, missing_ok: Literal[False] = False
                 ) -> InstanceHandle: ...

    @overload
    def instance(self, instance_id: str, *, missing_ok: bool) -> InstanceHandle | None: ...

    def instance(self, instance_id: str, *, missing_ok: bool = False) -> InstanceHandle | None:
        """The instance's handle for this unit of work; a missing one raises ``NotFoundError``,
        or is None with ``missing_ok``."""
        found = self._handles.get(instance_id)
        if found is not None:
            return found
        cached = self._batch.get(instance_id)
        unverified = cached is None
        cached = cached or self.services.cache.get(instance_id)
        if cached is not None:
            handle = self._from_cache(instance_id, cached)
            handle.unverified = unverified
        else:
            row = self.conn.execute(statements.INSTANCE_BY_ID, {"id": instance_id}
                                    ).mappings().first()
            if row is None:
                if missing_ok:
                    return None
                raise NotFoundError(f"no process instance {instance_id!r}")
            handle = self._from_row(dict(row))
        self._handles[instance_id] = handle
        return handle

    def stale_handles(self) -> list[str]:
        """Instances the current command took from the process cache and did not write, whose
        stored version has moved on. Another process may have fired a timer or taken a step;
        a command that decided from such a copy ("nothing waits for this signal", "the task
        no longer waits") must run again on the stored state. A written instance needs no
        look: its version-checked UPDATE finds the same thing in the same round trip."""
        stale = []
        for handle in self._handles.values():
            if handle.unverified and not handle.touched:
                stored = self.conn.execute(statements.INSTANCE_VERSION,
                                           {"id": handle.id}).scalar()
                if stored != handle.version:
                    stale.append(handle.id)
                handle.unverified = False
        return stale

    def _from_cache(self, instance_id: str, cached: CachedInstance) -> InstanceHandle:
        row = cached.row
        state = cached.state.copy()
        return InstanceHandle(
            instance_id, row["definition_id"], row["definition_key"], row["business_key"],
            row["status"], cached.version, row["created_at"], row["ended_at"], row["error"],
            state, cached.derived, dict(state.root.vars) if state.scopes else {})

    def _from_row(self, row: dict[str, Any]) -> InstanceHandle:
        text = row["state"] or ""
        resync = False
        if is_current_format(text):
            state = decode(text)
        else:
            from .bpmn.legacy import convert

            definitions, conn = self.services.definitions, self.conn
            state = convert(text, row, self.services.model(row["definition_id"], conn), conn,
                            called=lambda key: definitions.called(conn, key, "latest", None,
                                                                  row["definition_id"]))
            resync = True
        handle = InstanceHandle(
            row["id"], row["definition_id"], row["definition_key"], row["business_key"],
            row["status"], row["version"], row["created_at"], row["ended_at"], row["error"],
            state, None, dict(row["variables"] or {}), resync=resync)
        if not resync:
            handle.before = self.derive(handle)
        else:
            from .rows import rows_in_tables

            handle.before = rows_in_tables(self.conn, handle.id)
        return handle

    def new_instance(self, definition_id: str, definition_key: str,
                     business_key: str | None) -> InstanceHandle:
        now = clock.now()
        handle = InstanceHandle(new_id(), definition_id, definition_key, business_key,
                                "running", None, now, None, None, InstanceState(), None, {})
        handle.touched = True
        self._handles[handle.id] = handle
        return handle

    def derive(self, handle: InstanceHandle) -> Derived:
        """The rows ``handle``'s current state implies."""
        runner = self.runner(handle)
        return derive(handle.state, handle.meta, runner.model_of, clock.now())

    # ------------------------------------------------------------------ running

    def runner(self, handle: InstanceHandle) -> Runner:
        facts = InstanceFacts(handle.id, handle.definition_id, handle.definition_key,
                              handle.business_key)
        return Runner(handle.state, facts, self.services.runner_services(self.conn))

    def absorb(self, handle: InstanceHandle, runner: Runner) -> None:
        """Take what the runner did into the handle: history, incidents, status."""
        handle.touched = True
        now = clock.now()
        for kind, activity_id, name, data in runner.history:
            handle.history.append({"instance_id": handle.id, "at": now, "kind": kind,
                                   "activity_id": activity_id, "name": name,
                                   "data": jsonable(data)})
        runner.history.clear()
        self._record_variable_changes(handle)
        for incident in runner.incidents:
            self.open_incident(handle, incident["kind"], incident["message"],
                               activity_id=incident["activity_id"],
                               task_id=str(incident["token"]))
        runner.incidents.clear()
        if handle.state.ended and not handle.ended:
            handle.status = "completed"
            handle.ended_at = now
            handle.record("instance.completed")
        elif not handle.ended and handle.status in ("running", "waiting"):
            handle.status = "waiting"

    def on_commit(self, callback: Callable[[], Any]) -> None:
        """Run ``callback()`` once the current command's batch has committed."""
        self._command_after_commit.append(callback)

    def on_rollback(self, callback: Callable[[], Any]) -> None:
        """Run ``callback()`` if the current command's work is undone (the command failed, or
        its batch rolled back)."""
        self._command_after_rollback.append(callback)

    # ------------------------------------------------------------------ incidents

    def open_incident(self, handle: InstanceHandle, kind: str, message: str, *,
                      activity_id: str | None = None, external_task_id: str | None = None,
                      job_id: str | None = None, task_id: str | None = None) -> str:
        incident_id = new_id()
        handle.incidents.append(dict(
            id=incident_id, instance_id=handle.id, external_task_id=external_task_id,
            job_id=job_id, task_id=task_id, activity_id=activity_id, kind=kind,
            message=message, status="open", created_at=clock.now(), resolved_at=None))
        handle.touched = True
        handle.status = "incident"
        handle.record("incident.opened", activity_id, kind, incident_id=incident_id,
                      message=message)
        return incident_id

    def resolve_incidents(self, handle: InstanceHandle, *, reason: str,
                          external_task_id: str | None = None, job_id: str | None = None,
                          incident_id: str | None = None) -> None:
        q = select(INCIDENTS.c.id, INCIDENTS.c.activity_id, INCIDENTS.c.kind).where(
            INCIDENTS.c.instance_id == handle.id, INCIDENTS.c.status == "open")
        if external_task_id:
            q = q.where(INCIDENTS.c.external_task_id == external_task_id)
        if job_id:
            q = q.where(INCIDENTS.c.job_id == job_id)
        if incident_id:
            q = q.where(INCIDENTS.c.id == incident_id)
        found = self.conn.execute(q).all()
        if found:
            self.conn.execute(update(INCIDENTS).where(INCIDENTS.c.id.in_([r.id for r in found]))
                              .values(status="resolved", resolved_at=clock.now()))
            for row in found:
                handle.record("incident.resolved", row.activity_id, row.kind,
                              incident_id=row.id, reason=reason)
        if handle.status == "incident":
            left = self.conn.scalar(statements.OPEN_INCIDENT_COUNT, {"instance_id": handle.id})
            if not left:
                handle.status = "completed" if handle.state.ended else "waiting"

    # ------------------------------------------------------------------ writing

    def flush(self) -> None:
        """Write every instance the current command touched (the writer calls this)."""
        stale = self.stale_handles()
        if stale:
            raise StaleInstance(*stale)
        for handle in self._handles.values():
            if handle.touched:
                self._write(handle)
        self.after_commit.extend(self._command_after_commit)
        self.after_rollback.extend(self._command_after_rollback)
        self._command_after_commit, self._command_after_rollback = [], []
        self._handles = {}

    def discard(self) -> None:
        """The current command failed: forget what it did."""
        self._handles = {}
        self._command_after_commit = []
        undo, self._command_after_rollback = self._command_after_rollback, []
        for callback in undo:
            callback()

    def _write(self, handle: InstanceHandle) -> None:
        now = clock.now()
        state = handle.state
        derived = self.derive(handle)
        self._record_variable_changes(handle)
        root_vars = handle.old_variables
        values = {"status": handle.status, "state": encode(state), "variables": root_vars,
                  "active_activities": derived.active, "error": handle.error,
                  "updated_at": now, "ended_at": handle.ended_at,
                  "business_key": handle.business_key}
        fast = hot(self.dialect)
        out = self._deferred if self._deferred is not None else fast.writes()
        if handle.version is None:
            fast.insert_instance(out, dict(
                values, id=handle.id, definition_id=handle.definition_id,
                definition_key=handle.definition_key, created_at=handle.created_at))
            if handle.latest_version is not None:
                fast.check_latest(out, handle.definition_key, handle.latest_version)
            version = 1
        else:
            fast.update_instance(out, handle.id, handle.version, values)
            version = handle.version + 1
        locked = dict(handle.lock_checks)
        handle.lock_checks = []
        before = handle.before
        new_jobs = set(derived.jobs) - set(before.jobs if before else ())
        new_external = [i for i in derived.external if before is None or i not in before.external]
        if new_external:
            self.services.claim_new_external(self, derived, new_external, out)
        handle.new_external = write_difference(out, handle.id, before, derived, locked)
        for task_id, owner in locked.items():  # still there: checked on their own
            fast.check_lock(out, task_id, owner)
        if handle.history:
            node = self.services.node_id
            if node is not None:
                for entry in handle.history:
                    entry["data"] = {**entry["data"], "node": node}
            fast.insert_history(out, handle.history)
            handle.history = []
        if out is not self._deferred:
            self._send(out, handle)
        write_rare_rows(self.conn, before, derived)
        if handle.incidents:
            self.conn.execute(statements.INSERT_INCIDENTS, handle.incidents)
            handle.incidents = []
        row = {"definition_id": handle.definition_id, "definition_key": handle.definition_key,
               "business_key": handle.business_key, "status": handle.status,
               "created_at": handle.created_at, "ended_at": handle.ended_at,
               "error": handle.error}
        self._batch[handle.id] = CachedInstance(version, row, state, derived)
        handle.version, handle.before = version, derived
        handle.touched = False
        if self.services.on_jobs_created and new_jobs:
            listeners = list(self.services.on_jobs_created)
            self.on_commit(lambda: [listener() for listener in listeners])

    def _send(self, out: Writes, handle: InstanceHandle) -> None:
        try:
            fresh = out.send(self.conn)
        except self.conn.dialect.loaded_dbapi.IntegrityError:
            if handle.version is None:
                raise
            # another writer stored this same step first (its rows have our ids): a lost race
            raise StaleInstance(handle.id) from None
        if not fresh:  # moved on, or (a new instance) its definition is no longer the latest
            raise StaleInstance(handle.id)

    @staticmethod
    def _record_variable_changes(handle: InstanceHandle) -> None:
        """History entries for process variables that changed since the last look."""
        new = dict(handle.state.root.vars) if handle.state.scopes else {}
        old = handle.old_variables
        handle.old_variables = new
        if new == old:
            return
        now = clock.now()
        for name in sorted(set(old) | set(new)):
            before, after = old.get(name, _MISSING), new.get(name, _MISSING)
            if before != after or type(before) is not type(after):
                handle.history.append({
                    "instance_id": handle.id, "at": now, "kind": "variable.changed",
                    "activity_id": None, "name": name,
                    "data": {"old": None if before is _MISSING else before,
                             "new": None if after is _MISSING else after,
                             "created": before is _MISSING, "deleted": after is _MISSING}})

    def committed(self) -> None:
        """The batch committed: its instances become the cache's current versions."""
        for instance_id, cached in self._batch.items():
            self.services.cache.put(instance_id, cached)
        for callback in self.after_commit:
            callback()

    def rolled_back(self) -> None:
        for instance_id in self._batch:
            self.services.cache.drop(instance_id)
        undo = self.after_rollback + self._command_after_rollback
        self.after_rollback, self._command_after_rollback = [], []
        for callback in undo:
            callback()


def _send_deferred_first(conn: Connection, clauseelement: Any, _multiparams: Any, _params: Any,
                         execution_options: Mapping[str, Any]) -> None:
    """``before_execute``: a statement on a deferring batch's connection runs after the
    batch's waiting writes, unless it only reads what no command writes."""
    uow = getattr(_DEFERRING, "uow", None)
    if uow is None or uow.conn is not conn or execution_options.get(STATIC):
        return
    options = getattr(clauseelement, "get_execution_options", None)
    if options is not None and options().get(STATIC):
        return
    uow.send_deferred()
