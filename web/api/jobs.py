"""Training, metrics and scoring jobs as recorded (they are run by process topics or the CLI),
and cancelling one that runs."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue
from pydantic import Field

from connectors.registry import JobState, JobType

from ..context import services
from ..openapi import operation
from ..schemas import Name, Query

bp = Blueprint("jobs", __name__, url_prefix="/api")


class JobQuery(Query):
    type: JobType | None = None
    snapshot_id: Name | None = None
    state: JobState | None = None
    limit: int = Field(default=100, ge=1, le=1000)


@operation(bp, "/jobs", query=JobQuery)
def list_jobs(query: JobQuery) -> Response:
    """Jobs, newest first, filtered by type, snapshot or state."""
    found = services().jobs.list(job_type=query.type, snapshot_id=query.snapshot_id,
                                  state=query.state, limit=query.limit)
    return jsonify([j.to_dict() for j in found])


@operation(bp, "/jobs/<job_id>", responses={200: "the job", 404: "unknown"})
def get_job(job_id: str) -> Response:
    """A job with its inputs, outputs, metrics, failure reason and log tail."""
    return jsonify(services().jobs.get(job_id).to_dict())


@operation(bp, "/jobs/<job_id>/cancel", "POST",
           responses={202: "cancel requested: the job is cancelling", 404: "unknown",
                      409: "the job has already finished"})
def cancel_job(job_id: str) -> ResponseReturnValue:
    """Ask the node running a job to stop it; it records the job as cancelled within seconds
    (its model processes are killed, its Dask tasks cancelled)."""
    return jsonify(services().jobs.cancel(job_id).to_dict()), 202
