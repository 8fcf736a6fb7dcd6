"""Process instances: filter and page, detail, history, terminate."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from engine.ids import instance_id as full_id

from ..context import engine
from ..openapi import operation
from ..schemas import InstanceQuery, TerminateRequest, VariablesRequest

bp = Blueprint("instances", __name__, url_prefix="/api")


@operation(bp, "/process-instances", query=InstanceQuery)
def list_instances(query: InstanceQuery) -> Response:
    """Instances, newest first, filtered by status / outcome / key / business key, paged."""
    return jsonify(engine().list_instances(status=query.status, outcome=query.outcome,
                                           key=query.key, business_key=query.business_key,
                                           limit=query.limit, offset=query.offset))


@operation(bp, "/process-instances/<instance_id>")
def get_instance(instance_id: str) -> Response:
    """Status, outcome, variables, active activities and open incidents of one instance (by
    id or a unique prefix of it)."""
    return jsonify(engine().get_instance(full_id(engine().db, instance_id)))


@operation(bp, "/process-instances/<instance_id>/history")
def history(instance_id: str) -> Response:
    """The instance's append-only audit trail."""
    return jsonify(engine().history(full_id(engine().db, instance_id)))


@operation(bp, "/process-instances/<instance_id>/terminate", "POST", body=TerminateRequest,
           responses={200: "terminated", 409: "already ended"})
def terminate(instance_id: str, body: TerminateRequest) -> Response:
    """Cancel a running instance (recorded in its history with the reason)."""
    return jsonify(engine().terminate(full_id(engine().db, instance_id), body.reason))


@operation(bp, "/process-instances/<instance_id>/variables", "POST", body=VariablesRequest,
           responses={200: "set", 409: "already ended"})
def set_variables(instance_id: str, body: VariablesRequest) -> Response:
    """Set process variables of a running instance (recorded in its history, with the reason);
    conditional events that now hold fire."""
    return jsonify(engine().set_variables(full_id(engine().db, instance_id), body.variables,
                                          reason=body.reason))
