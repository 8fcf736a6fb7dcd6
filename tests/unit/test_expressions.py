"""Operators, coercion, access, methods and errors of the JUEL-subset evaluator."""

from __future__ import annotations

import ast
import math
from decimal import Decimal
from pathlib import Path

import pytest

from engine.errors import ExpressionError
from engine.expressions import (
    Expression,
    UnknownVariableError,
    compile_expression,
    compile_template,
    is_expression,
)


def ev(text: str, **variables):
    return compile_expression(text, element_id="Test_1").evaluate(variables)


def fails(text: str, **variables) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        ev(text, **variables)
    return info.value


# literals ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("${42}", 42), ("${0}", 0), ("${0.8}", 0.8), ("${1e3}", 1000.0), ("${1.5E-2}", 0.015),
    ("${.5}", 0.5), ("${3.}", 3.0), ("${'it\\'s'}", "it's"),
    ('${"say \\"hi\\""}', 'say "hi"'), ("${'back\\\\slash'}", "back\\slash"),
    ("${'dq \\\" in sq'}", 'dq " in sq'), ("${''}", ""), ("${true}", True), ("${false}", False),
    ("${null}", None), ("${'}'}", "}"),
])
def test_literals(text, expected):
    result = ev(text)
    assert result == expected and type(result) is type(expected)


def test_integer_literal_is_int_and_decimal_literal_is_float():
    assert type(ev("${7}")) is int
    assert type(ev("${7.0}")) is float


def test_unknown_string_escape_is_a_syntax_error():
    with pytest.raises(ExpressionError, match="Syntax error"):
        compile_expression(r"${'a\nb'}")


# variables, property and index access ---------------------------------------------------------

def test_variables_and_nested_access():
    scope = {"a": {"b": [10, {"c": "deep"}]}, "k": "b", "i": 1}
    assert ev("${a.b[0]}", **scope) == 10
    assert ev("${a['b'][1].c}", **scope) == "deep"
    assert ev('${a["b"][1]["c"]}', **scope) == "deep"
    assert ev("${a[k][i].c}", **scope) == "deep"
    assert ev("${$x_1}", **{"$x_1": 3}) == 3


def test_missing_map_key_and_list_index_out_of_range_are_null():
    assert ev("${a.missing}", a={}) is None
    assert ev("${a[5]}", a=[1]) is None
    assert ev("${a[-1]}", a=[1]) is None
    assert ev("${a.x.y.z}", a={}) is None


def test_null_base_and_null_key_give_null():
    assert ev("${a.b}", a=None) is None
    assert ev("${a[k]}", a={"x": 1}, k=None) is None


def test_list_index_coercion():
    assert ev("${a['1']}", a=["x", "y"]) == "y"
    assert ev("${a[1.9]}", a=["x", "y"]) == "y"
    assert "list index" in fails("${a['one']}", a=["x"]).message
    assert "list index" in fails("${a[true]}", a=["x"]).message


def test_variable_holding_null_is_not_unknown():
    assert ev("${x}", x=None) is None
    assert ev("${x == null}", x=None) is True


def test_property_access_on_other_types_is_refused():
    class Obj:
        secret = "s"
    for value in (Obj(), 5, True, "text"):
        err = fails("${o.secret}", o=value)
        assert "maps and lists" in err.message


def test_variables_property_lists_top_level_names():
    e = compile_expression("${a.b > c[d] && !empty e.f && execution.getVariable('g') == 1}")
    assert e.variables == frozenset({"a", "c", "d", "e"})
    assert e.optional_variables == frozenset({"g"})
    assert isinstance(e.variables, frozenset)
    assert e.source == "${a.b > c[d] && !empty e.f && execution.getVariable('g') == 1}"


# operators in symbol and word form -----------------------------------------------------------

@pytest.mark.parametrize("symbol, word", [
    ("==", "eq"), ("!=", "ne"), ("<", "lt"), (">", "gt"), ("<=", "le"), (">=", "ge"),
])
@pytest.mark.parametrize("a, b", [(1, 2), (2, 1), (2, 2)])
def test_comparison_operators(symbol, word, a, b):
    expected = {"==": a == b, "!=": a != b, "<": a < b, ">": a > b, "<=": a <= b,
                ">=": a >= b}[symbol]
    assert ev(f"${{a {symbol} b}}", a=a, b=b) is expected
    assert ev(f"${{a {word} b}}", a=a, b=b) is expected


