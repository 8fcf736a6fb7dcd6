"""``POST /signal`` and ``POST /message`` with Camunda's bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify

from engine.errors import ConflictError, NotFoundError, ValidationError
from engine.records import SignalResult
from engine.states import ENDED

from ..camunda_types import variables_out
from ..context import engine, idempotency_key
from ..openapi import operation
from . import PREFIX, dtos
from .schemas import ConditionBody, MessageBody, SignalBody, plain

bp = Blueprint("camunda_events", __name__, url_prefix=PREFIX)


class CorrelationError(ValidationError):
    """Camunda answers a message nobody (or too many) waits for with 400."""

    code = "mismatching_message_correlation"


def signal_body(body: SignalBody) -> SignalResult:
    """Deliver a Camunda signal body; shared with the ModelOp-compatible routes."""
    if body.executionId:
        raise ValidationError("signalling one execution (executionId) is not supported; "
                              "signals are broadcast")
    return engine().signal(body.name, plain(body.variables), idempotency_key=idempotency_key())


@operation(bp, "/signal", "POST", body=SignalBody, responses={204: "delivered"})
def signal(body: SignalBody) -> Response:
    """Broadcast a signal: start subscribed processes, resume waiting instances."""
    signal_body(body)
    return Response(status=204)


@operation(bp, "/message", "POST", body=MessageBody,
           responses={200: "results (resultEnabled)", 204: "delivered",
                      400: "no instance or several instances match"})
def message(body: MessageBody) -> Response:
    """Correlate a message by business key and correlation keys."""
    if body.processInstanceId:
        raise ValidationError("correlating to a processInstanceId is not supported; "
                              "use businessKey or correlationKeys")
    if body.localCorrelationKeys or body.processVariablesLocal:
        raise ValidationError("local correlation keys and local variables are not supported")
    correlation = plain(body.correlationKeys, "correlationKeys") or None
    since = datetime.now(UTC)
    try:
        ids = engine().correlate_message(body.messageName, business_key=body.businessKey,
                                         correlation=correlation,
                                         variables=plain(body.processVariables, "processVariables"),
                                         all_instances=body.all,
                                         idempotency_key=idempotency_key())
    except (NotFoundError, ConflictError) as exc:
        raise CorrelationError(f"Cannot correlate message '{body.messageName}': {exc.message}") from None
    if not body.resultEnabled:
        return Response(status=204)
    return jsonify([_result(i, since, body.variablesInResultEnabled) for i in ids])


def _result(instance_id: str, since: datetime, with_variables: bool) -> dict[str, Any]:
    instance = engine().get_instance(instance_id)
    started = instance.created_at >= since
    result: dict[str, Any] = {"resultType": "ProcessDefinition" if started else "Execution",
                    "execution": None, "processInstance": None}
    if started:
        result["processInstance"] = dtos.process_instance(instance)
    else:
        result["execution"] = {"id": instance_id, "processInstanceId": instance_id,
                               "ended": instance.status in ENDED,
                               "tenantId": None}
    if with_variables:
        result["variables"] = variables_out(instance.variables or {})
    return result


@operation(bp, "/condition", "POST", body=ConditionBody,
           responses={200: "the started instances"})
def condition(body: ConditionBody) -> Response:
    """Evaluate conditional start events: start every process whose condition holds."""
    started = engine().evaluate_conditions(plain(body.variables), body.businessKey)
    return jsonify([dtos.process_instance(engine().get_instance(i)) for i in started])
