"""External tasks as operators see them (workers use ``/engine-rest/external-task``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, jsonify

from ..context import tasks
from ..openapi import operation
from ..schemas import ExternalTaskQuery

bp = Blueprint("external_tasks", __name__, url_prefix="/api")


def describe(task) -> dict[str, Any]:
    out = asdict(task)
    out.pop("extra", None)
    out["lock_expires_at"] = task.lock_expires_at.isoformat() if task.lock_expires_at else None
    return out


@operation(bp, "/external-tasks", query=ExternalTaskQuery)
def list_tasks(query: ExternalTaskQuery):
    """External tasks, optionally of one topic or one instance."""
    return jsonify([describe(t) for t in tasks().list(topic=query.topic,
                                                      instance_id=query.instance_id)])


@operation(bp, "/external-tasks/<task_id>")
def get_task(task_id: str):
    """One external task."""
    return jsonify(describe(tasks().get(task_id)))
