"""FEEL built-in functions added or changed for compliance level 3, one behaviour per test."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.feel import Range, evaluate

D = Decimal


def value(expression: str, **variables):
    return evaluate(expression, variables)


def null_with_error(expression: str) -> bool:
    errors: list[str] = []
    return evaluate(expression, {}, errors) is None and bool(errors)


@pytest.mark.parametrize("expression, expected", [
    ('context([{key: "a", value: 1}, {key: "b", value: 2}])', {"a": D(1), "b": D(2)}),
    ('context({key: "a", value: 1})', {"a": D(1)}),
    ('context(entries: [{key: "a", value: null, extra: 1}])', {"a": None}),
    ('context put({x: 1, y: {a: 0}}, ["y", "a"], 2)', {"x": D(1), "y": {"a": D(2)}}),
    ('context put({x: 1}, ["y", "b"], 2)', {"x": D(1), "y": {"b": D(2)}}),
    ('context put(context: {}, keys: ["a"], value: 1)', {"a": D(1)}),
    ('context merge([{a: 1}, {a: 2, b: 3}])', {"a": D(2), "b": D(3)}),
    ('get entries({a: 1})', [{"key": "a", "value": D(1)}]),
])
def test_context_functions(expression, expected):
    assert value(expression) == expected


@pytest.mark.parametrize("expression", [
    'context([{key: "a", value: 1}, {key: "a", value: 2}])', 'context({value: 1})',
    'context put({x: 1, y: {a: 0}}, ["y", null], 2)', 'context put({}, [], 2)',
    'context put(context: {}, key: ["a", "b"], value: 1)', 'context merge([1])',
])
def test_context_functions_refuse_bad_arguments(expression):
    assert null_with_error(expression)


@pytest.mark.parametrize("expression, expected", [
    ("list replace([1, 2, 3], 2, 4)", [D(1), D(4), D(3)]),
    ("list replace([1, 2, 3], -1, 4)", [D(1), D(2), D(4)]),
    ("list replace([2, 4, 7], function(item, newItem) item < newItem, 5)",
     [D(5), D(5), D(7)]),
    ("list replace(match: function(item, newItem) item = 2, newItem: 4, list: [1, 2])",
     [D(1), D(4)]),
    ("list replace(1, 1, 5)", [D(5)]),
])
def test_list_replace(expression, expected):
    assert value(expression) == expected


@pytest.mark.parametrize("expression", [
    "list replace([1, 2, 3], 0, 4)", "list replace([1, 2, 3], 4, 4)",
    "list replace(null, 1, 4)", "list replace([2, 4], function(item) item = 2, 5)",
])
def test_list_replace_refuses_bad_positions(expression):
    assert null_with_error(expression)


@pytest.mark.parametrize("expression, expected", [
    ("2 in range(\"[1..3]\")", True), ('range("(18..21]") = (18..21]', True),
    ('range("[@\\"1970-01-01\\"..@\\"1970-01-02\\"]") instance of range<date>', True),
    ('range("[date and time(\\"1970-01-01T00:00:00\\")..@\\"1970-01-02T00:00:00\\"]")'
     ' = [@"1970-01-01T00:00:00"..@"1970-01-02T00:00:00"]', True),
])
def test_range_parses_literal_ranges(expression, expected):
    assert value(expression) is expected


@pytest.mark.parametrize("argument", [
    '"[..2]"', '"[1..]"', '""', '">=10"', '"[3..1]"', '"[1..\\"b\\"]"', '"[null..null]"',
    '"[date(string(\\"1970-01-01\\"))..date(\\"1970-01-02\\")]"', "[1..3]",
])
def test_range_refuses_what_is_not_a_literal_range(argument):
    assert null_with_error(f"range({argument})")


@pytest.mark.parametrize("expression, expected", [
    ("is(1, 1)", True), ('is(1, "1")', False), ('is(@"2012-12-25", @"2012-12-25T00:00:00Z")',
                                               False),
    ('is(value1: @"2021-02-13")', False),
])
def test_is(expression, expected):
    assert value(expression) is expected


@pytest.mark.parametrize("expression, expected", [
    ('upper case(["a"])', "A"),                        # a singleton list is its item
    ('string length(["abc"])', D(3)),
    ('string join("a", "X")', "a"), ('string join(["a", null, "c"], "X")', "aXc"),
    ('floor(n: 1.56, scale: 1)', D("1.5")), ('round half up(-1.126, 2)', D("-1.13")),
    ('round half down(5.5, 0)', D(5)), ('round up(-5.5, 0)', D(-6)),
    ("decimal(1/3, 2.5)", D("0.33")), ('number(from: "1.000,01", decimal separator: ",", '
                                        'grouping separator: ".")', D("1000.01")),
    ("modulo(-10.1, 4.5)", D("3.4")), ("product(2, 3, 4)", D(24)), ("median(8, 2, 5, 7)", D(6)),
    ("mode([3, 6, 1, 9, 6, 1, 3])", [D(1), D(3), D(6)]), ("all(true, null, true)", None),
    ("any(list: [null, false])", None), ('sort([3, 1, 2], function(x, y) x > y)',
                                        [D(3), D(2), D(1)]),
    ('week of year(@"2010-01-01")', D(53)), ('day of week(@"2019-09-17")', "Tuesday"),
    ('month of year(date: @"2019-09-17T10:10:10")', "September"),
    ('day of year(@"2020-12-31")', D(366)),
])
def test_builtin_results(expression, expected):
    assert value(expression) == expected


def test_abs_of_durations():
    assert str(value('abs(@"-P1Y")')) == "P1Y" and str(value('abs(@"-P1D")')) == "P1D"


@pytest.mark.parametrize("expression", [
    "floor(1.5, 1, 2)", "floor(n: 1.5, scal: 1)", 'floor("1.5")', "round up(5.5, 6177)",
    "stddev([47])", "product([])", "all(123)", 'not("true")', "null()", '"abs"(-1)',
    "day of year(value: @\"1970-01-01\")", 'number("1,000", ",", ",")', 'split("foo")',
    "sqrt(-1)", "log(0)", 'string join([1, 2], "X")',
])
def test_builtins_refuse_bad_calls_with_an_error(expression):
    assert null_with_error(expression)


@pytest.mark.parametrize("expression, expected", [
    ('matches("abc", "ABC", "i")', True), ('matches("x", "[A-Z-[OI]]", "i")', True),
    ('matches("O", "[A-Z-[OI]]", "i")', False), ('matches("Mary\\u000DJones", "Mary.Jones")',
                                                 False),
    ('matches("hello world", "hello\\ sworld", "x")', True),
    ('matches("hello world", "\\p{IsBasicLatin}+")', True),
    ('matches("aA", "(a)\\1", "i")', True),
    ('replace("abcd", "(ab)|(a)", "[1=$1][2=$2]")', "[1=ab][2=]cd"),
    ('replace("0123456789", "(\\d{3})(\\d{3})(\\d{4})", "($1) $2-$3")', "(012) 345-6789"),
    ('replace("facetiously", "[iouy]", "[$0]")', "facet[i][o][u]sl[y]"),
    ('split("a;b;;", ";")', ["a", "b", "", ""]),
])
def test_regular_expressions_are_xpath_flavoured(expression, expected):
    assert value(expression) == expected


@pytest.mark.parametrize("expression", [
    'matches("h", "(.)\\3")', 'matches("abcd", "(asd)[\\1]")', 'matches("a", "a", "p")',
    'matches("hello world", "\\p{ IsBasicLatin}+")', 'replace("abc", "b", "$")',
])
def test_invalid_regular_expressions_are_null(expression):
    assert null_with_error(expression)


@pytest.mark.parametrize("expression, expected", [
    ("before(1, 10)", True), ("before(1, [2..5])", True), ("before([1..5], [5..10])", False),
    ("before([1..5), [5..10])", True), ("after([5..10], 1)", True),
    ("meets([1..5], [5..10])", True), ("met by([5..10], [1..5])", True),
    ("overlaps([1..5], [3..8])", True), ("overlaps before([1..5], [3..8])", True),
    ("overlaps after([3..8], [1..5])", True), ("finishes(5, [1..5])", True),
    ("finished by([1..5], [3..5])", True), ("includes([1..10], 5)", True),
    ("during([3..4], [1..10])", True), ("starts(1, [1..5])", True),
    ("started by([1..5], [1..3])", True), ("coincides([1..5], [1..5])", True),
    ("before((< 5), 5)", True), ("includes((> 3), 100)", True),
])
def test_range_relations(expression, expected):
    assert value(expression) is expected


@pytest.mark.parametrize("expression, expected", [
    ('(function(a, b) external {java: {class: "java.lang.Math", '
     'method signature: "max(double, double)"}})(123, 456)', D(456)),
    ('(function(s) external {java: {class: "java.lang.Integer", '
     'method signature: "valueOf(java.lang.String)"}})("123")', D(123)),
    ('(function(f, s) external {java: {class: "java.lang.String", '
     'method signature: "format(java.lang.String, [Ljava.lang.Object;)"}})("foo %s", "bar")',
     "foo bar"),
])
def test_external_java_functions_map_to_a_fixed_list(expression, expected):
    assert value(expression) == expected


@pytest.mark.parametrize("signature", [
    '"java.lang.Runtime", method signature: "exec(java.lang.String)"',
    '"java.lang.Math", method signature: "max(java.lang.String, java.lang.String)"',
])
def test_other_external_functions_are_null(signature):
    assert null_with_error(f'(function(a) external {{java: {{class: {signature}}}}})("x")')


def test_range_value_properties():
    rng = value("[1..10)")
    assert isinstance(rng, Range) and rng.start == D(1) and not rng.end_included
