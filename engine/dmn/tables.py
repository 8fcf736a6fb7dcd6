"""Decision-table evaluation: match rules, apply the hit policy, shape the result."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.dmn.model import DecisionTable, OutputClause, Rule
from engine.errors import DecisionError
from engine.feel import Scope
from engine.feel.builtins import BUILTINS
from engine.feel.operators import equals

_MIN, _MAX, _SUM = BUILTINS["min"], BUILTINS["max"], BUILTINS["sum"]


class TableOutcome:
    """Rows (output-entry maps), matched rule refs and the DMN value of one evaluation."""

    __slots__ = ("rows", "matched", "value")

    def __init__(self, rows: list[dict[str, Any]], matched: list[str | int], value: Any):
        self.rows, self.matched, self.value = rows, matched, value


def evaluate_table(table: DecisionTable, scope: Scope, label: str,
                   strict: bool) -> TableOutcome:
    """Evaluate ``table`` in ``scope``.

    Args:
        label: the decision's name, for messages.
        strict: raise DecisionError on hit-policy violations (UNIQUE with several matches,
            ANY with differing outputs); otherwise report them and yield null.
    """
    errors = scope.errors
    input_values: list[Any] = []
    cell_scopes: list[Scope] = []
    scoped = table.scoped_columns
    for column, clause in enumerate(table.inputs):
        value = clause.expression.node(scope)
        if clause.allowed_values is not None and value is not None and \
                clause.allowed_values.test(value, scope) is not True:
            errors.append(f"{label}: input {clause.label!r} = {value!r} is not one of the "
                          f"input values {clause.allowed_values.source.strip()}")
        input_values.append(value)
        cell_scopes.append(scope.child({clause.input_variable: value}) if column in scoped
                           else scope)

    first_only = table.hit_policy == "FIRST"
    matched: list[Rule] = []
    for rule in table.rules:
        for column, check in rule.checks:
            if check(input_values[column], cell_scopes[column]) is not True:
                break
        else:
            matched.append(rule)
            if first_only:
                break

    if not matched:
        return _no_match(table, scope, label)
    rows = [_outputs(table.outputs, rule, scope, label) for rule in matched]
    refs = [rule.ref for rule in matched]
    policy = table.hit_policy

    if policy == "UNIQUE" and len(matched) > 1:
        return _violation(f"{label}: hit policy UNIQUE but rules {refs} all match", strict,
                          errors)
    if policy == "ANY" and any(equals(rows[0], row) is not True for row in rows[1:]):
        return _violation(f"{label}: hit policy ANY but matching rules {refs} give different "
                          "outputs", strict, errors)
    if policy in ("PRIORITY", "OUTPUT ORDER"):
        order = sorted(range(len(rows)), key=lambda i: _priority(table.outputs, rows[i], scope))
        rows, refs = [rows[i] for i in order], [refs[i] for i in order]
    if table.is_single_hit:
        rows, refs = rows[:1], refs[:1]
        return TableOutcome(rows, refs, _shape(table, rows[0]))
    if table.aggregation:
        total = _aggregate(table.aggregation, [next(iter(r.values())) for r in rows], scope,
                           label)
        return TableOutcome([{table.outputs[0].name: total}], refs, total)
    return TableOutcome(rows, refs, [_shape(table, row) for row in rows])


def _outputs(outputs: tuple[OutputClause, ...], rule: Rule, scope: Scope,
             label: str) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for clause, expression in zip(outputs, rule.outputs):
        value = expression.node(scope)
        if clause.allowed_values is not None and value is not None and \
                clause.allowed_values.test(value, scope) is not True:
            scope.errors.append(f"{label}: rule {rule.ref} output {clause.name!r} = {value!r} "
                                f"is not one of {clause.allowed_values.source.strip()}")
            value = None
        row[clause.name] = value
    return row


def _no_match(table: DecisionTable, scope: Scope, label: str) -> TableOutcome:
    if any(clause.default is not None for clause in table.outputs):
        row = {c.name: (c.default.evaluate_in(scope) if c.default else None)
               for c in table.outputs}
        value = _shape(table, row)
        return TableOutcome([row], [], value if table.is_single_hit or table.aggregation
                            else [value])
    if table.aggregation == "COUNT":
        return TableOutcome([{table.outputs[0].name: Decimal(0)}], [], Decimal(0))
    return TableOutcome([], [], None if table.is_single_hit or table.aggregation else [])


def _shape(table: DecisionTable, row: dict[str, Any]) -> Any:
    """DMN's value of one row: the bare value for one output, else a context."""
    return next(iter(row.values())) if len(table.outputs) == 1 else dict(row)


def _priority(outputs: tuple[OutputClause, ...], row: dict[str, Any], scope: Scope
              ) -> tuple[int, ...]:
    key = []
    for clause in outputs:
        if clause.allowed_values is None:
            continue
        position = clause.allowed_values.position(row[clause.name], scope)
        key.append(position if position is not None else 1 << 30)
    return tuple(key)


def _aggregate(aggregation: str, values: list[Any], scope: Scope, label: str) -> Any:
    present = [v for v in values if v is not None]
    if aggregation == "COUNT":  # as Camunda: the number of (non-null) outputs collected
        return Decimal(len(present))
    if not present:
        return None
    function = {"SUM": _SUM, "MIN": _MIN, "MAX": _MAX}[aggregation]
    before = len(scope.errors)
    total = function.invoke([present], scope)
    if len(scope.errors) > before:
        scope.errors[before:] = [f"{label}: COLLECT {aggregation}: {e}"
                                 for e in scope.errors[before:]]
    return total


def _violation(message: str, strict: bool, errors: list[str]) -> TableOutcome:
    if strict:
        raise DecisionError(message)
    errors.append(message)
    return TableOutcome([], [], None)
