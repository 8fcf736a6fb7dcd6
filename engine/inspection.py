"""Read-only queries the cockpit draws: deployed files, per-activity counts, throughput,
history pages, a deployment's dry run. (Instance reads, counts and health are in
``engine.reads``.) Nothing here writes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from .errors import NotFoundError, Problem, ValidationError
from .persistence import (
    DecisionDefinition,
    EventSubscription,
    ExternalTaskRow,
    HistoryEvent,
    Incident,
    Job,
    ProcessDefinition,
    ProcessInstance,
    Resource,
    UserTask,
)
from .records import HistoryRecord
from .states import IncidentStatus, InstanceStatus

if TYPE_CHECKING:
    from .db import Database
    from .deployments import DefinitionStore

# -- what an operator's cockpit draws (read-only, each one indexed query) --------------------

def definition_resource(db: Database, definition_id: str) -> dict[str, Any]:
    """The deployed file of a process definition, byte for byte (diagram interchange included)."""
    with db.session() as s:
        row = s.execute(select(ProcessDefinition, Resource.name, Resource.content)
                        .join(Resource, Resource.id == ProcessDefinition.resource_id)
                        .where(ProcessDefinition.id == definition_id)).first()
    if row is None:
        raise NotFoundError(f"no process definition with id {definition_id!r}")
    definition, name, content = row
    return {"definition_id": definition.id, "key": definition.key, "version": definition.version,
            "name": name, "content": content}


def decision_definitions(db: Database) -> list[dict[str, Any]]:
    """Every deployed decision version, by key then version."""
    with db.session() as s:
        rows = s.scalars(select(DecisionDefinition).order_by(
            DecisionDefinition.key, DecisionDefinition.version)).all()
        return [{"id": d.id, "key": d.key, "name": d.name, "version": d.version,
                 "deployment_id": d.deployment_id, "created_at": d.created_at} for d in rows]


def decision_resource(db: Database, key: str, version: int | None = None) -> dict[str, Any]:
    """The DMN file holding decision ``key`` (latest version, or the given one)."""
    with db.session() as s:
        q = (select(DecisionDefinition, Resource.name, Resource.content)
             .join(Resource, Resource.id == DecisionDefinition.resource_id)
             .where(DecisionDefinition.key == key))
        if version is not None:
            q = q.where(DecisionDefinition.version == version)
        row = s.execute(q.order_by(DecisionDefinition.version.desc()).limit(1)).first()
    if row is None:
        raise NotFoundError(f"no decision definition with key {key!r}"
                            + (f" version {version}" if version is not None else ""))
    decision, name, content = row
    return {"id": decision.id, "key": decision.key, "name": decision.name,
            "version": decision.version, "file": name, "content": content}


def instances_by_key_and_status(db: Database) -> dict[str, dict[str, int]]:
    """{process key: {status: count}} over every instance (one grouped, indexed query)."""
    out: dict[str, dict[str, int]] = {}
    with db.session() as s:
        rows = s.execute(select(ProcessInstance.definition_key, ProcessInstance.status,
                                func.count()).group_by(ProcessInstance.definition_key,
                                                       ProcessInstance.status)).all()
    for key, status, n in rows:
        out.setdefault(key, {})[status] = int(n)
    return out


def _hour(db: Database, column: Any) -> Any:  # a SQL expression: the hour as text
    if db.dialect == "postgresql":
        return func.to_char(column, 'YYYY-MM-DD"T"HH24')
    return func.strftime("%Y-%m-%dT%H", column)


def throughput_by_hour(db: Database, since: datetime) -> dict[str, dict[str, int]]:
    """{"YYYY-MM-DDTHH" (UTC): {"started": n, "completed": n}} for the hours since ``since``."""
    out: dict[str, dict[str, int]] = {}
    with db.session() as s:
        for label, column in (("started", ProcessInstance.created_at),
                              ("completed", ProcessInstance.ended_at)):
            hour = _hour(db, column)
            q = select(hour, func.count()).where(column >= since).group_by(hour)
            if label == "completed":
                q = q.where(ProcessInstance.status == InstanceStatus.COMPLETED)
            for bucket, n in s.execute(q).all():
                out.setdefault(bucket, {"started": 0, "completed": 0})[label] = int(n)
    return out


def waiting_by_activity(db: Database, definition_id: str) -> dict[str, int]:
    """{activity id: instances of this definition waiting there} from the wait-state index
    (external tasks, user tasks, jobs and event subscriptions), never from the instances'
    stored state."""
    counts: dict[str, set[str]] = {}
    with db.session() as s:
        for model in (ExternalTaskRow, UserTask, Job, EventSubscription):
            rows = s.execute(select(model.activity_id, model.instance_id).distinct()
                             .join(ProcessInstance, ProcessInstance.id == model.instance_id)
                             .where(ProcessInstance.definition_id == definition_id)).all()
            for activity_id, instance_id in rows:
                if activity_id and instance_id:  # (the join keeps only rows with one)
                    counts.setdefault(activity_id, set()).add(instance_id)
    return {activity: len(ids) for activity, ids in counts.items()}


def open_incidents_by_activity(db: Database, definition_id: str) -> dict[str, int]:
    """{activity id: open incidents} of the instances of one definition."""
    with db.session() as s:
        rows = s.execute(select(Incident.activity_id, func.count())
                         .join(ProcessInstance, ProcessInstance.id == Incident.instance_id)
                         .where(ProcessInstance.definition_id == definition_id,
                                Incident.status == IncidentStatus.OPEN)
                         .group_by(Incident.activity_id)).all()
    return {activity or "": int(n) for activity, n in rows}


def completions_by_activity(db: Database, definition_id: str) -> dict[str, int]:
    """{activity id: times completed} over the history of one definition's instances."""
    with db.session() as s:
        rows = s.execute(select(HistoryEvent.activity_id, func.count())
                         .join(ProcessInstance, ProcessInstance.id == HistoryEvent.instance_id)
                         .where(ProcessInstance.definition_id == definition_id,
                                HistoryEvent.kind == "activity.completed")
                         .group_by(HistoryEvent.activity_id)).all()
    return {activity: int(n) for activity, n in rows if activity}


