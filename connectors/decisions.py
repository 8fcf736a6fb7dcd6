"""Topic ``decision.evaluate``: judge results with a DMN decision chosen at run time.

Reads ``DECISION_KEY`` (or the task property ``decisionKey``) and evaluates it against the
task's variables; ``TEST_RESULTS`` (a dict of metrics), when present, is also visible
flattened so decision tables can name ``auc`` or ``f1`` directly. Writes ``DECISION_RESULT``
(the rows of the result), ``DECISION_PASSED`` (true when every row's ``passed``/``approved``
output is true, or the table matched and has no such output) and ``DECISION_RULES``.
"""

from __future__ import annotations

from typing import Any

from engine import BpmnError, Engine, HandlerRegistry, TaskContext
from engine.values import jsonable

PASS_OUTPUTS = ("passed", "approved", "pass", "result")


def evaluate_decision(engine: Engine, ctx: TaskContext) -> dict[str, Any]:
    key = ctx.variables.get("DECISION_KEY") or ctx.properties.get("decisionKey")
    if not key:
        raise BpmnError("NO_DECISION", "no DECISION_KEY variable names the decision to evaluate")
    scope = dict(ctx.variables)
    results = scope.get("TEST_RESULTS")
    if isinstance(results, dict):
        for name, value in results.items():
            scope.setdefault(name, value)
    outcome = engine.evaluate_decision(str(key), scope)
    rows = outcome.result if isinstance(outcome.result, list) else [{"result": outcome.result}]
    verdicts = [row[name] for row in rows if isinstance(row, dict)
                for name in PASS_OUTPUTS if name in row]
    passed = all(v is True for v in verdicts) if verdicts else bool(rows)
    return {"DECISION_RESULT": jsonable(rows), "DECISION_PASSED": passed,
            "DECISION_RULES": jsonable(outcome.matched_rules),
            "DECISION_ERRORS": list(outcome.errors)}


def register_decision_handlers(registry: HandlerRegistry, engine: Engine) -> None:
    registry.register("decision.evaluate", lambda ctx: evaluate_decision(engine, ctx))
