"""Signals (broadcast) and messages (correlated to one waiting instance)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from ..context import engine, idempotency_key
from ..openapi import operation
from ..schemas import ConditionRequest, MessageRequest, SignalRequest

bp = Blueprint("events", __name__, url_prefix="/api")


@operation(bp, "/signals", "POST", body=SignalRequest)
def signal(body: SignalRequest) -> Response:
    """Broadcast a signal: ``{"started": [ids], "resumed": [ids]}``."""
    return jsonify(engine().signal(body.name, body.variables,
                                   idempotency_key=idempotency_key()))


@operation(bp, "/messages", "POST", body=MessageRequest,
           responses={200: "delivered", 404: "nothing waits", 409: "ambiguous"})
def message(body: MessageRequest) -> Response:
    """Correlate a message by business key and/or correlation variables."""
    ids = engine().correlate_message(body.name, business_key=body.business_key,
                                     correlation=body.correlation, variables=body.variables,
                                     all_instances=body.all,
                                     idempotency_key=idempotency_key())
    return jsonify({"instances": ids})


@operation(bp, "/conditions", "POST", body=ConditionRequest)
def conditions(body: ConditionRequest) -> Response:
    """Start every process whose conditional start event holds for the variables
    (Camunda's condition evaluation): ``{"started": [ids]}``."""
    return jsonify({"started": engine().evaluate_conditions(body.variables, body.business_key)})
