"""The engine facade: start, signal, message, timers and queries over persisted instances.

Every change to an instance is one transaction: load the instance, apply the change, advance
to the next wait states, write state + wait-state index + history, commit. A conflicting
writer (optimistic lock on ``version``) makes the loser reload and try again.
"""

from __future__ import annotations

import logging
import uuid
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator
from uuid import UUID

from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.util.task import TaskState

from . import clock, inspection, jsonsafe
from .bpmn.specs import ExternalTask, apply_inputs
from .bpmn.workflow import ExpressionEngine, dump_state, load_state, run_engine_steps
from .db import Database
from .deployments import DefinitionStore, DeploymentResult, next_cycle_due
from .errors import ConcurrentUpdateError, ConflictError, MlcError, NotFoundError, ValidationError
from .handlers import HandlerRegistry
from .instances import (active_activities, current_variables, jsonable, ready_external_tasks,
                        scalar_text, visible, wanted_subscriptions)
from .notify import note_created
from .persistence import (EventSubscription, ExternalTaskRow, HistoryEvent, Incident,
                          InstanceVariable, ProcessDefinition, ProcessInstance)

log = logging.getLogger("mlc.engine")

MAX_ATTEMPTS = 20
DEFAULT_RETRY_CYCLE = "R3/PT10S"


class ExecutionError(MlcError):
    """Advancing an instance failed (bad expression at run time, engine error): rolled back."""

    code = "execution_error"
    status = 422


class Txn:
    """What one instance transaction collects: history to append, and its session."""

    def __init__(self, session: Session, row: ProcessInstance) -> None:
        self.session = session
        self.row = row
        self.history: list[dict[str, Any]] = []

    def record(self, kind: str, activity_id: str | None = None, name: str | None = None,
               **data: Any) -> None:
        self.history.append(dict(instance_id=self.row.id, at=clock.now(), kind=kind,
                                 activity_id=activity_id, name=name, data=jsonable(data)))

    def write_history(self) -> None:
        """Append the recorded events in one multi-row INSERT.

        History is append-only and never read back in the transaction, so the ORM's per-row
        INSERT (it fetches each generated id) is avoidable: it was a third of the statements
        of a typical instance transaction.
        """
        if self.history:
            self.session.execute(insert(HistoryEvent.__table__), self.history)
            self.history = []


def _compile_template(text: str):
    from .expressions import compile_template

    return compile_template(text)


def _load_dmn(data: bytes, filename: str):
    from .dmn import load_dmn

    return load_dmn(data, filename)