@pytest.mark.parametrize("a", [True, False])
@pytest.mark.parametrize("b", [True, False])
def test_boolean_operators(a, b):
    for op in ("&&", "and"):
        assert ev(f"${{a {op} b}}", a=a, b=b) is (a and b)
    for op in ("||", "or"):
        assert ev(f"${{a {op} b}}", a=a, b=b) is (a or b)
    assert ev("${!a}", a=a) is (not a)
    assert ev("${not a}", a=a) is (not a)


def test_and_or_short_circuit():
    # the right side would fail (unknown variable) if it were evaluated
    assert ev("${false && nope}") is False
    assert ev("${true || nope}") is True
    assert ev("${false and nope}") is False
    assert ev("${true or nope}") is True
    with pytest.raises(UnknownVariableError):
        ev("${true && nope}")


@pytest.mark.parametrize("text, expected", [
    ("${7 + 3}", 10), ("${7 - 3}", 4), ("${7 * 3}", 21), ("${7 / 2}", 3.5), ("${7 div 2}", 3.5),
    ("${7 % 3}", 1), ("${7 mod 3}", 1), ("${-7 % 3}", -1), ("${7 % -3}", 1),
    ("${-7.5 % 2}", -1.5), ("${4 / 2}", 2.0), ("${-(3)}", -3), ("${- -3}", 3),
    ("${0.1 + 0.2}", 0.1 + 0.2), ("${2 * 0.5}", 1.0), ("${10 - 2.5}", 7.5),
])
def test_arithmetic(text, expected):
    result = ev(text)
    assert result == expected and type(result) is type(expected)


def test_division_always_gives_a_float():
    assert type(ev("${6 / 3}")) is float
    assert type(ev("${6 div 3}")) is float


def test_division_by_zero_follows_java_doubles():
    assert ev("${1 / 0}") == math.inf
    assert ev("${-1 / 0}") == -math.inf
    assert math.isnan(ev("${0 / 0}"))
    assert math.isnan(ev("${1.5 % 0}"))


def test_integer_modulo_by_zero_is_an_error():
    assert "Division by zero" in fails("${5 % 0}").message
    assert "Division by zero" in fails("${5 mod zero}", zero=0).message


def test_decimal_values_stay_decimal():
    assert ev("${a + 1}", a=Decimal("1.10")) == Decimal("2.10")
    assert ev("${a * 0.5}", a=Decimal("3")) == Decimal("1.5")
    assert type(ev("${a / 4}", a=Decimal("1"))) is Decimal
    assert ev("${a > 1}", a=Decimal("1.01")) is True
    assert "Division by zero" in fails("${a / 0}", a=Decimal("1")).message


def test_ternary():
    assert ev("${a ? 'yes' : 'no'}", a=True) == "yes"
    assert ev("${a ? 'yes' : 'no'}", a=False) == "no"
    assert ev("${a ? 1 : b ? 2 : 3}", a=False, b=True) == 2  # right-associative
    assert ev("${true ? 1 : nope}") == 1  # the other branch is not evaluated
    assert ev("${a ? 1 : 2}", a=None) == 2  # null is false


@pytest.mark.parametrize("value, expected", [
    (None, True), ("", True), ([], True), ({}, True), ((), True),
    ("x", False), ([0], False), ({"k": None}, False), (0, False), (False, False),
])
def test_empty(value, expected):
    assert ev("${empty x}", x=value) is expected
    assert ev("${not empty x}", x=value) is (not expected)
    assert ev("${!empty x}", x=value) is (not expected)


# precedence ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("${1 + 2 * 3}", 7), ("${(1 + 2) * 3}", 9), ("${10 - 4 - 3}", 3), ("${2 * 3 % 4}", 2),
    ("${-2 * 3}", -6), ("${1 + 2 < 4}", True), ("${1 < 2 == true}", True),
    ("${true || false && false}", True), ("${(true || false) && false}", False),
    ("${!true || true}", True), ("${!(true || true)}", False),
    ("${1 == 1 && 2 != 2 ? 'a' : 'b'}", "b"), ("${!empty a && true}", True), ("${empty a || true}", True),
    ("${8 / 4 / 2}", 1.0), ("${a.b + 1 * 2}", 5), ("${-a.b}", -3),
    ("${not (1 gt 2) and 3 ge 3}", True), ("${1 lt 2 eq 2 gt 1}", True),
])
def test_precedence(text, expected):
    assert ev(text, a={"b": 3}) == expected


