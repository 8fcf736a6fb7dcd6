"""External tasks as operators see them (workers use ``/engine-rest/external-task``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response, jsonify

from engine import LockedTask
from engine.ids import external_task_id

from ..context import engine, tasks
from ..openapi import operation
from ..schemas import ExternalTaskQuery

bp = Blueprint("external_tasks", __name__, url_prefix="/api")


def describe(task: LockedTask) -> dict[str, Any]:
    out = asdict(task)
    out.pop("extra", None)
    out["lock_expires_at"] = task.lock_expires_at.isoformat() if task.lock_expires_at else None
    return out


@operation(bp, "/external-tasks", query=ExternalTaskQuery)
def list_tasks(query: ExternalTaskQuery) -> Response:
    """External tasks, optionally of one topic or one instance."""
    return jsonify([describe(t) for t in tasks().list(topic=query.topic,
                                                      instance_id=query.instance_id)])


@operation(bp, "/external-tasks/<task_id>")
def get_task(task_id: str) -> Response:
    """One external task (a unique prefix of its id will do)."""
    return jsonify(describe(tasks().get(external_task_id(engine().db, task_id))))