def completed_activity_ids(db: Database, instance_id: str) -> list[str]:
    """The activities an instance has completed at least once (for shading its path)."""
    with db.session() as s:
        return sorted(a for a in s.scalars(
            select(HistoryEvent.activity_id).distinct().where(
                HistoryEvent.instance_id == instance_id,
                HistoryEvent.kind == "activity.completed")) if a)


def history_tail(db: Database, instance_id: str, limit: int = 200) -> dict[str, Any]:
    """The newest ``limit`` history entries of an instance (oldest first) and the total count,
    so a page of an instance that looped ten thousand times stays small."""
    with db.session() as s:
        total = s.scalar(select(func.count()).where(HistoryEvent.instance_id == instance_id)) or 0
        rows = s.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
                         .order_by(HistoryEvent.id.desc()).limit(limit)).all()
    entries = [HistoryRecord(id=h.id, at=h.at, kind=h.kind, activity_id=h.activity_id,
                             name=h.name, data=h.data) for h in reversed(rows)]
    return {"total": int(total), "entries": entries}


class _DryRun(Exception):
    """Raised inside a validation transaction so that nothing it wrote is kept."""


def validate_deployment(db: Database, definitions: DefinitionStore,
                        files: list[tuple[str, bytes]]) -> list[Problem]:
    """The located problems deploying ``files`` would report, without deploying them.

    Runs the very checks of a deployment (parse, Camunda dialect, model build, called
    processes) in a transaction that is always rolled back.
    """
    try:
        with db.write_session() as s:  # the checks read what is deployed; rolled back below
            definitions.deploy(s, list(files), "validation", "validation", False, None)
            raise _DryRun
    except _DryRun:
        return []
    except ValidationError as exc:
        return [p if isinstance(p, Problem) else Problem(str(p)) for p in exc.problems] \
            or [Problem(exc.message)]


def instance_rows(db: Database, *, status: str | None = None, key: str | None = None,
                  business_key: str | None = None, limit: int = 50,
                  offset: int = 0) -> dict[str, Any]:
    """A page of instances, newest first, without their variables or serialized state (a
    listing of thousands must not read them), and how many match in all."""
    light = (ProcessInstance.id, ProcessInstance.definition_id, ProcessInstance.definition_key,
             ProcessInstance.business_key, ProcessInstance.status,
             ProcessInstance.active_activities, ProcessInstance.created_at,
             ProcessInstance.ended_at)
    filters = []
    if status:
        filters.append(ProcessInstance.status == status)
    if key:
        filters.append(ProcessInstance.definition_key == key)
    if business_key:
        filters.append(ProcessInstance.business_key == business_key)
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(ProcessInstance).where(*filters)) or 0
        rows = s.execute(select(*light).where(*filters)
                         .order_by(ProcessInstance.created_at.desc(), ProcessInstance.id)
                         .limit(limit).offset(offset)).all()
    names = ("id", "definition_id", "key", "business_key", "status", "active_activities",
             "created_at", "ended_at")
    return {"total": int(total), "instances": [dict(zip(names, row)) for row in rows]}


def instance_subscriptions(db: Database, instance_id: str) -> list[dict[str, Any]]:
    """What an instance waits for: signal and message names, timers with their due time."""
    with db.session() as s:
        rows = s.scalars(select(EventSubscription).where(
            EventSubscription.instance_id == instance_id).order_by(
            EventSubscription.activity_id)).all()
        return [{"kind": r.kind, "name": r.name, "activity_id": r.activity_id,
                 "due_at": r.due_at} for r in rows]