def test_not_binds_tighter_than_comparison():
    # not 1 gt 2  is  (not 1) gt 2, and 1 is not a boolean in JUEL
    assert "boolean" in fails("${not 1 gt 2}").message


def test_reserved_words_are_not_identifiers():
    for text in ("${and}", "${a.div}", "${empty.x}", "${a.null}"):
        with pytest.raises(ExpressionError, match="Syntax error"):
            compile_expression(text)
    assert ev("${android + order + nothing}", android=1, order=2, nothing=3) == 6


def test_empty_binds_tighter_than_comparison():
    # empty a == false  is  (empty a) == false
    assert ev("${empty a == false}", a="x") is True


# coercion rules ------------------------------------------------------------------------------

def test_equality_coerces_numeric_strings_to_numbers():
    assert ev("${a == 5}", a="5") is True
    assert ev("${a == 5.0}", a="5") is True
    assert ev("${a == 0.5}", a="0.50") is True
    assert ev("${1 == 1.0}") is True
    assert ev("${a != 5}", a="6") is True


def test_equality_of_number_with_non_numeric_string_is_an_error():
    err = fails("${a == 5}", a="abc")
    assert "Cannot coerce 'abc'" in err.message


def test_equality_with_booleans_coerces_strings_like_boolean_valueof():
    assert ev("${a == true}", a="TRUE") is True
    assert ev("${a == false}", a="yes") is True
    assert "boolean" in fails("${a == true}", a=[1]).message
    assert "number" in fails("${a == 1}", a=True).message


def test_equality_of_strings_and_null():
    assert ev("${'a' == 'a'}") is True
    assert ev("${'a' eq 'b'}") is False
    assert ev("${null == null}") is True
    assert ev("${x == null}", x=0) is False
    assert ev("${x != null}", x="") is True
    assert ev("${a == b}", a=[1, 2], b=[1, 2]) is True
    assert ev("${a == b}", a={"k": 1}, b={"k": 2}) is False


def test_relational_comparisons_with_null_are_false_except_identity():
    assert ev("${x < 1}", x=None) is False
    assert ev("${x > 1}", x=None) is False
    assert ev("${1 < x}", x=None) is False
    assert ev("${1 >= x}", x=None) is False
    assert ev("${null <= null}") is True
    assert ev("${null ge null}") is True
    assert ev("${null < null}") is False


def test_relational_coercion():
    assert ev("${a < 10}", a="9") is True       # numeric, not lexical
    assert ev("${a < b}", a="9", b="10") is False  # two strings: lexical
    assert ev("${a > 0.5}", a="0.75") is True
    assert ev("${false < true}") is True
    assert "Cannot compare" in fails("${a < b}", a=[1], b=[2]).message
    assert "number" in fails("${a < 1}", a="abc").message


def test_plus_is_numeric_only():
    assert ev("${a + 1}", a="41") == 42
    assert ev("${a + b}", a="1.5", b="1") == 2.5
    err = fails("${a + 'x'}", a=1)
    assert "Cannot coerce 'x'" in err.message
    assert "number" in fails("${a + b}", a="model", b="-v2").message
    assert "number" in fails("${true + 1}").message
    assert "number" in fails("${a * 2}", a=[1]).message


def test_null_and_empty_string_are_zero_in_arithmetic():
    assert ev("${a + 1}", a=None) == 1
    assert ev("${a + b}", a=None, b=None) == 0
    assert ev("${'' + 2}") == 2
    assert ev("${-x}", x=None) == 0
    assert ev("${-x}", x="2.5") == -2.5


def test_logical_operators_coerce_like_juel():
    assert ev("${a && true}", a="true") is True
    assert ev("${a || false}", a="") is False
    assert ev("${a || false}", a=None) is False
    assert ev("${!a}", a="False") is True
    assert "boolean" in fails("${a && true}", a=1).message
    assert "boolean" in fails("${!a}", a=[]).message
    assert "boolean" in fails("${a ? 1 : 2}", a=0).message


# execution context and methods ---------------------------------------------------------------

EXECUTION = {"processBusinessKey": "BK-1", "processInstanceId": "pi-9", "activityId": "Task_1"}


