"""Read-only queries over the engine's tables for operators: deployments, and the counts
behind health checks and metrics. ``Engine`` exposes them; nothing here writes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text

from .persistence import Deployment, ExternalTaskRow, Incident, ProcessInstance


def ping(db) -> None:
    """Raise when the database cannot answer a trivial query."""
    with db.session() as s:
        s.execute(text("SELECT 1"))


def _describe_deployment(d: Deployment) -> dict[str, Any]:
    return {"id": d.id, "name": d.name, "source": d.source, "tenant_id": d.tenant_id,
            "created_at": d.created_at}


def deployments(db, *, name: str | None = None, deployment_id: str | None = None,
                limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
    with db.session() as s:
        q = select(Deployment).order_by(Deployment.created_at, Deployment.id)
        if name is not None:
            q = q.where(Deployment.name == name)
        if deployment_id is not None:
            q = q.where(Deployment.id == deployment_id)
        q = q.offset(offset)
        if limit is not None:
            q = q.limit(limit)
        return [_describe_deployment(d) for d in s.scalars(q).all()]


def count_deployments(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Deployment)) or 0


def counts(db) -> dict[str, dict[str, int]]:
    """Instances by status, external tasks by state, incidents by status."""
    out: dict[str, dict[str, int]] = {}
    with db.session() as s:
        for label, column in (("instances", ProcessInstance.status),
                              ("external_tasks", ExternalTaskRow.state),
                              ("incidents", Incident.status)):
            rows = s.execute(select(column, func.count()).group_by(column)).all()
            out[label] = {str(k): int(v) for k, v in rows}
    return out
