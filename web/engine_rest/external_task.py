"""The external-task API that Camunda workers in any language speak.

``fetchAndLock`` long-polls until ``asyncResponseTimeout`` passes, holding no database
transaction while it waits. Behind ``mlc serve``'s front (:mod:`web.front`) the view never
waits itself: it answers at once with the time left in :data:`WAIT_HEADER`, and the front
waits without a thread, woken by :mod:`engine.notify`, and asks again. Served some other way
(the test client, another WSGI server) the view waits on the same wake-ups in its thread,
checking the database once a second as well. Either wait ends early at shutdown.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from engine.errors import ValidationError
from engine.notify import Waiter, availability_for

from ..context import application, engine, task_latency, tasks
from ..openapi import operation
from . import PREFIX, dtos
from .schemas import (
    BpmnErrorBody,
    CompleteBody,
    ExtendLockBody,
    ExternalTaskQuery,
    FailureBody,
    FetchAndLockBody,
    plain,
)

bp = Blueprint("camunda_external_task", __name__, url_prefix=PREFIX)

POLL_SECONDS = 1.0  # the threaded wait also re-checks the database this often
MAX_LONG_POLL_SECONDS = 1800.0  # Camunda's own ceiling; the app config may lower it
DEFER_HEADER = "X-MLC-Long-Poll"  # request: "defer" = do not wait here, say how long to wait
WAIT_HEADER = "X-MLC-Long-Poll-Wait"  # response: seconds the caller may still wait


def _stop_event() -> threading.Event:
    stop: threading.Event = current_app.extensions.setdefault("mlc_stop", threading.Event())
    return stop


def _claim(body: FetchAndLockBody) -> list[Any]:
    groups: dict[str | None, dict[str, float]] = {}
    for topic in body.topics:
        groups.setdefault(topic.businessKey, {})[topic.topicName] = topic.lockDuration / 1000
    claimed: list[Any] = []
    for business_key, lock_for in groups.items():
        wanted = body.maxTasks - len(claimed)
        if wanted <= 0:
            break
        claimed += tasks().fetch_and_lock(body.workerId, lock_for, wanted,
                                          business_key=business_key)
    return claimed


def _wait_and_claim(body: FetchAndLockBody, wait: float) -> list[Any]:
    """Claim, waiting in this thread up to ``wait`` seconds for tasks to turn up."""
    woken = threading.Event()
    waiter = Waiter({t.topicName for t in body.topics}, woken.set)
    availability = availability_for(application().db)
    deadline = time.monotonic() + wait
    stop = _stop_event()
    try:
        while True:
            woken.clear()
            availability.add(waiter)  # before the claim: a commit in between still wakes us
            claimed = _claim(body)
            remaining = deadline - time.monotonic()
            if claimed or remaining <= 0 or stop.is_set():
                return claimed
            woken.wait(min(POLL_SECONDS, remaining))
    finally:
        availability.remove(waiter)


@operation(bp, "/external-task/fetchAndLock", "POST", body=FetchAndLockBody,
           responses={200: "the locked tasks (possibly none)"})
def fetch_and_lock(body: FetchAndLockBody) -> ResponseReturnValue:
    """Claim up to ``maxTasks`` tasks of the given topics, long-polling when none are due."""
    for topic in body.topics:
        if topic.processVariables:
            raise ValidationError("filtering by processVariables is not supported; "
                                  "filter by topicName and businessKey")
    if not body.topics or body.maxTasks == 0:
        return jsonify([])
    wait = min((body.asyncResponseTimeout or 0) / 1000,
               current_app.config.get("MLC_MAX_LONG_POLL_SECONDS", MAX_LONG_POLL_SECONDS))
    if request.headers.get(DEFER_HEADER) == "defer":
        claimed = _claim(body)
        if not claimed and wait > 0:
            response = jsonify([])
            response.headers[WAIT_HEADER] = f"{wait:.3f}"
            return response
    else:
        claimed = _wait_and_claim(body, wait)
    options = {t.topicName: t for t in body.topics}
    definitions: dict[str, str] = {}
    out = []
    for task in claimed:
        task_latency().claimed(task.id, task.topic)
        if task.instance_id not in definitions:
            definitions[task.instance_id] = engine().get_instance(task.instance_id).definition_id
        topic = options[task.topic]
        out.append(dtos.external_task(task, definition_id=definitions[task.instance_id],
                                      names=topic.variables,
                                      with_properties=topic.includeExtensionProperties))
    return jsonify(out)


@operation(bp, "/external-task/<task_id>/complete", "POST", body=CompleteBody,
           responses={204: "completed", 404: "unknown task", 409: "not locked by this worker"})
def complete(task_id: str, body: CompleteBody) -> Response:
    """Complete a locked task with (typed) result variables."""
    tasks().complete(task_id, body.workerId, plain(body.variables),
                     plain(body.localVariables, "localVariables"))
    task_latency().reported(task_id, "completed")
    return Response(status=204)


@operation(bp, "/external-task/<task_id>/failure", "POST", body=FailureBody,
           responses={204: "recorded", 404: "unknown task", 409: "not locked by this worker"})
def failure(task_id: str, body: FailureBody) -> Response:
    """Report a failed attempt; ``retries`` 0 opens an incident."""
    tasks().fail(task_id, body.workerId, body.errorMessage or "task failed", body.errorDetails,
                 body.retries, body.retryTimeout)
    task_latency().reported(task_id, "failed")
    return Response(status=204)


@operation(bp, "/external-task/<task_id>/bpmnError", "POST", body=BpmnErrorBody,
           responses={204: "thrown", 404: "unknown task", 409: "not locked by this worker"})
def bpmn_error(task_id: str, body: BpmnErrorBody) -> Response:
    """Throw a BPMN error for a boundary event to catch (uncaught: an incident)."""
    tasks().bpmn_error(task_id, body.workerId, body.errorCode, body.errorMessage or "",
                       plain(body.variables))
    task_latency().reported(task_id, "bpmn_error")
    return Response(status=204)


@operation(bp, "/external-task/<task_id>/extendLock", "POST", body=ExtendLockBody,
           responses={204: "extended", 404: "unknown task", 409: "not locked by this worker"})
def extend_lock(task_id: str, body: ExtendLockBody) -> Response:
    """Extend the lock by ``newDuration`` milliseconds from now."""
    tasks().extend_lock(task_id, body.workerId, body.newDuration / 1000)
    return Response(status=204)


@operation(bp, "/external-task/<task_id>/unlock", "POST", responses={204: "unlocked"})
def unlock(task_id: str) -> Response:
    """Release a lock so another worker can take the task."""
    tasks().unlock(task_id)
    return Response(status=204)


def _query(query: ExternalTaskQuery) -> list[Any]:
    rows = tasks().list(topic=query.topicName, instance_id=query.processInstanceId)
    if query.workerId:
        rows = [t for t in rows if t.worker_id == query.workerId]
    if query.locked:
        rows = [t for t in rows if t.lock_expires_at is not None and t.worker_id]
    if query.notLocked:
        rows = [t for t in rows if not t.worker_id]
    return rows


@operation(bp, "/external-task", query=ExternalTaskQuery)
def list_tasks(query: ExternalTaskQuery) -> Response:
    """External tasks (without variables, as Camunda's query answers)."""
    rows = _query(query)[query.firstResult:]
    if query.maxResults is not None:
        rows = rows[:query.maxResults]
    return jsonify([dtos.external_task(t, with_variables=False, with_properties=False)
                    for t in rows])


@operation(bp, "/external-task/count", query=ExternalTaskQuery)
def count_tasks(query: ExternalTaskQuery) -> Response:
    """How many external tasks match."""
    return jsonify({"count": len(_query(query))})


@operation(bp, "/external-task/<task_id>")
def get_task(task_id: str) -> Response:
    """One external task."""
    return jsonify(dtos.external_task(tasks().get(task_id), with_variables=False,
                                      with_properties=False))
