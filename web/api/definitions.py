"""Process definitions: list, and start an instance of the latest (or a given) version."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue

from ..context import engine, idempotency_key
from ..openapi import operation
from ..schemas import DefinitionQuery, StartRequest

bp = Blueprint("definitions", __name__, url_prefix="/api")


@operation(bp, "/process-definitions", query=DefinitionQuery)
def list_definitions(query: DefinitionQuery) -> Response:
    """Deployed process definitions (every version, or the latest of each key)."""
    return jsonify(engine().list_definitions(key=query.key, latest_only=query.latest_only))


@operation(bp, "/process-definitions/<key>/start", "POST", body=StartRequest,
           responses={201: "instance started"})
def start(key: str, body: StartRequest) -> ResponseReturnValue:
    """Start the latest version of ``key`` with variables and an optional business key."""
    instance = engine().start(key, body.variables, body.business_key,
                              definition_id=body.definition_id,
                              idempotency_key=idempotency_key())
    return jsonify(instance), 201
