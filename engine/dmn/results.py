"""Camunda 7's ``camunda:mapDecisionResult`` shapes for a decision result."""

from __future__ import annotations

from typing import Any

from engine.dmn.model import DecisionResult
from engine.errors import DecisionError

MODES = ("singleEntry", "singleResult", "collectEntries", "resultList")


def map_decision_result(result: DecisionResult, mode: str = "resultList") -> Any:
    """Shape ``result`` as a businessRuleTask's result variable, as Camunda 7 does.

    - ``singleEntry``: the only entry of the only row (None when no rule matched).
    - ``singleResult``: the only row as a dict (None when no rule matched).
    - ``collectEntries``: the one entry of every row, as a list.
    - ``resultList``: every row as a dict, as a list.

    Raises:
        DecisionError: the result does not fit the mode (two rows for a single mode, a row
            with several entries for an entry mode) or the mode is unknown.
    """
    rows = result.rows
    name = result.decision_name
    if mode == "resultList":
        return [dict(row) for row in rows]
    if mode == "collectEntries":
        values: list[Any] = []
        for row in rows:
            _check_one_entry(row, name, mode)
            values.extend(row.values())
        return values
    if mode in ("singleResult", "singleEntry"):
        if len(rows) > 1:
            raise DecisionError(
                f"decision {name!r}: mapDecisionResult {mode!r} needs at most one result but "
                f"{len(rows)} rules matched ({result.matched_rules})")
        if not rows:
            return None
        if mode == "singleResult":
            return dict(rows[0])
        _check_one_entry(rows[0], name, mode)
        return next(iter(rows[0].values()))
    raise DecisionError(f"unknown mapDecisionResult {mode!r}; use one of {', '.join(MODES)}")


def _check_one_entry(row: dict[str, Any], name: str, mode: str) -> None:
    if len(row) != 1:
        raise DecisionError(
            f"decision {name!r}: mapDecisionResult {mode!r} needs results with exactly one "
            f"entry but a result has {len(row)} ({', '.join(row)})")