def test_execution_get_variable_reads_the_scope_and_null_when_absent():
    assert ev("${execution.getVariable('x')}", x=5) == 5
    assert ev('${execution.getVariable("x")}', x=5) == 5
    assert ev("${execution.getVariable('x')}") is None
    assert ev("${execution.getVariable(n)}", n="x", x="v") == "v"
    assert ev("${execution.hasVariable('x')}", x=None) is True
    assert ev("${execution.hasVariable('x')}") is False
    assert "variable name" in fails("${execution.getVariable(1)}").message


def test_execution_fields():
    scope = {"execution": EXECUTION}
    assert ev("${execution.getProcessBusinessKey()}", **scope) == "BK-1"
    assert ev("${execution.processBusinessKey}", **scope) == "BK-1"
    assert ev("${execution.getBusinessKey()}", **scope) == "BK-1"
    assert ev("${execution.getProcessInstanceId()}", **scope) == "pi-9"
    assert ev("${execution.getActivityId()}", **scope) == "Task_1"
    assert ev("${execution.getCurrentActivityId()}", **scope) == "Task_1"


def test_execution_without_context_is_empty_not_unknown():
    assert ev("${execution.getProcessBusinessKey()}") is None
    assert ev("${execution.processBusinessKey}") is None
    assert "must be a map" in fails("${execution.getProcessBusinessKey()}",
                                    execution="x").message


def test_execution_methods_only_on_execution():
    with pytest.raises(ExpressionError, match="only be called on 'execution'"):
        compile_expression("${other.getVariable('x')}")


@pytest.mark.parametrize("text, value, expected", [
    ("${s.size()}", "abc", 3), ("${s.length()}", "abc", 3), ("${s.isEmpty()}", "", True),
    ("${s.contains('b')}", "abc", True), ("${s.contains('z')}", "abc", False),
    ("${s.startsWith('ab')}", "abc", True), ("${s.endsWith('bc')}", "abc", True),
    ("${s.endsWith('ab')}", "abc", False), ("${s.toUpperCase()}", "aBc", "ABC"),
    ("${s.toLowerCase()}", "aBc", "abc"), ("${s.trim()}", " \tx \n", "x"),
    ("${s.equals('abc')}", "abc", True), ("${s.equals(1)}", "1", False),
    ("${s.equalsIgnoreCase('ABC')}", "abc", True), ("${s.contains(1)}", "a1", True),
    ("${s.trim().toUpperCase().startsWith('X')}", " xy", True),
])
def test_string_methods(text, value, expected):
    assert ev(text, s=value) == expected


def test_java_trim_keeps_non_ascii_whitespace():
    assert ev("${s.trim()}", s="\u00a0x\u00a0") == "\u00a0x\u00a0"


@pytest.mark.parametrize("text, expected", [
    ("${l.size()}", 3), ("${l.isEmpty()}", False), ("${l.contains(2)}", True),
    ("${l.contains(5)}", False), ("${l.contains(2.0)}", False), ("${l.get(0)}", 1),
    ("${l.contains('x')}", True), ("${m.size()}", 2), ("${m.containsKey('a')}", True),
    ("${m.containsKey('z')}", False), ("${m.contains('a')}", True), ("${m.get('a')}", 1),
    ("${m.get('z')}", None), ("${m.containsValue(1)}", True), ("${m.isEmpty()}", False),
])
def test_list_and_map_methods(text, expected):
    assert ev(text, l=[1, 2, "x"], m={"a": 1, "b": [2]}) == expected


def test_list_get_out_of_range_is_an_error_unlike_indexing():
    assert "out of bounds" in fails("${l.get(3)}", l=[1]).message
    assert ev("${l[3]}", l=[1]) is None


def test_method_on_wrong_receiver_or_null_is_an_error():
    assert "not available" in fails("${n.startsWith('a')}", n=5).message
    assert "not available" in fails("${l.startsWith('a')}", l=[]).message
    assert "on null" in fails("${n.size()}", n=None).message


@pytest.mark.parametrize("text, fragment", [
    ("${s.getClass()}", "Method 'getClass' is not allowed"),
    ("${s.replace('a', 'b')}", "Method 'replace' is not allowed"),
    ("${s.__class__}", "'__class__' is not allowed"),
    ("${__builtins__}", "'__builtins__' is not allowed"),
    ("${s['__class__']}", "'__class__' is not allowed"),
    ("${s.__len__()}", "'__len__' is not allowed"),
    ("${s.size(1)}", "does not take 1 argument"),
    ("${execution.getVariable()}", "takes 1 argument"),
    ("${open('x')}", "Function calls are not supported: 'open(...)'"),
    ("${fn:upper(s)}", "Syntax error"),
])
def test_forbidden_constructs_fail_at_compile_time(text, fragment):
    with pytest.raises(ExpressionError) as info:
        compile_expression(text, element_id="Gw_1")
    assert fragment in str(info.value)
    assert info.value.expression == text
    assert info.value.element_id == "Gw_1"


