"""Camunda's mapDecisionResult modes and their errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.dmn import DecisionResult, map_decision_result
from engine.errors import DecisionError


def table(*rows):
    return DecisionResult("d", "D", list(rows), matched_rules=list(range(1, len(rows) + 1)),
                          is_table=True)


ONE = {"approved": True}
TWO_ENTRIES = {"approved": True, "reason": "ok"}


def test_single_entry():
    assert map_decision_result(table(ONE), "singleEntry") is True
    assert map_decision_result(table(), "singleEntry") is None
    literal = DecisionResult("d", "D", Decimal(3), output_name="D")
    assert map_decision_result(literal, "singleEntry") == Decimal(3)


@pytest.mark.parametrize("result", [table(ONE, ONE), table(TWO_ENTRIES)])
def test_single_entry_errors(result):
    with pytest.raises(DecisionError):
        map_decision_result(result, "singleEntry")


def test_single_result():
    assert map_decision_result(table(TWO_ENTRIES), "singleResult") == TWO_ENTRIES
    assert map_decision_result(table(), "singleResult") is None
    with pytest.raises(DecisionError, match="at most one"):
        map_decision_result(table(ONE, TWO_ENTRIES), "singleResult")


def test_collect_entries():
    assert map_decision_result(table(ONE, {"approved": False}), "collectEntries") == \
        [True, False]
    assert map_decision_result(table(), "collectEntries") == []
    with pytest.raises(DecisionError, match="exactly one entry"):
        map_decision_result(table(ONE, TWO_ENTRIES), "collectEntries")


def test_result_list():
    assert map_decision_result(table(ONE, TWO_ENTRIES), "resultList") == [ONE, TWO_ENTRIES]
    assert map_decision_result(table(), "resultList") == []


def test_unknown_mode():
    with pytest.raises(DecisionError, match="unknown"):
        map_decision_result(table(ONE), "firstEntry")