class Engine:
    """The durable BPMN engine over one database.

    Args:
        db: the database (SQLite or PostgreSQL).
        handlers: topic handlers run by this process's workers (others wait for external ones).
        allow_scripts: accept script tasks (``MLC_ALLOW_SCRIPTS=1``); off by default.
    """

    def __init__(self, db: Database, handlers: HandlerRegistry | None = None, *,
                 allow_scripts: bool = False) -> None:
        self.db = db
        self.handlers = handlers or HandlerRegistry()
        self.allow_scripts = allow_scripts
        self.definitions = DefinitionStore(allow_scripts, _compile_template, _load_dmn)

    # ------------------------------------------------------------------ deployment & queries

    def deploy(self, files: Iterable[tuple[str, bytes]], name: str = "", *, source: str | None = None,
               duplicate_filtering: bool = True, tenant_id: str | None = None) -> DeploymentResult:
        """Validate and store BPMN/DMN files; unchanged processes are filtered, changed ones get n+1."""
        with self.db.write_session() as s:
            return self.definitions.deploy(s, list(files), name, source, duplicate_filtering,
                                           tenant_id)

    def list_definitions(self, key: str | None = None, latest_only: bool = False) -> list[dict]:
        with self.db.session() as s:
            q = select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version)
            if key:
                q = q.where(ProcessDefinition.key == key)
            rows = s.scalars(q).all()
        if latest_only:
            latest: dict[str, ProcessDefinition] = {}
            for r in rows:
                latest[r.key] = r
            rows = list(latest.values())
        return [DefinitionStore.describe(r) for r in rows]

    def get_instance(self, instance_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            row = s.get(ProcessInstance, instance_id)
            if row is None:
                raise NotFoundError(f"no process instance {instance_id!r}")
            incidents = s.scalars(select(Incident).where(Incident.instance_id == instance_id,
                                                         Incident.status == "open")).all()
            return self._describe(row, incidents)

    @staticmethod
    def _describe(row: ProcessInstance, incidents=()) -> dict[str, Any]:
        return {
            "id": row.id, "definition_id": row.definition_id, "key": row.definition_key,
            "business_key": row.business_key, "status": row.status, "variables": row.variables,
            "active_activities": row.active_activities, "error": row.error,
            "created_at": row.created_at.isoformat(),
            "ended_at": row.ended_at.isoformat() if row.ended_at else None,
            "incidents": [Engine._describe_incident(i) for i in incidents],
        }

    @staticmethod
    def _describe_incident(i: Incident) -> dict[str, Any]:
        return {"id": i.id, "instance_id": i.instance_id, "activity_id": i.activity_id,
                "external_task_id": i.external_task_id, "kind": i.kind, "message": i.message,
                "status": i.status, "created_at": i.created_at.isoformat(),
                "resolved_at": i.resolved_at.isoformat() if i.resolved_at else None}

    def list_instances(self, *, status: str | None = None, key: str | None = None,
                       business_key: str | None = None, limit: int = 100,
                       offset: int = 0) -> list[dict[str, Any]]:
        with self.db.session() as s:
            q = select(ProcessInstance).order_by(ProcessInstance.created_at.desc(), ProcessInstance.id)
            if status:
                q = q.where(ProcessInstance.status == status)
            if key:
                q = q.where(ProcessInstance.definition_key == key)
            if business_key:
                q = q.where(ProcessInstance.business_key == business_key)
            return [self._describe(r) for r in s.scalars(q.limit(limit).offset(offset)).all()]

    def list_deployments(self, *, name: str | None = None, deployment_id: str | None = None,
                         limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        return inspection.deployments(self.db, name=name, deployment_id=deployment_id,
                                      limit=limit, offset=offset)

    def count_deployments(self) -> int:
        return inspection.count_deployments(self.db)

    def counts(self) -> dict[str, dict[str, int]]:
        """Instances by status, external tasks by state, incidents by status."""
        return inspection.counts(self.db)

    def ping(self) -> None:
        """Raise when the database cannot answer a trivial query."""
        inspection.ping(self.db)

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        with self.db.session() as s:
            if s.get(ProcessInstance, instance_id) is None and not s.scalar(
                    select(func.count()).where(HistoryEvent.instance_id == instance_id)):
                raise NotFoundError(f"no process instance {instance_id!r}")
            rows = s.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
                             .order_by(HistoryEvent.id)).all()
            return [{"id": h.id, "at": h.at.isoformat(), "kind": h.kind,
                     "activity_id": h.activity_id, "name": h.name, "data": h.data} for h in rows]

    def incidents(self, status: str | None = "open") -> list[dict[str, Any]]:
        with self.db.session() as s:
            q = select(Incident).order_by(Incident.created_at)
            if status:
                q = q.where(Incident.status == status)
            return [self._describe_incident(i) for i in s.scalars(q).all()]

    # ------------------------------------------------------------------ instance transactions

    def _script_engine(self, row: ProcessInstance) -> ExpressionEngine:
        se = ExpressionEngine(_compile_template, self._decide, self.allow_scripts)
        se.execution = {"processInstanceId": row.id, "processBusinessKey": row.business_key,
                        "businessKey": row.business_key,
                        "processDefinitionId": row.definition_id}
        return se

    def _load(self, s: Session, row: ProcessInstance) -> BpmnWorkflow:
        spec, subs = self.definitions.spec_by_id(s, row.definition_id)
        return load_state(row.state, spec, subs, self._script_engine(row))

    def _with_instance(self, instance_id: str, action: Callable[[BpmnWorkflow, Txn], Any],
                       *, missing_ok: bool = False, advance: bool = True) -> Any:
        """Run ``action`` on the instance and advance it, in one transaction, retrying conflicts."""
        for _attempt in range(MAX_ATTEMPTS):
            try:
                with self.db.write_session() as s:
                    q = select(ProcessInstance).where(ProcessInstance.id == instance_id)
                    row = s.scalars(q).first()
                    if row is None:
                        if missing_ok:
                            return None
                        raise NotFoundError(f"no process instance {instance_id!r}")
                    txn = Txn(s, row)
                    workflow = self._load(s, row) if row.status not in ("completed", "terminated") else None
                    result = action(workflow, txn)
                    if workflow is not None and advance:
                        self._advance(workflow, txn)
                    txn.write_history()
                    return result
            except StaleDataError:
                continue
        raise ConcurrentUpdateError(f"instance {instance_id} kept changing under us; gave up")

    def _advance(self, workflow: BpmnWorkflow, txn: Txn) -> None:
        """Run to wait states and write everything that follows from them."""
        row = txn.row
        with _execution_errors(row.id):
            run_engine_steps(workflow, did_complete_task=self._history_hook(txn))
        self._sync_external_tasks(workflow, txn)
        self._sync_subscriptions(workflow, txn)
        self._write_variables(workflow, txn)
        row.state = dump_state(workflow)
        row.active_activities = active_activities(workflow)
        row.updated_at = clock.now()
        if workflow.completed:
            if row.status != "completed":
                row.status = "completed"
                row.ended_at = clock.now()
                txn.record("instance.completed")
            self._drop_wait_rows(txn)
        elif row.status != "incident":
            row.status = "waiting"

    @staticmethod
    def _history_hook(txn: Txn) -> Callable:
        def completed(task) -> None:
            if visible(task):
                txn.record("activity.completed", task.task_spec.bpmn_id,
                           getattr(task.task_spec, "bpmn_name", None))

        return completed

    def _sync_external_tasks(self, workflow: BpmnWorkflow, txn: Txn) -> None:
        s, row = txn.session, txn.row
        ready = {str(t.id): t for t in ready_external_tasks(workflow)}
        existing = {r.task_id: r for r in s.scalars(
            select(ExternalTaskRow).where(ExternalTaskRow.instance_id == row.id))}
        se = workflow.script_engine
        for task_id, task in ready.items():
            if task_id in existing:
                continue
            spec: ExternalTask = task.task_spec
            local = apply_inputs(se, spec.io, dict(task.data), spec.bpmn_id)
            s.add(ExternalTaskRow(
                id=str(uuid.uuid4()), instance_id=row.id, definition_key=row.definition_key,
                business_key=row.business_key, activity_id=spec.bpmn_id, task_id=task_id,
                topic=spec.topic, variables=jsonable(local), properties=spec.properties,
                idempotency_key=f"{row.id}:{task_id}", state="available",
                retry_cycle=spec.retry_cycle, next_attempt_at=clock.now(), created_at=clock.now()))
            txn.record("activity.started", spec.bpmn_id, spec.bpmn_name, topic=spec.topic)
            note_created(s, self.db, spec.topic)  # wakes long polls once this txn commits
        for task_id, ext in existing.items():
            if task_id not in ready:  # cancelled by a boundary event, a terminate, ...
                self._resolve_incidents(txn, external_task_id=ext.id, reason="task cancelled")
                s.delete(ext)

    def _sync_subscriptions(self, workflow: BpmnWorkflow, txn: Txn) -> None:
        s, row = txn.session, txn.row
        wanted = wanted_subscriptions(workflow)
        existing = s.scalars(select(EventSubscription).where(
            EventSubscription.instance_id == row.id)).all()
        have = {}
        for sub in existing:
            key = (sub.kind, sub.name, sub.task_id, sub.activity_id, sub.due_at)
            if key in wanted and key not in have:
                have[key] = sub
            else:
                s.delete(sub)
        for key in wanted - set(have):
            kind, name, task_id, activity_id, due = key
            s.add(EventSubscription(id=str(uuid.uuid4()), kind=kind, name=name, instance_id=row.id,
                                    task_id=task_id, activity_id=activity_id,
                                    business_key=row.business_key, due_at=due,
                                    created_at=clock.now()))
            txn.record("activity.waiting", activity_id, name,
                       event=kind, due_at=due.isoformat() if due else None)

    def _write_variables(self, workflow: BpmnWorkflow, txn: Txn) -> None:
        s, row = txn.session, txn.row
        new = jsonable(current_variables(workflow))
        old = row.variables or {}
        if new == old:
            return
        for name in sorted(set(old) | set(new)):
            if old.get(name, _MISSING) != new.get(name, _MISSING):
                txn.record("variable.changed", None, name, old=old.get(name), new=new.get(name),
                           created=name not in old, deleted=name not in new)
        indexed = {v.name: v for v in s.scalars(select(InstanceVariable).where(
            InstanceVariable.instance_id == row.id))}
        row.variables = new  # after the query: its autoflush would UPDATE the row twice
        for name, value in new.items():
            text = scalar_text(value)
            current = indexed.pop(name, None)
            if text is None:
                if current is not None:
                    s.delete(current)
            elif current is None:
                s.add(InstanceVariable(instance_id=row.id, name=name, value=text))
            elif current.value != text:
                current.value = text
        for leftover in indexed.values():
            s.delete(leftover)

    def _drop_wait_rows(self, txn: Txn) -> None:
        s, row = txn.session, txn.row
        s.execute(delete(EventSubscription).where(EventSubscription.instance_id == row.id))
        s.execute(delete(InstanceVariable).where(InstanceVariable.instance_id == row.id))
        for ext in s.scalars(select(ExternalTaskRow).where(ExternalTaskRow.instance_id == row.id)):
            self._resolve_incidents(txn, external_task_id=ext.id, reason="instance ended")
            s.delete(ext)

    def _resolve_incidents(self, txn: Txn, *, external_task_id: str | None = None,
                           reason: str = "") -> None:
        s = txn.session
        q = select(Incident).where(Incident.instance_id == txn.row.id, Incident.status == "open")
        if external_task_id:
            q = q.where(Incident.external_task_id == external_task_id)
        for incident in s.scalars(q):
            incident.status = "resolved"
            incident.resolved_at = clock.now()
            txn.record("incident.resolved", incident.activity_id, incident.kind,
                       incident_id=incident.id, reason=reason)
        if txn.row.status == "incident":
            s.flush()
            still_open = s.scalar(select(func.count()).where(
                Incident.instance_id == txn.row.id, Incident.status == "open"))
            if not still_open:
                txn.row.status = "waiting"

    # ------------------------------------------------------------------ starting

    def start(self, key: str, variables: dict[str, Any] | None = None,
              business_key: str | None = None, *, definition_id: str | None = None) -> dict[str, Any]:
        """Start the latest version of ``key`` (or a given definition id) with variables."""
        _check_variables(variables)
        with self.db.write_session() as s:
            definition = (self.definitions.definition(s, definition_id) if definition_id
                          else self.definitions.latest_definition(s, key))
            row = self._create_instance(s, definition, variables or {}, business_key, trigger=None)
            return self._describe(row)

    def _create_instance(self, s: Session, definition: ProcessDefinition, variables: dict,
                         business_key: str | None, trigger: tuple | None) -> ProcessInstance:
        spec, subs = self.definitions.spec_for(s, definition)
        row = ProcessInstance(id=str(uuid.uuid4()), definition_id=definition.id,
                              definition_key=definition.key, business_key=business_key,
                              status="running", state="", variables={}, active_activities=[],
                              created_at=clock.now(), updated_at=clock.now())
        workflow = BpmnWorkflow(spec, subs, script_engine=self._script_engine(row))
        for task in workflow.get_tasks():
            task.data.update(variables)
        s.add(row)
        txn = Txn(s, row)
        txn.record("instance.started", None, definition.key, definition_id=definition.id,
                   business_key=business_key, trigger=trigger[0] if trigger else "api",
                   variables=variables)
        try:
            with _execution_errors(row.id):
                self._fire_start(workflow, trigger, variables, self._history_hook(txn))
            self._advance(workflow, txn)
        except ExecutionError:
            s.expunge(row)
            raise
        s.flush()
        txn.write_history()
        return row

    def _fire_start(self, workflow: BpmnWorkflow, trigger: tuple | None, variables: dict,
                    on_complete: Callable) -> None:
        """Fire the start event that matches the trigger; cancel the other start events."""
        # Several start events sit behind a split task; a none start event runs on from here.
        run_engine_steps(workflow, did_complete_task=on_complete)
        starts = [t for t in workflow.get_tasks(state=TaskState.WAITING | TaskState.READY)
                  if t.workflow is workflow and isinstance(t.task_spec, StartEvent)]
        waiting = [t for t in starts if t.has_state(TaskState.WAITING)]
        if trigger is None:
            if len(waiting) == len(starts) and waiting:  # no none start event: fire the first
                chosen = waiting[0]
                chosen._set_internal_data(event_fired=True)
                chosen.task_spec._update(chosen)
            fired = [t for t in starts if t.has_state(TaskState.READY)]
        else:
            kind, name = trigger
            if kind == "timer":
                fired = [t for t in waiting if t.task_spec.bpmn_id == name][:1]
                for t in fired:
                    t._set_internal_data(event_fired=True)
                    t.task_spec._update(t)
            else:
                definition = SignalEventDefinition(name) if kind == "signal" else MessageEventDefinition(name)
                fired = [t for t in waiting if t.task_spec.catches(t, BpmnEvent(definition, variables))][:1]
                for t in fired:
                    t.task_spec.catch(t, BpmnEvent(definition, dict(variables)))
                    t.task_spec._update(t)
        for t in starts:
            if t not in fired and t.has_state(TaskState.WAITING):
                workflow.event_manager.remove_task(t)
                t.cancel()

    # ------------------------------------------------------------------ signals and messages

    def signal(self, name: str, variables: dict[str, Any] | None = None) -> dict[str, list[str]]:
        """Broadcast a signal: start every subscribed definition, resume every waiting instance."""
        if not name or not isinstance(name, str):
            raise ValidationError("a signal needs a name")
        _check_variables(variables)
        variables = dict(variables or {})
        started: list[str] = []
        with self.db.write_session() as s:
            definition_ids = s.scalars(select(EventSubscription.definition_id).where(
                EventSubscription.kind == "signal-start", EventSubscription.name == name)).all()
            for definition_id in sorted(set(definition_ids)):
                definition = self.definitions.definition(s, definition_id)
                row = self._create_instance(s, definition, variables, variables.get("businessKey"),
                                            trigger=("signal", name))
                started.append(row.id)
        with self.db.session() as s:
            instance_ids = s.scalars(select(EventSubscription.instance_id).where(
                EventSubscription.kind == "signal", EventSubscription.name == name)
                .distinct()).all()
        resumed = []
        for instance_id in sorted(set(instance_ids) - set(started)):
            if self._with_instance(instance_id, lambda wf, txn: self._deliver(
                    wf, txn, SignalEventDefinition(name), variables, "signal.received", name),
                    missing_ok=True):
                resumed.append(instance_id)
        return {"started": started, "resumed": resumed}

    def _deliver(self, workflow, txn: Txn, definition, variables: dict, kind: str, name: str) -> bool:
        if workflow is None:
            return False
        event = BpmnEvent(definition, dict(variables))
        caught = workflow.event_manager.catch(event, internal=False)
        if caught:
            txn.record(kind, None, name, variables=variables)
        return bool(caught)

    def correlate_message(self, name: str, *, business_key: str | None = None,
                          correlation: dict[str, Any] | None = None,
                          variables: dict[str, Any] | None = None,
                          all_instances: bool = False,
                          instance_id: str | None = None) -> list[str]:
        """Deliver a message to the instance waiting for it (by business key / variables).

        Starts a process with a matching message start event when no instance waits (not
        when ``instance_id`` names the one instance that may receive it, as Camunda's
        ``processInstanceId``). Raises NotFoundError when nothing matches, ConflictError
        when several instances match and ``all_instances`` is false.
        """
        if not name or not isinstance(name, str):
            raise ValidationError("a message needs a name")
        _check_variables(variables)
        _check_variables(correlation, "correlation")
        variables = dict(variables or {})
        with self.db.session() as s:
            q = select(EventSubscription.instance_id).where(
                EventSubscription.kind == "message", EventSubscription.name == name)
            if business_key is not None:
                q = q.where(EventSubscription.business_key == business_key)
            if instance_id is not None:
                q = q.where(EventSubscription.instance_id == instance_id)
            for i, (var, value) in enumerate(sorted((correlation or {}).items())):
                text = scalar_text(value)
                if text is None:
                    raise ValidationError(f"correlation value of {var!r} must be a string, number or boolean")
                alias = InstanceVariable.__table__.alias(f"v{i}")
                q = q.join(alias, and_(alias.c.instance_id == EventSubscription.instance_id,
                                       alias.c.name == var, alias.c.value == text))
            instance_ids = sorted(set(s.scalars(q.distinct()).all()))
        if len(instance_ids) > 1 and not all_instances:
            raise ConflictError(f"message {name!r} matches {len(instance_ids)} waiting instances; "
                                "narrow the correlation or correlate all")
        delivered = []
        for instance_id in instance_ids:
            if self._with_instance(instance_id, lambda wf, txn: self._deliver(
                    wf, txn, MessageEventDefinition(name), variables, "message.received", name),
                    missing_ok=True):
                delivered.append(instance_id)
        if delivered:
            return delivered
        with self.db.write_session() as s:
            definition_ids = [] if instance_id is not None else s.scalars(
                select(EventSubscription.definition_id).where(
                    EventSubscription.kind == "message-start",
                    EventSubscription.name == name)).all()
            for definition_id in sorted(set(definition_ids))[:None if all_instances else 1]:
                definition = self.definitions.definition(s, definition_id)
                row = self._create_instance(s, definition, {**(correlation or {}), **variables},
                                            business_key, trigger=("message", name))
                delivered.append(row.id)
        if not delivered:
            raise NotFoundError(f"no waiting instance for message {name!r}"
                                + (f" with business key {business_key!r}" if business_key else "")
                                + (f" and correlation {correlation}" if correlation else ""))
        return delivered

    # ------------------------------------------------------------------ timers

    def fire_due_timers(self, limit: int = 100) -> int:
        """Fire every timer due now (exactly once each); return how many fired."""
        now = clock.now()
        fired = 0
        with self.db.session() as s:
            due = s.execute(select(EventSubscription.id, EventSubscription.kind,
                                   EventSubscription.instance_id)
                            .where(EventSubscription.kind.in_(("timer", "timer-start")),
                                   EventSubscription.due_at <= now)
                            .order_by(EventSubscription.due_at).limit(limit)).all()
        for sub_id, kind, instance_id in due:
            if kind == "timer":
                if self._with_instance(instance_id, lambda wf, txn, sid=sub_id: self._fire_timer(wf, txn, sid),
                                       missing_ok=True):
                    fired += 1
            elif self._fire_timer_start(sub_id):
                fired += 1
        return fired

    def _fire_timer(self, workflow, txn: Txn, sub_id: str) -> bool:
        sub = txn.session.get(EventSubscription, sub_id)
        if workflow is None or sub is None:
            return False  # fired by someone else meanwhile
        task = workflow.get_task_from_id(UUID(sub.task_id))
        if task is None:
            return False
        task.task_spec._update(task)
        workflow.refresh_timers()
        txn.record("timer.fired", sub.activity_id, None, due_at=sub.due_at.isoformat())
        return True

    def _fire_timer_start(self, sub_id: str) -> bool:
        with self.db.write_session() as s:
            q = select(EventSubscription).where(EventSubscription.id == sub_id)
            if self.db.dialect == "postgresql":
                q = q.with_for_update(skip_locked=True)
            sub = s.scalars(q).first()
            if sub is None or sub.due_at > clock.now():
                return False
            definition = self.definitions.definition(s, sub.definition_id)
            due = sub.due_at
            nxt, config = next_cycle_due(sub.config, due)
            if nxt is None:
                s.delete(sub)
            else:
                sub.due_at, sub.config = nxt, config
            self._create_instance(s, definition, {}, None, trigger=("timer", sub.activity_id))
            return True

    # ------------------------------------------------------------------ operator actions

    def terminate(self, instance_id: str, reason: str = "") -> dict[str, Any]:
        def action(workflow, txn: Txn):
            row = txn.row
            if row.status in ("completed", "terminated"):
                raise ConflictError(f"instance {instance_id} has already ended ({row.status})")
            workflow.cancel()
            row.status = "terminated"
            row.ended_at = clock.now()
            txn.record("instance.terminated", None, None, reason=reason)
            self._drop_wait_rows(txn)
            row.state = dump_state(workflow)
            row.active_activities = []
            return self._describe(row)

        return self._with_instance(instance_id, action, advance=False)

    def set_variables(self, instance_id: str, variables: dict[str, Any], *,
                      reason: str = "") -> dict[str, Any]:
        """Set process-scope variables of a live instance: an operator's audited edit.

        One transaction: every live token of the instance's own scope gets the values (so
        the instance exposes them at once), external tasks not held by a worker recompute
        their inputs from them (a retried incident sees the fix; a locked task keeps what its
        worker fetched), and history gets a ``variable.changed`` entry per changed value plus
        one ``operator.set_variables`` entry with the names and the reason.

        Raises:
            ValidationError: no variables, or a name that is not a non-empty string.
            NotFoundError: no such instance.
            ConflictError: the instance has ended.
        """
        _check_variables(variables)
        if not variables:
            raise ValidationError("no variables to set")
        values = jsonable(variables)

        def action(workflow, txn: Txn) -> None:
            if workflow is None:
                raise ConflictError(f"instance {instance_id} has ended ({txn.row.status}); "
                                    "its variables can no longer change")
            for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING
                                           | TaskState.STARTED):
                if task.workflow is workflow:
                    task.data.update(values)
            for ext in txn.session.scalars(select(ExternalTaskRow).where(
                    ExternalTaskRow.instance_id == txn.row.id,
                    ExternalTaskRow.state != "locked")):
                task = workflow.get_task_from_id(UUID(ext.task_id))
                if task is not None:
                    spec: ExternalTask = task.task_spec
                    ext.variables = jsonable(apply_inputs(workflow.script_engine, spec.io,
                                                          dict(task.data), spec.bpmn_id))
            txn.record("operator.set_variables", None, None, names=sorted(values),
                       reason=reason)

        self._with_instance(instance_id, action)
        return self.get_instance(instance_id)

    # ------------------------------------------------------------------ decisions

    def _decide(self, ref: str, variables: dict[str, Any], *, binding: str = "latest",
                version: Any = None, map_decision_result: str = "resultList",
                element_id: str | None = None) -> Any:
        from .dmn import map_decision_result as map_result

        with self.db.session() as s:
            model = self.definitions.decision_model(
                s, ref, version if binding == "version" else None)
        result = model.evaluate(ref, variables)
        return jsonable(map_result(result, map_decision_result))

    def evaluate_decision(self, key: str, variables: dict[str, Any],
                          version: int | None = None) -> Any:
        """Evaluate a deployed decision (the ``decision.evaluate`` topic uses this)."""
        with self.db.session() as s:
            model = self.definitions.decision_model(s, key, version)
        return model.evaluate(key, variables)


_MISSING = object()


@contextmanager
def _execution_errors(instance_id: str) -> Iterator[None]:
    """Report what went wrong while advancing an instance as an :class:`ExecutionError`."""
    try:
        yield
    except MlcError as exc:
        raise ExecutionError(f"instance {instance_id}: {exc.message}") from exc
    except (SpiffWorkflowException, WorkflowException) as exc:
        raise ExecutionError(f"instance {instance_id}: {exc}") from exc


def _check_variables(variables: Any, what: str = "variables") -> None:
    if variables is None:
        return
    if not isinstance(variables, dict) or not all(isinstance(k, str) and k for k in variables):
        raise ValidationError(f"{what} must be an object of name -> value")
    jsonsafe.check(variables, what)  # no NaN/Infinity, NUL or deep nesting, on both databases
