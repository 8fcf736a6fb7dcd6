"""FEEL syntax: names that hold spaces, keywords and operators, literals, unary tests inside
expressions, precedence, types. Each test names the construct it covers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.feel import FeelError, Range, compile_expression, evaluate
from engine.feel.parser import parse_expression

D = Decimal


def test_declared_name_with_a_keyword_is_one_name():
    # Without the declaration `Another Date and Time` reads as `Another Date` and `Time`.
    expr = compile_expression("Another Date and Time + 1", ["Another Date and Time"])
    assert expr.evaluate({"Another Date and Time": 1}) == D(2)


def test_declared_name_with_operator_characters():
    expr = compile_expression("Date-Time * 2", ["Date-Time"])
    assert expr.evaluate({"Date-Time": 4}) == D(8)
    assert evaluate("a-b", {"a": 5, "b": 3}) == D(2)  # undeclared: a minus b


def test_declared_name_inside_a_longer_run_of_words():
    expr = compile_expression("for i in days in weekend return i", ["days in weekend"])
    assert expr.evaluate({"days in weekend": ["sat", "sun"]}) == ["sat", "sun"]


def test_declared_dotted_name_falls_back_to_a_path():
    expr = compile_expression("Person.Name", ["Person.Name"])
    assert expr.evaluate({"Person.Name": "bound"}) == "bound"
    assert expr.evaluate({"Person": {"Name": "path"}}) == "path"


def test_run_of_plain_words_is_one_name():
    assert evaluate("Monthly Salary * 12", {"Monthly Salary": 10}) == D(120)


def test_builtin_names_with_keywords():
    assert str(evaluate('date and time("2020-01-01T10:00:00")')) == "2020-01-01T10:00:00"
    assert evaluate('years and months duration(date("2020-01-01"), date("2021-03-01"))') \
        .months == 14


@pytest.mark.parametrize("text, key", [
    ("{foo bar: 1}", "foo bar"), ("{foo+bar: 1}", "foo+bar"),
    ('{"foo+bar((!!],foo": 1}', "foo+bar((!!],foo"), ('{"": 1}', ""), ("{🐎: 1}", "🐎"),
])
def test_context_keys_with_special_characters(text, key):
    assert evaluate(text) == {key: D(1)}


def test_duplicate_context_key_is_null_and_reported():
    errors: list[str] = []
    assert evaluate("{a: 1, a: 2}", {}, errors) is None
    assert "twice" in errors[0]


@pytest.mark.parametrize("text, expected", [
    ("1.23e4", D(12300)), ("1.23e+4", D(12300)), ("1.23e-4", D("0.000123")), ("1e3", D(1000)),
    (".5", D("0.5")),
])
def test_number_literals_with_exponents(text, expected):
    assert evaluate(text) == expected


@pytest.mark.parametrize("text, length", [
    (r'"\U01F40E"', 1), (r'"\uD83D\uDCA9"', 1), (r'"\ud83d\udc0e\uD83D\uDE00"', 2),
    (r'"\u0009"', 1), (r'"\\u0009"', 6),
])
def test_string_escapes(text, length):
    assert len(evaluate(text)) == length


def test_unknown_escape_keeps_its_backslash():
    assert evaluate(r'"\d{3}"') == r"\d{3}"
    assert evaluate(r'"a\"b"') == 'a"b'


def test_comments_are_ignored():
    assert evaluate("1 + /* two */ 2 // and more") == D(3)


@pytest.mark.parametrize("text, expected", [
    ("10 in (1, < 5, >= 10)", True), ("10 in (1, 5, 9)", False), ("4 in < 5", True),
    ("5 in <= 4", False), ("10 in =10", True), ("10 in (!=10)", False),
    ("3 in [1..5]", True), ("1 in [[2..4], [1..3]]", True),
    ("[1,2,3] in [[1,2,3,4], [1,2,3]]", True), ('"b" in ("b".."d")', False),
    ("true in [false, 2, 3]", False),
])
def test_unary_tests_inside_expressions(text, expected):
    assert evaluate(text) is expected


def test_range_written_as_a_comparison_is_not_an_interval_with_null():
    assert evaluate("(< 10) = (null..10)") is False
    assert evaluate("(< 10) = (< 10)") is True
    assert evaluate("(=10) = [10..10]") is False
    value = evaluate("(< 10)")
    assert isinstance(value, Range) and value.op == "<" and value.end == D(10)


@pytest.mark.parametrize("text, expected", [
    ("-5 ** 2", D(25)), ("-3 ** 2", D(9)), ("3 ** 4 ** 5", D(3486784401)),
    ("10 ** -2", D("0.01")), ("2 * 3 ** 2", D(18)),
])
def test_exponent_binds_tighter_than_product_and_looser_than_minus(text, expected):
    assert evaluate(text) == expected


def test_filter_after_range_end_is_not_read_as_a_filter():
    assert evaluate("5 in ]1..x[", {"x": 10}) is True


def test_typed_function_parameters():
    assert evaluate("(function(a: number, b: number) a + b)(1, 2)") == D(3)
    errors: list[str] = []
    assert evaluate('(function(a: number) a)("x")', {}, errors) is None
    assert "not of type number" in errors[0]


def test_named_arguments_with_several_words():
    assert evaluate('substring(string: "foobar", start position: 3)') == "obar"


@pytest.mark.parametrize("text, expected", [
    ("[1,2] instance of list<number>", True), ('[1,"a"] instance of list<number>', False),
    ("{a: 1} instance of context<a: number>", True),
    ("{a: 1} instance of context<a: string>", False),
    ("{a: {b: 1}} instance of context<a: context<b: number>>", True),
    ("(function(x) x) instance of function<Any>->Any", True),
    ("[1..2] instance of range<number>", True), ("null instance of Any", False),
    ("date(\"2020-01-01\") instance of date and time", False),
    ("@\"P1D\" instance of days and time duration", True),
])
def test_instance_of_with_type_expressions(text, expected):
    assert evaluate(text) is expected


def test_syntax_error_names_the_column():
    with pytest.raises(FeelError, match="column 5"):
        compile_expression("a + * b")


def test_comparison_of_a_comparison_is_a_syntax_error():
    with pytest.raises(FeelError):
        parse_expression("1 in < < 2")


def test_tree_is_plain_tuples():
    assert parse_expression("a + 1") == ("add", ("name", "a"), ("num", D(1)))
