"""DMN input entries (unary tests): every form, and null handling."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from engine.feel import FeelError, compile_unary_tests

D = Decimal


@pytest.mark.parametrize("cell, value, expected", [
    # comparisons
    (">= 0.8", D("0.8"), True), (">= 0.8", D("0.79"), False), ("< 18", 17, True),
    ("<= 18", 18, True), ("> 18", 18, False), ("!= 3", 4, True), ("= 3", 3, True),
    # ranges with closed and open ends
    ("[1..5]", 1, True), ("[1..5]", 5, True), ("]1..5[", 1, False), ("]1..5[", 5, False),
    ("]1..5[", 3, True), ("(1..5)", 5, False), ("(1..5)", 2, True), ("[1..5)", 5, False),
    ("[0.6..0.8[", D("0.8"), False), ("[0.6..0.8[", D("0.6"), True),
    # plain values and lists of tests
    ('"prod"', "prod", True), ('"prod"', "dev", False), ('"prod","uat"', "uat", True),
    ("< 0, > 10", 11, True), ("< 0, > 10", 5, False), ("1, [5..6]", 6, True),
    ("true", True, True), ("true", False, False), ("false", False, True),
    # negation
    ('not("dev")', "prod", True), ('not("dev")', "dev", False),
    ("not(< 0, > 10)", 5, True), ("not([1..5])", 3, False),
    # wildcard and empty
    ("-", None, True), ("-", "anything", True), ("", 42, True),
    # null
    ("null", None, True), ("null", 1, False), ("not(null)", 1, True),
    # expression tests with ?
    ("? > 5", 7, True), ("? > 5 and ? < 10", 12, False), ("odd(?)", 3, True),
    # dates
    ('date("2026-01-01")', dt.date(2026, 1, 1), True),
    ('>= date("2026-01-01")', dt.date(2025, 12, 31), False),
    ('[date("2026-01-01")..date("2026-12-31")]', dt.date(2026, 6, 1), True),
])
def test_unary_test_forms(cell, value, expected):
    assert compile_unary_tests(cell).matches(value) is expected


def test_comparison_with_null_input_is_null_not_true():
    assert compile_unary_tests(">= 18").matches(None) is None
    assert compile_unary_tests("not(>= 18)").matches(None) is None


def test_type_mismatch_yields_null():
    assert compile_unary_tests(">= 18").matches("eighteen") is None
    assert compile_unary_tests("not(>= 18)").matches("eighteen") is None


def test_cells_may_name_other_variables():
    tests = compile_unary_tests("> limit")
    assert tests.matches(5, {"limit": 3}) is True
    assert tests.matches(5, {"limit": 7}) is False


def test_bad_cell_raises_feel_error():
    with pytest.raises(FeelError):
        compile_unary_tests(">= >= 1")
    with pytest.raises(FeelError):
        compile_unary_tests("[1..")
