"""Operational routes: liveness with a database check, Prometheus metrics, the API document."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from engine.errors import MlcError

from ..context import application, task_latency
from ..metrics import metrics_response
from ..openapi import document, operation

bp = Blueprint("system", __name__)


class Unavailable(MlcError):
    code = "unavailable"
    status = 503


@operation(bp, "/healthz", responses={200: "database reachable", 503: "database unreachable"})
def healthz() -> Response:
    """Liveness: answers 200 only when the database answers a query."""
    try:
        application().engine.ping()
    except Exception as exc:  # any driver error means "not healthy", never a 500
        raise Unavailable(f"database unreachable: {type(exc).__name__}") from None
    return jsonify({"status": "ok", "database": "reachable"})


@operation(bp, "/metrics", responses={200: "Prometheus text format"})
def metrics() -> Response:
    """Instances by status, external tasks by state, open incidents, live nodes, task
    latency, and (under ``mlc serve``) the id of the node answering."""
    return metrics_response(application().engine.counts(), task_latency(),
                            current_app.extensions.get("mlc_node"))


@operation(bp, "/api/openapi.json", responses={200: "OpenAPI 3.1 document"})
def openapi() -> Response:
    """This API's OpenAPI document, generated from the schemas that validate requests."""
    return jsonify(document())
