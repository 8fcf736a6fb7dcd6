"""Incidents: list, and retry the failed step."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from engine.ids import incident_id as full_id

from ..context import engine, tasks
from ..openapi import operation
from ..schemas import IncidentQuery

bp = Blueprint("incidents", __name__, url_prefix="/api")


@operation(bp, "/incidents", query=IncidentQuery)
def list_incidents(query: IncidentQuery) -> Response:
    """Open incidents (or resolved, or all)."""
    return jsonify(engine().incidents(None if query.status == "all" else query.status))


@operation(bp, "/incidents/<incident_id>/retry", "POST",
           responses={200: "retried; the instance", 404: "unknown", 409: "not open"})
def retry(incident_id: str) -> Response:
    """Give the failed step one more attempt (incident by id or a unique prefix of it)."""
    return jsonify(tasks().retry_incident(full_id(engine().db, incident_id)))
