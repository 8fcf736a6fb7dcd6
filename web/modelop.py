"""ModelOp Center-compatible signals under ``/mlc-service/rest``: pipelines written for
ModelOp's MLC manager post the same Camunda signal body here and need no change."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .context import engine
from .engine_rest import dtos
from .engine_rest.events import signal_body
from .engine_rest.schemas import SignalBody
from .openapi import operation

bp = Blueprint("modelop", __name__, url_prefix="/mlc-service/rest")


@operation(bp, "/signal", "POST", body=SignalBody, responses={204: "delivered"})
def signal(body: SignalBody) -> Response:
    """Broadcast a signal (fire and forget, as ModelOp's endpoint)."""
    signal_body(body)
    return Response(status=204)


@operation(bp, "/signalResponsive", "POST", body=SignalBody,
           responses={200: "the started instances and the ids of resumed ones"})
def signal_responsive(body: SignalBody) -> Response:
    """Broadcast a signal and answer with the instances it started."""
    result = signal_body(body)
    started = [dtos.process_instance(engine().get_instance(i)) for i in result.started]
    return jsonify({"started": started, "resumed": result.resumed})
