"""External tasks: fetch-and-lock, complete, fail (retries, incidents), BPMN errors, lock
extension, and incident retry. Workers run handlers between these calls, outside any
transaction, so a slow handler never holds a database lock."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import or_, select
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.util.task import TaskState

from . import clock
from .bpmn.specs import apply_outputs
from .bpmn.timers import TimerEventDefinition
from .errors import ConflictError, NotFoundError, ValidationError
from .persistence import ExternalTaskRow, Incident
from .runtime import DEFAULT_RETRY_CYCLE, Engine, ExecutionError, Txn, _check_variables

DEFAULT_LOCK_SECONDS = 300.0


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


def parse_retry_cycle(cycle: str | None) -> tuple[int, timedelta]:
    """``R5/PT1M`` -> (5 attempts in all, 1 minute between them)."""
    text = (cycle or DEFAULT_RETRY_CYCLE).strip()
    match = re.fullmatch(r"R(\d+)/(P.+)", text, re.IGNORECASE)
    if not match:
        raise ValidationError(f"invalid failedJobRetryTimeCycle {text!r}; expected e.g. R3/PT10S")
    parsed = TimerEventDefinition.parse_iso_duration(match.group(2))
    return int(match.group(1)), TimerEventDefinition.get_timedelta_from_start(parsed, clock.now())


def interrupt_for_event_subprocess(workflow) -> None:
    """An error event subprocess interrupts its process, as in Camunda: every other live
    path of the process is cancelled, so only the handler runs on."""
    live = TaskState.READY | TaskState.WAITING | TaskState.STARTED
    triggered = set(workflow.spec.start.trigger_specs)  # event subprocesses with event starts
    keep = {t.id for t in workflow.get_tasks(state=live)
            if t.workflow is workflow and t.task_spec.name in triggered}
    for task in workflow.get_tasks(state=live):
        if task.workflow is workflow and task.id not in keep and not any(
                a.id in keep for a in _ancestors(task)):
            workflow.event_manager.remove_task(task)
            task.cancel()


def _ancestors(task):
    parent = task.parent
    while parent is not None:
        yield parent
        parent = parent.parent


class ExternalTaskService:
    """External-task operations of an :class:`~engine.runtime.Engine`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.db = engine.db
        # task id -> instance id of the tasks this service locked; a task never changes
        # instance, so completing it need not read the row once more just to learn that.
        self._instances: dict[str, str] = {}

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
        now = clock.now()
        with self.db.write_session() as s:
            q = (select(ExternalTaskRow)
                 .where(or_(ExternalTaskRow.state == "available",
                            (ExternalTaskRow.state == "locked") & (ExternalTaskRow.lock_expires_at < now)))
                 .where(ExternalTaskRow.next_attempt_at <= now)
                 .order_by(ExternalTaskRow.priority.desc(), ExternalTaskRow.created_at,
                           ExternalTaskRow.id)
                 .limit(max_tasks))
            if topics is not None:
                q = q.where(ExternalTaskRow.topic.in_(list(lock_for)))
            if business_key is not None:
                q = q.where(ExternalTaskRow.business_key == business_key)
            if self.db.dialect == "postgresql":
                q = q.with_for_update(skip_locked=True)
            locked = []
            for row in s.scalars(q).all():
                seconds = lock_for.get(row.topic, default_lock)
                row.state = "locked"
                row.lock_owner = worker_id
                row.lock_expires_at = now + timedelta(seconds=seconds)
                row.attempts += 1
                locked.append(self._locked(row))
        if len(self._instances) > 10_000:  # tasks completed elsewhere never pop theirs
            self._instances.clear()
        self._instances.update((t.id, t.instance_id) for t in locked)
        return locked

    @staticmethod
    def _locked(row: ExternalTaskRow) -> LockedTask:
        return LockedTask(id=row.id, topic=row.topic, instance_id=row.instance_id,
                          process_key=row.definition_key, business_key=row.business_key,
                          activity_id=row.activity_id, variables=dict(row.variables or {}),
                          properties=dict(row.properties or {}),
                          idempotency_key=row.idempotency_key, attempt=row.attempts,
                          retries=row.retries, worker_id=row.lock_owner or "",
                          lock_expires_at=row.lock_expires_at, error_message=row.last_error,
                          error_details=row.error_details)

    def _held(self, s, task_id: str, worker_id: str | None) -> ExternalTaskRow:
        row = s.get(ExternalTaskRow, task_id)
        if row is None:
            raise NotFoundError(f"no external task {task_id!r} (completed, cancelled or unknown)")
        if worker_id is not None and row.state == "locked" and row.lock_owner != worker_id:
            raise ConflictError(f"external task {task_id} is locked by another worker")
        if worker_id is not None and row.state != "locked":
            raise ConflictError(f"external task {task_id} is not locked (state {row.state}); "
                                "fetch and lock it first")
        return row

    def get(self, task_id: str) -> LockedTask:
        with self.db.session() as s:
            row = s.get(ExternalTaskRow, task_id)
            if row is None:
                raise NotFoundError(f"no external task {task_id!r}")
            return self._locked(row)

    def list(self, topic: str | None = None, instance_id: str | None = None) -> list[LockedTask]:
        with self.db.session() as s:
            q = select(ExternalTaskRow).order_by(ExternalTaskRow.created_at)
            if topic:
                q = q.where(ExternalTaskRow.topic == topic)
            if instance_id:
                q = q.where(ExternalTaskRow.instance_id == instance_id)
            return [self._locked(r) for r in s.scalars(q).all()]

    # ------------------------------------------------------------------ complete / error

    def complete(self, task_id: str, worker_id: str | None, variables: dict[str, Any] | None = None,
                 local_variables: dict[str, Any] | None = None) -> None:
        """Complete a locked task with result variables and advance its instance."""
        _check_variables(variables)
        _check_variables(local_variables, "localVariables")
        instance_id = self._instance_of(task_id)

        def action(workflow, txn: Txn):
            row = self._held(txn.session, task_id, worker_id)
            task = self._spiff_task(workflow, row)
            spec = task.task_spec
            local = dict(row.variables or {})
            local.update(local_variables or {})
            local.update(variables or {})
            if spec.result_variable and variables is not None and spec.result_variable not in local:
                local[spec.result_variable] = variables
            outputs = apply_outputs(workflow.script_engine, spec.io, local, spec.bpmn_id)
            # what the process scope had stays; the task's results are merged on top
            task.data.update({k: v for k, v in outputs.items()
                              if spec.io.outputs or k in (variables or {}) or k not in task.data})
            task.run()
            txn.record("activity.completed", spec.bpmn_id, spec.bpmn_name)
            txn.record("external_task.completed", spec.bpmn_id, spec.topic, worker_id=worker_id,
                       attempt=row.attempts, variables=variables or {})
            if row.state == "incident" or txn.row.status == "incident":
                # only a task in state "incident" can have an open incident (see _open_incident)
                self.engine._resolve_incidents(txn, external_task_id=row.id, reason="completed")
            txn.session.delete(row)

        self._on_instance(instance_id, task_id, action, pending=variables)

    def bpmn_error(self, task_id: str, worker_id: str | None, error_code: str,
                   message: str = "", variables: dict[str, Any] | None = None) -> bool:
        """Throw a BPMN error from the task; returns whether a boundary event caught it.

        An error nobody catches opens an incident instead of silently ending the process.
        """
        if not error_code:
            raise ValidationError("errorCode is required")
        _check_variables(variables)
        instance_id = self._instance_of(task_id)

        def action(workflow, txn: Txn):
            row = self._held(txn.session, task_id, worker_id)
            task = self._spiff_task(workflow, row)
            payload = dict(variables or {})
            thrown = ErrorEventDefinition(error_code, code=error_code)
            thrown.message = message  # read by camunda:errorMessageVariable
            event = BpmnEvent(thrown, payload=payload, target=task.workflow)
            count = workflow.event_manager.catch(event, internal=False)
            # Not caught by a boundary event, SpiffWorkflow passes the error up to the
            # process, where an error event subprocess may take it (the count is then 0).
            unhandled = any(e is event for e in workflow.bpmn_events)
            workflow.bpmn_events = [e for e in workflow.bpmn_events if e is not event]
            caught = bool(count) or (event.target is None and not unhandled)
            if caught and not count:
                interrupt_for_event_subprocess(workflow)
            txn.record("bpmn_error.thrown", row.activity_id, error_code, message=message,
                       caught=bool(caught), variables=payload)
            if caught:
                txn.session.delete(row)
                self.engine._resolve_incidents(txn, external_task_id=row.id, reason="error caught")
                return True
            self._open_incident(txn, row, "unhandledBpmnError",
                                f"BPMN error {error_code!r} was not caught by any boundary event"
                                + (f": {message}" if message else ""))
            return False

        return self.engine._with_instance(instance_id, action)

    def fail(self, task_id: str, worker_id: str | None, error_message: str,
             error_details: str | None = None, retries: int | None = None,
             retry_timeout_ms: int | None = None) -> None:
        """Record a failed attempt: schedule a retry, or open an incident when none are left."""
        instance_id = self._instance_of(task_id)

        def action(workflow, txn: Txn):
            row = self._held(txn.session, task_id, worker_id)
            if retries is None:
                attempts, interval = parse_retry_cycle(row.retry_cycle)
                left = max(attempts - row.attempts, 0)
            else:
                left = max(int(retries), 0)
                interval = timedelta(milliseconds=retry_timeout_ms or 0)
            row.retries = left
            row.last_error = (error_message or "task failed")[:4000]
            row.error_details = error_details[:20000] if error_details else None
            row.lock_owner = None
            row.lock_expires_at = None
            txn.record("external_task.failed", row.activity_id, row.topic,
                       error=row.last_error, attempt=row.attempts, retries_left=left)
            if left > 0:
                row.state = "available"
                row.next_attempt_at = clock.now() + interval
            else:
                self._open_incident(txn, row, "failedExternalTask", row.last_error)

        self.engine._with_instance(instance_id, action)

    def extend_lock(self, task_id: str, worker_id: str, seconds: float) -> None:
        if seconds <= 0:
            raise ValidationError("newDuration must be positive")
        with self.db.write_session() as s:
            row = self._held(s, task_id, worker_id)
            row.lock_expires_at = clock.now() + timedelta(seconds=seconds)

    def unlock(self, task_id: str) -> None:
        with self.db.write_session() as s:
            row = s.get(ExternalTaskRow, task_id)
            if row is None:
                raise NotFoundError(f"no external task {task_id!r}")
            if row.state == "locked":
                row.state, row.lock_owner, row.lock_expires_at = "available", None, None

    # ------------------------------------------------------------------ incidents

    def retry_incident(self, incident_id: str) -> dict[str, Any]:
        """Give the failed step one more attempt (a stored result is re-applied instead)."""
        with self.db.session() as s:
            incident = s.get(Incident, incident_id)
            if incident is None:
                raise NotFoundError(f"no incident {incident_id!r}")
            if incident.status != "open":
                raise ConflictError(f"incident {incident_id} is already {incident.status}")
            instance_id, task_id = incident.instance_id, incident.external_task_id

        def action(workflow, txn: Txn):
            incident = txn.session.get(Incident, incident_id)
            if incident is None or incident.status != "open":
                raise ConflictError(f"incident {incident_id} is no longer open")
            txn.record("operator.retry", incident.activity_id, incident.kind, incident_id=incident_id)
            row = txn.session.get(ExternalTaskRow, task_id) if task_id else None
            if row is not None:
                row.state, row.retries = "available", 1
                row.next_attempt_at = clock.now()
                row.lock_owner = row.lock_expires_at = None
            self.engine._resolve_incidents(txn, external_task_id=task_id, reason="retried")
            return row.pending_result if row is not None else None

        pending = self.engine._with_instance(instance_id, action)
        if pending is not None and task_id:
            self.complete(task_id, None, pending)
        return self.engine.get_instance(instance_id)

    # ------------------------------------------------------------------ helpers

    def _instance_of(self, task_id: str) -> str:
        known = self._instances.pop(task_id, None)
        if known is not None:
            return known
        with self.db.session() as s:
            row = s.get(ExternalTaskRow, task_id)
            if row is None:
                raise NotFoundError(f"no external task {task_id!r} (completed, cancelled or unknown)")
            return row.instance_id

    @staticmethod
    def _spiff_task(workflow, row: ExternalTaskRow):
        task = workflow.get_task_from_id(UUID(row.task_id)) if workflow is not None else None
        if task is None or not task.has_state(TaskState.READY):
            raise ConflictError(f"external task {row.id} no longer waits (instance moved on)")
        return task

    def _open_incident(self, txn: Txn, row: ExternalTaskRow, kind: str, message: str) -> None:
        row.state = "incident"
        row.lock_owner = row.lock_expires_at = None
        incident = Incident(id=str(uuid.uuid4()), instance_id=row.instance_id,
                            external_task_id=row.id, activity_id=row.activity_id, kind=kind,
                            message=message, status="open", created_at=clock.now())
        txn.session.add(incident)
        txn.row.status = "incident"
        txn.record("incident.opened", row.activity_id, kind, incident_id=incident.id,
                   message=message)

    def _on_instance(self, instance_id: str, task_id: str, action, pending) -> None:
        """Run a completion; if advancing afterwards fails, keep the result and open an incident."""
        try:
            self.engine._with_instance(instance_id, action)
        except ExecutionError as exc:
            def record_failure(workflow, txn: Txn):
                row = txn.session.get(ExternalTaskRow, task_id)
                if row is None:
                    return
                row.pending_result = pending or {}
                self._open_incident(txn, row, "failedCompletion",
                                    f"completing the task failed: {exc.message}")
                txn.row.error = exc.message

            self.engine._with_instance(instance_id, record_failure)
            raise
