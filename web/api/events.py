"""Signals (broadcast) and messages (correlated to one waiting instance)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..context import engine
from ..openapi import operation
from ..schemas import MessageRequest, SignalRequest

bp = Blueprint("events", __name__, url_prefix="/api")


@operation(bp, "/signals", "POST", body=SignalRequest)
def signal(body: SignalRequest):
    """Broadcast a signal: ``{"started": [ids], "resumed": [ids]}``."""
    return jsonify(engine().signal(body.name, body.variables))


@operation(bp, "/messages", "POST", body=MessageRequest,
           responses={200: "delivered", 404: "nothing waits", 409: "ambiguous"})
def message(body: MessageRequest):
    """Correlate a message by business key and/or correlation variables."""
    ids = engine().correlate_message(body.name, business_key=body.business_key,
                                     correlation=body.correlation, variables=body.variables,
                                     all_instances=body.all)
    return jsonify({"instances": ids})
