"""Camunda's task API for user tasks: list, get, claim, unclaim, complete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from engine.records import UserTaskRecord

from ..camunda_types import camunda_time
from ..context import application
from ..openapi import operation
from . import PREFIX
from .schemas import ClaimBody, CompleteTaskBody, TaskQuery, plain

bp = Blueprint("camunda_task", __name__, url_prefix=PREFIX)


def _task(t: UserTaskRecord) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "assignee": t.assignee, "owner": None,
            "created": camunda_time(t.created_at), "due": t.due_date,
            "followUp": t.follow_up_date, "delegationState": None, "description": None,
            "executionId": t.instance_id, "parentTaskId": None, "priority": t.priority,
            "processDefinitionId": t.definition_id, "processInstanceId": t.instance_id,
            "taskDefinitionKey": t.activity_id, "caseExecutionId": None,
            "caseInstanceId": None, "caseDefinitionId": None, "suspended": False,
            "formKey": t.form_key, "tenantId": None}


@operation(bp, "/task", query=TaskQuery)
def list_tasks(query: TaskQuery) -> Response:
    """User tasks by assignee, candidate group, instance or process key."""
    found = application().user_tasks.list(assignee=query.assignee,
                                      candidate_group=query.candidateGroup,
                                      instance_id=query.processInstanceId,
                                      process_key=query.processDefinitionKey,
                                      limit=query.maxResults)
    return jsonify([_task(t) for t in found])


@operation(bp, "/task/<task_id>")
def get_task(task_id: str) -> Response:
    """One user task."""
    return jsonify(_task(application().user_tasks.get(task_id)))


@operation(bp, "/task/<task_id>/claim", "POST", body=ClaimBody, responses={204: "claimed"})
def claim(task_id: str, body: ClaimBody) -> Response:
    """Claim the task for a user."""
    application().user_tasks.claim(task_id, body.userId)
    return Response(status=204)


@operation(bp, "/task/<task_id>/unclaim", "POST", responses={204: "unclaimed"})
def unclaim(task_id: str) -> Response:
    """Remove the task's assignee."""
    application().user_tasks.claim(task_id, None)
    return Response(status=204)


@operation(bp, "/task/<task_id>/complete", "POST", body=CompleteTaskBody,
           responses={204: "completed"})
def complete(task_id: str, body: CompleteTaskBody) -> Response:
    """Complete the task with (typed) variables."""
    application().user_tasks.complete(task_id, plain(body.variables))
    return Response(status=204)
