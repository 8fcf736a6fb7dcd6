"""User tasks: list, read, claim and complete what people are asked to do."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue

from engine.ids import user_task_id
from engine.user_tasks import UserTaskService

from ..context import application
from ..openapi import operation
from ..schemas import ClaimRequest, CompleteUserTaskRequest, UserTaskQuery

bp = Blueprint("user_tasks", __name__, url_prefix="/api")


def user_tasks() -> UserTaskService:
    return application().user_tasks


def full_id(task_id: str) -> str:
    """The task's id from a unique prefix of it (as tables show ids cut short)."""
    return user_task_id(application().engine.db, task_id)


@operation(bp, "/user-tasks", query=UserTaskQuery)
def list_tasks(query: UserTaskQuery) -> Response:
    """Waiting user tasks, highest priority first, by assignee / candidate group / instance."""
    return jsonify(user_tasks().list(assignee=query.assignee,
                                     candidate_group=query.candidate_group,
                                     instance_id=query.instance_id,
                                     process_key=query.process_key, limit=query.limit))


@operation(bp, "/user-tasks/<task_id>")
def get_task(task_id: str) -> Response:
    """One user task with its form."""
    return jsonify(user_tasks().get(full_id(task_id)))


@operation(bp, "/user-tasks/<task_id>/claim", "POST", body=ClaimRequest,
           responses={200: "claimed", 409: "assigned to someone else"})
def claim(task_id: str, body: ClaimRequest) -> Response:
    """Assign the task to ``user`` (null unclaims it)."""
    return jsonify(user_tasks().claim(full_id(task_id), body.user))


@operation(bp, "/user-tasks/<task_id>/complete", "POST", body=CompleteUserTaskRequest,
           responses={204: "completed", 409: "assigned to someone else"})
def complete(task_id: str, body: CompleteUserTaskRequest) -> ResponseReturnValue:
    """Complete the task with variables; the process moves on."""
    user_tasks().complete(full_id(task_id), body.variables, body.user)
    return "", 204
