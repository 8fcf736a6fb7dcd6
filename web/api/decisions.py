"""Evaluate a deployed DMN decision, decision service or business knowledge model (what a
businessRuleTask does), for testing decisions. Evaluation runs within the configured budget:
past it the answer is a 422 naming the limit."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from engine.feel import to_python
from engine.values import jsonable

from ..context import engine
from ..openapi import operation
from ..schemas import DecisionRequest

bp = Blueprint("decisions", __name__, url_prefix="/api")


@operation(bp, "/decisions/<key>/evaluate", "POST", body=DecisionRequest)
def evaluate(key: str, body: DecisionRequest) -> Response:
    """Evaluate the latest version of ``key`` (the id or name of a decision, a decision service
    or a business knowledge model) with the given variables (a BKM's are its parameters)."""
    result = engine().evaluate_decision(key, body.variables)
    answer = {"decision_id": result.decision_id, "result": jsonable(to_python(result.rows)),
              "value": jsonable(to_python(result.value)),
              "matched_rules": result.matched_rules, "errors": list(result.errors)}
    if result.outputs:
        answer["outputs"] = jsonable(to_python(result.outputs))
    return jsonify(answer)
