"""External tasks: fetch-and-lock, complete, fail (retries, incidents), BPMN errors, lock
extension, and incident retry. Workers run handlers between these calls, outside any
transaction, so a slow handler never holds a database lock."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from . import clock, statements
from .bpmn.state import TokenState
from .bpmn.timers import parse_duration
from .errors import ConflictError, NotFoundError, ValidationError
from .facade import Engine, ExecutionError, execution_errors
from .hotpath import hot
from .records import InstanceRecord
from .states import IncidentStatus, InstanceStatus, WorkState
from .unit_of_work import InstanceHandle, UnitOfWork
from .values import check_variables

DEFAULT_LOCK_SECONDS = 300.0
DEFAULT_RETRY_CYCLE = "R3/PT10S"
EXTERNAL = statements.EXTERNAL
INCIDENTS = statements.INCIDENTS
JOBS = statements.JOBS


@dataclass
class LockedTask:
    """A task a worker holds: everything its handler needs, nothing it must not see."""

    id: str
    topic: str
    instance_id: str
    process_key: str
    business_key: str | None
    activity_id: str
    variables: dict[str, Any]
    properties: dict[str, str]
    idempotency_key: str
    attempt: int
    retries: int | None
    worker_id: str
    lock_expires_at: Any
    error_message: str | None = None
    error_details: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def locked_task(row: Mapping[Any, Any]) -> LockedTask:
    return LockedTask(id=row["id"], topic=row["topic"], instance_id=row["instance_id"],
                      process_key=row["definition_key"], business_key=row["business_key"],
                      activity_id=row["activity_id"], variables=dict(row["variables"] or {}),
                      properties=dict(row["properties"] or {}),
                      idempotency_key=row["idempotency_key"], attempt=row["attempts"],
                      retries=row.get("retries"), worker_id=row.get("lock_owner") or "",
                      lock_expires_at=row.get("lock_expires_at"),
                      error_message=row.get("last_error"), error_details=row.get("error_details"))


def parse_retry_cycle(cycle: str | None) -> tuple[int, timedelta]:
    """``R5/PT1M`` -> (5 attempts in all, 1 minute between them)."""
    text = (cycle or DEFAULT_RETRY_CYCLE).strip()
    match = re.fullmatch(r"R(\d+)/(P.+)", text, re.IGNORECASE)
    if not match:
        raise ValidationError(f"invalid failedJobRetryTimeCycle {text!r}; expected e.g. R3/PT10S")
    now = clock.now()
    try:
        return int(match.group(1)), (now + parse_duration(match.group(2))) - now
    except ValueError as exc:
        raise ValidationError(f"invalid failedJobRetryTimeCycle {text!r}: {exc}") from None


class ExternalTaskService:
    """External-task operations of an :class:`~engine.facade.Engine`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.db = engine.db
        self.writer = engine.writer

    # ------------------------------------------------------------------ fetch

    def fetch_and_lock(self, worker_id: str, topics: dict[str, float] | list[str] | None,
                       max_tasks: int = 1, *, default_lock: float = DEFAULT_LOCK_SECONDS,
                       business_key: str | None = None) -> list[LockedTask]:
        """Claim up to ``max_tasks`` due tasks of the given topics (all topics when None)."""
        if not worker_id:
            raise ValidationError("workerId is required")
        if max_tasks < 1:
            return []
        lock_for = (dict(topics) if isinstance(topics, dict)
                    else {t: default_lock for t in (topics or [])})
        if topics is not None and not lock_for:
            return []
        if not self._anything_due(lock_for if topics is not None else None, business_key):
            return []  # read first: an idle poll never takes the write lock
        return self.writer.run(lambda uow: self._claim(uow, worker_id, lock_for,
                                                       topics is None, max_tasks,
                                                       default_lock, business_key))

    def _anything_due(self, lock_for: dict[str, float] | None, business_key: str | None) -> bool:
        query = statements.any_external_due(lock_for is not None, business_key is not None)
        params = {"now": clock.now(), "topics": list(lock_for or ()),
                  "b_business_key": business_key}
        with self.db.connection() as conn:
            return conn.execute(query, params).first() is not None

    def _claim(self, uow: UnitOfWork, worker_id: str, lock_for: dict[str, float],
               any_topic: bool, max_tasks: int, default_lock: float,
               business_key: str | None) -> list[LockedTask]:
        now = clock.now()
        groups: dict[float, list[str] | None] = (
            {default_lock: None} if any_topic else dict(_by_lock_seconds(lock_for)))
        claimed: list[dict[str, Any]] = []
        for seconds, group in sorted(groups.items()):
            wanted = max_tasks - len(claimed)
            if wanted <= 0:
                break
            query = statements.claim_external(uow.dialect, group is not None,
                                              business_key is not None)
            params: dict[str, Any] = {"now": now, "wanted": wanted, "owner": worker_id,
                                      "expires": now + timedelta(seconds=seconds)}
            if group is not None:
                params["topics"] = group
            if business_key is not None:
                params["b_business_key"] = business_key
            rows = uow.conn.execute(query, params).mappings().all()
            claimed.extend(dict(r) for r in rows)
        claimed.sort(key=lambda r: (-r["priority"], r["created_at"], r["id"]))
        return [locked_task(r) for r in claimed]

    def _held(self, uow: UnitOfWork, task_id: str, worker_id: str | None) -> dict[str, Any]:
        uow.send_deferred()  # a raw read: the batch's earlier writes go first
        row = hot(uow.dialect).external_by_id(uow.conn, task_id)
        if row is None:
            raise NotFoundError(f"no external task {task_id!r} (completed, cancelled or unknown)")
        locked = row["state"] == WorkState.LOCKED
        if worker_id is not None and locked and row["lock_owner"] != worker_id:
            raise ConflictError(f"external task {task_id} is locked by another worker")
        if worker_id is not None and not locked:
            raise ConflictError(f"external task {task_id} is not locked (state {row['state']}); "
                                "fetch and lock it first")
        return dict(row)

    def get(self, task_id: str) -> LockedTask:
        with self.db.session() as s:
            row = s.execute(select(EXTERNAL).where(EXTERNAL.c.id == task_id)).mappings().first()
            if row is None:
                raise NotFoundError(f"no external task {task_id!r}")
            return locked_task(row)

    def list(self, topic: str | None = None, instance_id: str | None = None) -> list[LockedTask]:
        q = select(EXTERNAL).order_by(EXTERNAL.c.created_at, EXTERNAL.c.id)
        if topic:
            q = q.where(EXTERNAL.c.topic == topic)
        if instance_id:
            q = q.where(EXTERNAL.c.instance_id == instance_id)
        with self.db.session() as s:
            return [locked_task(r) for r in s.execute(q).mappings().all()]

    # ------------------------------------------------------------------ complete / error

    def complete(self, task_id: str, worker_id: str | None, variables: dict[str, Any] | None = None,
                 local_variables: dict[str, Any] | None = None, *,
                 held: LockedTask | None = None) -> None:
        """Complete a locked task with result variables and advance its instance.

        ``held``: the task as this worker claimed it. The first attempt then trusts the
        claim instead of reading the row, and checks the lock in the same round trip as the
        instance's write; if the lock is gone the command runs again the careful way (and
        answers NotFound / Conflict as always).
        """
        check_variables(variables)
        check_variables(local_variables, "localVariables")
        attempts = iter(range(1 << 30))

        def command(uow: UnitOfWork) -> None:
            first_run = next(attempts) == 0
            # the lock to check with the instance's write, when the claim is trusted
            lock_check: tuple[str, str] | None = None
            if held is not None and worker_id and first_run:
                row = _claimed_row(task_id, held)
                lock_check = (task_id, worker_id)
            else:
                row = self._held(uow, task_id, worker_id)
            handle = uow.instance(row["instance_id"])
            token = handle.external_token(row)
            if token is None and lock_check is not None:  # moved on: let the row say why
                lock_check, row = None, self._held(uow, task_id, worker_id)
                handle = uow.instance(row["instance_id"])
                token = handle.external_token(row)
            if token is None:
                raise ConflictError(f"external task {task_id} no longer waits (instance moved on)")
            if lock_check is not None:
                handle.lock_checks.append(lock_check)
            runner = uow.runner(handle)
            with execution_errors(handle.id):
                runner.complete_task(token.id, variables, local_variables)
            handle.record("external_task.completed", row["activity_id"], row["topic"],
                          worker_id=worker_id, attempt=row["attempts"], variables=variables or {})
            if row["state"] == WorkState.INCIDENT or handle.status == InstanceStatus.INCIDENT:
                uow.resolve_incidents(handle, external_task_id=row["id"], reason="completed")
            self.engine.settle(uow, handle, runner)

        try:
            self.writer.run(command)
        except ExecutionError as exc:
            failure = exc
            self.writer.run(lambda uow: self._completion_failed(uow, task_id, variables, failure))
            raise

    def _completion_failed(self, uow: UnitOfWork, task_id: str, pending: dict[str, Any] | None,
                           exc: ExecutionError) -> None:
        """Advancing after a completion failed: keep the result, open an incident."""
        row = uow.conn.execute(select(EXTERNAL).where(EXTERNAL.c.id == task_id)).mappings().first()
        if row is None:
            return
        handle = uow.instance(row["instance_id"])
        uow.conn.execute(update(EXTERNAL).where(EXTERNAL.c.id == task_id)
                         .values(pending_result=pending or {}))
        self._open_incident(uow, handle, dict(row), "failedCompletion",
                            f"completing the task failed: {exc.message}")
        handle.error = exc.message

    def bpmn_error(self, task_id: str, worker_id: str | None, error_code: str,
                   message: str = "", variables: dict[str, Any] | None = None) -> bool:
        """Throw a BPMN error from the task; returns whether a boundary event caught it.

        An error nobody catches opens an incident instead of silently ending the process.
        """
        if not error_code:
            raise ValidationError("errorCode is required")
        check_variables(variables)

        def command(uow: UnitOfWork) -> bool:
            row = self._held(uow, task_id, worker_id)
            handle = uow.instance(row["instance_id"])
            token = handle.external_token(row)
            if token is None:
                raise ConflictError(f"external task {task_id} no longer waits (instance moved on)")
            runner = uow.runner(handle)
            with execution_errors(handle.id):
                caught = runner.throw_error(token, error_code, message, dict(variables or {}))
                runner.drain()
            handle.record("bpmn_error.thrown", row["activity_id"], error_code, message=message,
                          caught=caught, variables=variables or {})
            if caught:
                uow.resolve_incidents(handle, external_task_id=row["id"], reason="error caught")
            else:
                self._open_incident(uow, handle, row, "unhandledBpmnError",
                                    f"BPMN error {error_code!r} was not caught by any boundary "
                                    "event" + (f": {message}" if message else ""))
            self.engine.settle(uow, handle, runner)
            return caught

        return self.writer.run(command)

    def fail(self, task_id: str, worker_id: str | None, error_message: str,
             error_details: str | None = None, retries: int | None = None,
             retry_timeout_ms: int | None = None) -> None:
        """Record a failed attempt: schedule a retry, or open an incident when none are left."""

        def command(uow: UnitOfWork) -> None:
            row = self._held(uow, task_id, worker_id)
            if retries is None:
                attempts, interval = parse_retry_cycle(row["retry_cycle"])
                left = max(attempts - row["attempts"], 0)
            else:
                left = max(int(retries), 0)
                interval = timedelta(milliseconds=retry_timeout_ms or 0)
            last_error = (error_message or "task failed")[:4000]
            values: dict[str, Any] = {
                "retries": left, "last_error": last_error,
                "error_details": error_details[:20000] if error_details else None,
                "lock_owner": None, "lock_expires_at": None}
            handle = uow.instance(row["instance_id"])
            handle.record("external_task.failed", row["activity_id"], row["topic"],
                          error=last_error, attempt=row["attempts"], retries_left=left)
            if left > 0:
                values.update(state=WorkState.AVAILABLE, next_attempt_at=clock.now() + interval)
                uow.conn.execute(update(EXTERNAL).where(EXTERNAL.c.id == task_id).values(values))
            else:
                uow.conn.execute(update(EXTERNAL).where(EXTERNAL.c.id == task_id).values(values))
                self._open_incident(uow, handle, row, "failedExternalTask", last_error)

        self.writer.run(command)

    def extend_lock(self, task_id: str, worker_id: str, seconds: float) -> None:
        if seconds <= 0:
            raise ValidationError("newDuration must be positive")

        def command(uow: UnitOfWork) -> None:
            self._held(uow, task_id, worker_id)
            uow.conn.execute(update(EXTERNAL).where(EXTERNAL.c.id == task_id).values(
                lock_expires_at=clock.now() + timedelta(seconds=seconds)))

        self.writer.run(command)

    def unlock(self, task_id: str) -> None:
        def command(uow: UnitOfWork) -> None:
            row = uow.conn.execute(select(EXTERNAL.c.state).where(EXTERNAL.c.id == task_id)).first()
            if row is None:
                raise NotFoundError(f"no external task {task_id!r}")
            if row.state == WorkState.LOCKED:
                uow.conn.execute(update(EXTERNAL).where(EXTERNAL.c.id == task_id).values(
                    state=WorkState.AVAILABLE, lock_owner=None, lock_expires_at=None))

        self.writer.run(command)

    def hand_back(self, task_id: str, worker_id: str) -> None:
        """Give back a task ``worker_id`` claimed and cannot run (it has no handler for the
        topic): unlocked and due at once, its claim not counted as an attempt, since nothing
        was tried. Unlike ``unlock`` (an operator's, of any lock), only the holder may."""
        def command(uow: UnitOfWork) -> None:
            self._held(uow, task_id, worker_id)
            uow.conn.execute(update(EXTERNAL).where(EXTERNAL.c.id == task_id).values(
                state=WorkState.AVAILABLE, lock_owner=None, lock_expires_at=None,
                attempts=EXTERNAL.c.attempts - 1))

        self.writer.run(command)

    # ------------------------------------------------------------------ incidents

    def retry_incident(self, incident_id: str) -> InstanceRecord:
        """Give the failed step one more attempt (a stored result is re-applied instead)."""
        def command(uow: UnitOfWork) -> tuple[dict[str, Any] | None, str | None, str]:
            incident = uow.conn.execute(select(INCIDENTS).where(INCIDENTS.c.id == incident_id)
                                        ).mappings().first()
            if incident is None:
                raise NotFoundError(f"no incident {incident_id!r}")
            if incident["status"] != IncidentStatus.OPEN:
                raise ConflictError(f"incident {incident_id} is already {incident['status']}")
            handle = uow.instance(incident["instance_id"])
            handle.record("operator.retry", incident["activity_id"], incident["kind"],
                          incident_id=incident_id)
            pending = None
            if incident["external_task_id"]:
                row = uow.conn.execute(select(EXTERNAL).where(
                    EXTERNAL.c.id == incident["external_task_id"])).mappings().first()
                if row is not None:
                    pending = row["pending_result"]
                    uow.conn.execute(update(EXTERNAL).where(EXTERNAL.c.id == row["id"]).values(
                        state=WorkState.AVAILABLE, retries=1, next_attempt_at=clock.now(),
                        lock_owner=None, lock_expires_at=None))
                uow.resolve_incidents(handle, external_task_id=incident["external_task_id"],
                                      reason="retried")
            elif incident["job_id"]:
                uow.conn.execute(update(JOBS).where(JOBS.c.id == incident["job_id"]).values(
                    state=WorkState.AVAILABLE, retries=1, next_attempt_at=clock.now(),
                    lock_owner=None, lock_expires_at=None))
                uow.resolve_incidents(handle, job_id=incident["job_id"], reason="retried")
            else:
                uow.resolve_incidents(handle, incident_id=incident_id, reason="retried")
                token = handle.state.tokens.get(int(incident["task_id"] or 0))
                if token is not None and token.state is TokenState.INCIDENT:
                    runner = uow.runner(handle)
                    token.state = TokenState.READY
                    with execution_errors(handle.id):
                        runner.schedule(runner.enter, token)
                        runner.drain()
                    self.engine.settle(uow, handle, runner)
            return pending, incident["external_task_id"], handle.id

        pending, task_id, instance_id = self.writer.run(command)
        if pending is not None and task_id:
            self.complete(task_id, None, pending)
        return self.engine.get_instance(instance_id)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _open_incident(uow: UnitOfWork, handle: InstanceHandle, row: dict[str, Any], kind: str,
                       message: str) -> None:
        uow.conn.execute(update(EXTERNAL).where(EXTERNAL.c.id == row["id"]).values(
            state=WorkState.INCIDENT, lock_owner=None, lock_expires_at=None))
        uow.open_incident(handle, kind, message, activity_id=row["activity_id"],
                          external_task_id=row["id"])


def _by_lock_seconds(lock_for: dict[str, float]) -> dict[float, list[str]]:
    """Topics grouped by their lock duration: one claim statement per group."""
    groups: dict[float, list[str]] = {}
    for topic, seconds in lock_for.items():
        groups.setdefault(seconds, []).append(topic)
    return groups


def _claimed_row(task_id: str, held: LockedTask) -> dict[str, Any]:
    """What a completion needs of the row, taken from the worker's claim instead of a read."""
    return {"id": task_id, "instance_id": held.instance_id, "task_id": None,
            "activity_id": held.activity_id, "topic": held.topic, "attempts": held.attempt,
            "state": WorkState.LOCKED}
