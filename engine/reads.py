"""Read-only queries over the engine's tables: instances, history, incidents, definitions,
deployments, and the counts behind health checks and metrics. Nothing here writes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select, text

from . import statements
from .db import Database
from .errors import NotFoundError
from .outcome import OUTCOME_VARIABLE, has_outcome, outcome_of
from .persistence import (
    Deployment,
    ExternalTaskRow,
    Incident,
    Node,
    ProcessDefinition,
    ProcessInstance,
)
from .records import (
    HistoryRecord,
    IncidentRecord,
    InstanceRecord,
    ProcessDefinitionRecord,
    ResourceDeploymentRecord,
)
from .states import IncidentStatus, InstanceStatus

INSTANCES = statements.INSTANCES
INCIDENTS = statements.INCIDENTS
HISTORY = statements.HISTORY


def describe_instance(row: Mapping[Any, Any], incidents: Iterable[Mapping[Any, Any]] = (),
                      outcome_variable: str = OUTCOME_VARIABLE) -> InstanceRecord:
    return InstanceRecord(
        id=row["id"], definition_id=row["definition_id"], key=row["definition_key"],
        business_key=row["business_key"], status=InstanceStatus(row["status"]),
        outcome=outcome_of(row["variables"], outcome_variable),
        variables=row["variables"] or {}, active_activities=row["active_activities"] or [],
        error=row["error"], created_at=row["created_at"], ended_at=row["ended_at"] or None,
        incidents=[describe_incident(i) for i in incidents])


def describe_incident(i: Mapping[Any, Any]) -> IncidentRecord:
    return IncidentRecord(
        id=i["id"], instance_id=i["instance_id"], activity_id=i["activity_id"],
        external_task_id=i["external_task_id"], job_id=i["job_id"], kind=i["kind"],
        message=i["message"], status=IncidentStatus(i["status"]), created_at=i["created_at"],
        resolved_at=i["resolved_at"] or None)


class EngineReads:
    """Queries over one database, each in its own read transaction."""

    def __init__(self, db: Database, outcome_variable: str = OUTCOME_VARIABLE) -> None:
        self.db = db
        self.outcome_variable = outcome_variable

    def instance(self, instance_id: str) -> InstanceRecord:
        with self.db.connection() as s:
            row = s.execute(statements.INSTANCE_BY_ID, {"id": instance_id}).mappings().first()
            if row is None:
                raise NotFoundError(f"no process instance {instance_id!r}")
            incidents = s.execute(select(INCIDENTS).where(
                INCIDENTS.c.instance_id == instance_id, INCIDENTS.c.status == IncidentStatus.OPEN)
                .order_by(INCIDENTS.c.created_at)).mappings().all()
            return describe_instance(row, incidents, self.outcome_variable)

    def instances(self, *, status: str | None = None, key: str | None = None,
                  business_key: str | None = None, limit: int = 100,
                  offset: int = 0, outcome: str | None = None) -> list[InstanceRecord]:
        q = select(INSTANCES).order_by(INSTANCES.c.created_at.desc(), INSTANCES.c.id)
        if status:
            q = q.where(INSTANCES.c.status == status)
        if key:
            q = q.where(INSTANCES.c.definition_key == key)
        if business_key:
            q = q.where(INSTANCES.c.business_key == business_key)
        if outcome:
            q = q.where(has_outcome(outcome, self.outcome_variable))
        with self.db.session() as s:
            return [describe_instance(r, (), self.outcome_variable) for r in
                    s.execute(q.limit(limit).offset(offset)).mappings().all()]

    def history(self, instance_id: str) -> list[HistoryRecord]:
        with self.db.session() as s:
            rows = s.execute(select(HISTORY).where(HISTORY.c.instance_id == instance_id)
                             .order_by(HISTORY.c.id)).mappings().all()
            if not rows and s.execute(select(INSTANCES.c.id).where(
                    INSTANCES.c.id == instance_id)).first() is None:
                raise NotFoundError(f"no process instance {instance_id!r}")
            return [HistoryRecord(id=h["id"], at=h["at"], kind=h["kind"],
                                  activity_id=h["activity_id"], name=h["name"], data=h["data"])
                    for h in rows]

    def incidents(self, status: str | None = IncidentStatus.OPEN) -> list[IncidentRecord]:
        q = select(INCIDENTS).order_by(INCIDENTS.c.created_at)
        if status:
            q = q.where(INCIDENTS.c.status == status)
        with self.db.session() as s:
            return [describe_incident(i) for i in s.execute(q).mappings().all()]

    def definitions(self, key: str | None = None,
                    latest_only: bool = False) -> list[ProcessDefinitionRecord]:
        from .deployments import DefinitionStore

        with self.db.session() as s:
            q = select(ProcessDefinition).order_by(ProcessDefinition.key,
                                                   ProcessDefinition.version)
            if key:
                q = q.where(ProcessDefinition.key == key)
            rows = list(s.scalars(q).all())
        if latest_only:
            latest: dict[str, ProcessDefinition] = {}
            for r in rows:
                latest[r.key] = r
            rows = list(latest.values())
        return [DefinitionStore.describe(r) for r in rows]

    def deployments(self, *, name: str | None = None, deployment_id: str | None = None,
                    limit: int | None = None, offset: int = 0) -> list[ResourceDeploymentRecord]:
        with self.db.session() as s:
            q = select(Deployment).order_by(Deployment.created_at, Deployment.id)
            if name is not None:
                q = q.where(Deployment.name == name)
            if deployment_id is not None:
                q = q.where(Deployment.id == deployment_id)
            q = q.offset(offset)
            if limit is not None:
                q = q.limit(limit)
            return [ResourceDeploymentRecord(d.id, d.name, d.source, d.tenant_id, d.created_at)
                    for d in s.scalars(q).all()]

    def count_deployments(self) -> int:
        with self.db.session() as s:
            return s.scalar(select(func.count()).select_from(Deployment)) or 0

    def counts(self) -> dict[str, dict[str, int]]:
        """Instances by status, external tasks by state, incidents by status, nodes by kind."""
        out: dict[str, dict[str, int]] = {}
        with self.db.session() as s:
            for label, column in (("instances", ProcessInstance.status),
                                  ("external_tasks", ExternalTaskRow.state),
                                  ("incidents", Incident.status), ("nodes", Node.kind)):
                rows = s.execute(select(column, func.count()).group_by(column)).all()
                out[label] = {str(k): int(v) for k, v in rows}
        return out

    def ping(self) -> None:
        """Raise when the database cannot answer a trivial query."""
        with self.db.session() as s:
            s.execute(text("SELECT 1"))

    def subscribers(self, kind: str, name: str) -> tuple[list[str], list[str]]:
        """(definition ids with a ``kind``-start event, instance ids waiting) for ``name``."""
        with self.db.connection() as conn:
            rows = conn.execute(statements.SUBSCRIBERS,
                                {"kinds": [kind, f"{kind}-start"], "name": name}).all()
        return ([r.definition_id for r in rows if r.definition_id],
                [r.instance_id for r in rows if r.instance_id])