# errors --------------------------------------------------------------------------------------

def test_unknown_variable_error_names_variable_expression_and_element():
    e = compile_expression("${score >= 0.8}", element_id="Flow_1")
    with pytest.raises(UnknownVariableError) as info:
        e.evaluate({"other": 1})
    err = info.value
    assert isinstance(err, ExpressionError)
    assert err.variable == "score"
    assert err.expression == "${score >= 0.8}"
    assert err.element_id == "Flow_1"
    assert "Cannot resolve identifier 'score'" in str(err)
    assert "'${score >= 0.8}'" in str(err)
    assert "'Flow_1'" in str(err)


def test_type_error_names_expression_and_element():
    e = compile_expression("${a && b}", element_id="Flow_2")
    with pytest.raises(ExpressionError) as info:
        e.evaluate({"a": 3, "b": True})
    assert info.value.expression == "${a && b}"
    assert info.value.element_id == "Flow_2"
    assert "Flow_2" in str(info.value) and "${a && b}" in str(info.value)


@pytest.mark.parametrize("text, fragment", [
    ("${a +}", "unexpected end of input"), ("${a b}", "column 3: unexpected 'b'"),
    ("${a == == b}", "unexpected '=='"), ("${a = b}", "character '='"), ("${'open}", "missing '}'"), ("${(a}", "end of input"),
    ("${}", "Nothing to evaluate"), ("${a ? b}", "end of input"), ("${a @ b}", "character '@'"),
    ("${a.empty}", "unexpected 'empty'"), ("${1 +\n}", "end of input"),
])
def test_syntax_errors(text, fragment):
    with pytest.raises(ExpressionError) as info:
        compile_expression(text, element_id="Flow_3")
    assert fragment in info.value.message
    assert info.value.expression == text and info.value.element_id == "Flow_3"


def test_deeply_nested_expression_is_a_clean_error_or_works():
    text = "${" + "(" * 3000 + "1" + ")" * 3000 + "}"
    try:
        assert compile_expression(text).evaluate({}) == 1
    except ExpressionError as err:
        assert "nested too deeply" in err.message


def test_composite_text_is_refused_by_compile_expression():
    for text in ("Model ${x}", "${a} ${b}", "${a}x"):
        with pytest.raises(ExpressionError, match="compile_template"):
            compile_expression(text)


def test_condition_must_be_boolean():
    e = compile_expression("${x}", element_id="Flow_4")
    assert e.evaluate_condition({"x": True}) is True
    for value in (None, "true", 1):
        with pytest.raises(ExpressionError, match="non-Boolean"):
            e.evaluate_condition({"x": value})


# forms of input ------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "${score >= 0.8}", "#{score >= 0.8}", "score >= 0.8", "  ${ score\n>=\t0.8 }  ",
    "${score ge 0.8}",
])
def test_delimited_bare_and_whitespace_forms(text):
    e = compile_expression(text)
    assert isinstance(e, Expression)
    assert e.evaluate({"score": 0.8}) is True
    assert e.evaluate({"score": 0.7}) is False


def test_compiled_expression_is_reusable_and_independent_of_scope():
    e = compile_expression("${n + 1}")
    assert [e.evaluate({"n": i}) for i in range(3)] == [1, 2, 3]


def test_is_expression():
    assert is_expression("${x}")
    assert is_expression("a #{x} b")
    assert not is_expression("PT5M")
    assert not is_expression("cost is $5 {approx}")


# safety --------------------------------------------------------------------------------------

def test_the_package_never_calls_eval_exec_or_compile():
    package = Path(__file__).resolve().parents[2] / "engine" / "expressions"
    sources = sorted(package.glob("*.py"))
    assert sources, "expressions package not found"
    for source in sources:
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"eval", "exec", "compile", "__import__"}, source


def test_template_and_expression_share_the_base_type():
    assert isinstance(compile_template("a ${b}"), Expression)
    assert isinstance(compile_template("plain"), Expression)
