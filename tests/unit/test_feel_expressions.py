"""FEEL expressions: arithmetic, strings, three-valued logic, null, temporals, built-ins."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from engine.errors import ExpressionError
from engine.feel import (
    DayTimeDuration,
    FeelDate,
    FeelError,
    YearsMonthsDuration,
    compile_expression,
    compile_unary_tests,
    evaluate,
)

D = Decimal


@pytest.mark.parametrize("text, expected", [
    ("a + b * 2", D(5)),
    ("(a + b) * 2", D(6)),
    ("10 / 4", D("2.5")),
    ("2 ** 10", D(1024)),
    ("10 ** -2", D("0.01")),
    ("-a - -b", D(1)),
    ("10 + 20 / -5 - 3", D(3)),
    ("0.1 + 0.2", D("0.3")),  # decimal, not binary floating point
    ("1 / 3 * 3", D("0.9999999999999999999999999999999999")),
])
def test_arithmetic_is_decimal(text, expected):
    assert evaluate(text, {"a": 1, "b": D(2)}) == expected


def test_int_and_float_inputs_become_decimal():
    assert evaluate("x + y", {"x": 1, "y": 0.5}) == D("1.5")
    assert type(evaluate("x", {"x": 3})) is Decimal


@pytest.mark.parametrize("left, right, and_, or_", [
    (True, True, True, True), (True, False, False, True), (True, None, None, True),
    (False, True, False, True), (False, False, False, False), (False, None, False, None),
    (None, True, None, True), (None, False, False, None), (None, None, None, None),
])
def test_three_valued_and_or(left, right, and_, or_):
    ctx = {"A": left, "B": right}
    assert evaluate("A and B", ctx) is and_
    assert evaluate("A or B", ctx) is or_


def test_not_is_three_valued():
    assert evaluate("not(A)", {"A": True}) is False
    assert evaluate("not(A)", {"A": False}) is True
    assert evaluate("not(A)", {"A": None}) is None


@pytest.mark.parametrize("text", ["10 + null", "null * 2", "null < 1", "1 > null"])
def test_null_propagates(text):
    assert evaluate(text) is None


def test_null_equality():
    assert evaluate("null = null") is True
    assert evaluate("x = null", {"x": 1}) is False
    assert evaluate("x != null", {"x": None}) is False


def test_type_mismatch_is_null_and_reported():
    errors: list[str] = []
    assert evaluate('"a" + 1', {}, errors) is None
    assert errors and "string" in errors[0] and "number" in errors[0]


def test_division_by_zero_is_null_and_reported():
    errors: list[str] = []
    assert evaluate("x / 0", {"x": 1}, errors) is None
    assert errors == ["division by zero"]


@pytest.mark.parametrize("text", [
    'date("999999999-12-31") + duration("P1Y")', 'date("-999999999-01-01") - duration("P1Y")',
    'date and time("999999999-12-31T00:00:00") + duration("P1D")',
    'date("999999999-12-31") + duration("P1D")',
    "1e6000 * 1e6000", "10 ** 10000",
])
def test_temporal_overflow_is_null_and_reported(text):
    errors: list[str] = []
    assert evaluate(text, {}, errors) is None
    assert len(errors) == 1 and "out of range" in errors[0]


def test_endless_recursion_is_null_and_reported():
    errors: list[str] = []
    assert evaluate("(function(f) f(f))(function(f) f(f))", {}, errors) is None
    assert errors == ["recursion too deep"]


def test_unknown_variable_is_null_and_reported():
    errors: list[str] = []
    assert evaluate("missing + 1", {}, errors) is None
    assert "missing" in errors[0]


def test_names_with_spaces():
    assert evaluate('"Hello " + Full Name', {"Full Name": "Ada"}) == "Hello Ada"
    assert evaluate("Applicant Age >= 18", {"Applicant Age": 20}) is True


def test_if_in_between():
    ctx = {"x": 4}
    assert evaluate('if x > 3 then "big" else "small"', ctx) == "big"
    assert evaluate("x in [1..5]", ctx) is True
    assert evaluate("x in ]4..5]", ctx) is False
    assert evaluate("x in [1, 2, 4]", ctx) is True
    assert evaluate("x between 1 and 3", ctx) is False


def test_paths_filters_contexts_and_loops():
    loan = {"principal": 600000, "rate": D("0.0375"), "termMonths": 360}
    payment = evaluate("(loan.principal*loan.rate/12)/(1-(1+loan.rate/12)**-loan.termMonths)",
                       {"loan": loan})
    assert abs(payment - D("2778.69354943277")) < D("1e-10")
    assert evaluate("[1, 5, 2, 8][item > 2]") == [D(5), D(8)]
    assert evaluate("[1, 5, 2][-1]") == D(2)
    assert evaluate('people[age > 30].name', {"people": [{"name": "a", "age": 40},
                                                         {"name": "b", "age": 20}]}) == ["a"]
    assert evaluate("{a: 1, b: a + 1}.b") == D(2)
    assert evaluate("for i in 1..3 return i * i") == [D(1), D(4), D(9)]
    assert evaluate("some x in [1, 2, 3] satisfies x > 2") is True
    assert evaluate("every x in [1, 2, 3] satisfies x > 2") is False


def test_dates_times_and_durations():
    assert evaluate('date("2026-01-31") + duration("P1M")') == FeelDate(2026, 2, 28)
    assert evaluate('date("2026-03-01") - date("2026-01-01")') == \
        DayTimeDuration(59 * 86400 * 10**9)
    assert evaluate('duration("P1Y") + duration("P2M")') == YearsMonthsDuration(14)
    assert evaluate('date and time("2026-01-01T10:30:00Z").hour') == D(10)
    assert evaluate('@"2026-01-01" < date("2026-01-02")') is True
    assert evaluate("d > date(\"2025-12-31\")", {"d": dt.date(2026, 1, 1)}) is True
    assert evaluate('duration("P1DT2H") = duration("PT26H")') is True


@pytest.mark.parametrize("text, expected", [
    ('string length("héllo")', D(5)),
    ('upper case("abc")', "ABC"),
    ('substring("foobar", 3, 2)', "ob"),
    ('contains("foobar", "oba")', True),
    ('starts with("foobar", "foo")', True),
    ('replace("abc", "b", "x")', "axc"),
    ('string join(["a", "b"], "-")', "a-b"),
    ("sum([1, 2, 3])", D(6)),
    ("max(1, 7, 3)", D(7)),
    ("mean([1, 2, 3, 4])", D("2.5")),
    ("count([1, 2])", D(2)),
    ("list contains([1, 2], 2)", True),
    ("distinct values([1, 1, 2])", [D(1), D(2)]),
    ("decimal(1/3, 2)", D("0.33")),
    ("floor(-1.5)", D(-2)),
    ("abs(-4)", D(4)),
    ("modulo(-7, 3)", D(2)),
    ('number("1,000.5", ",", ".")', D("1000.5")),
    ("string(1.50)", "1.5"),
    ('upper case(string: "x")', "X"),
    ("all([true, null])", None),
    ("any([false, true])", True),
])
def test_builtins(text, expected):
    assert evaluate(text) == expected


def test_builtin_misuse_is_null_and_reported():
    errors: list[str] = []
    assert evaluate('string length(5)', {}, errors) is None
    assert errors and "string length" in errors[0]


def test_syntax_error_is_an_expression_error_with_column():
    with pytest.raises(FeelError) as caught:
        compile_expression("a + * b")
    assert isinstance(caught.value, ExpressionError)
    assert "column" in str(caught.value)


def test_deep_nesting_is_a_feel_error():
    with pytest.raises(FeelError, match="nested too deeply"):
        compile_expression("-" * 5000 + "1")
    with pytest.raises(FeelError, match="nested too deeply"):
        compile_unary_tests("not(" * 5000 + "1" + ")" * 5000)


def test_python_code_is_not_evaluated():
    # FEEL has no attribute access to Python objects: dunder names are plain FEEL names.
    errors: list[str] = []
    assert evaluate('__import__("os")', {}, errors) is None
    assert errors
    with pytest.raises(FeelError):
        compile_expression("1; import os")


def test_compiled_expression_is_reused():
    assert compile_expression("a * 2") is compile_expression("a * 2")
    expr = compile_expression("a * 2")
    assert [expr.evaluate({"a": n}) for n in (1, 2, 3)] == [D(2), D(4), D(6)]
