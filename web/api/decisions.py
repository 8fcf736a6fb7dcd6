"""Evaluate a deployed DMN decision (what a businessRuleTask does), for testing tables."""

from __future__ import annotations

from flask import Blueprint, jsonify

from engine.values import jsonable

from ..context import engine
from ..openapi import operation
from ..schemas import DecisionRequest

bp = Blueprint("decisions", __name__, url_prefix="/api")


@operation(bp, "/decisions/<key>/evaluate", "POST", body=DecisionRequest)
def evaluate(key: str, body: DecisionRequest):
    """Evaluate the latest version of decision ``key`` against the given variables."""
    result = engine().evaluate_decision(key, body.variables)
    return jsonify({"decision_id": result.decision_id, "result": jsonable(result.rows),
                    "value": jsonable(result.value), "matched_rules": result.matched_rules,
                    "errors": list(result.errors)})
