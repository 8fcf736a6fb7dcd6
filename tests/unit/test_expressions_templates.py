"""Camunda composite templates: plain text, a lone ${...}, and mixed text."""

from __future__ import annotations

import math

import pytest

from engine.errors import ExpressionError
from engine.expressions import Template, UnknownVariableError, compile_template


def render(text: str, **variables):
    return compile_template(text, element_id="Param_1").evaluate(variables)


@pytest.mark.parametrize("text", ["PT5M", "R3/PT10S", "mlc.retrain", "", "  spaced  ",
                                  "price $5 {net}", "0 0 * * *"])
def test_plain_text_is_returned_unchanged(text):
    t = compile_template(text)
    assert t.is_literal
    assert t.variables == frozenset()
    assert t.evaluate({}) == text


@pytest.mark.parametrize("text, variables, expected", [
    ("${n}", {"n": 5}, 5), ("${n}", {"n": 0.5}, 0.5), ("${flag}", {"flag": False}, False),
    ("${x}", {"x": None}, None), ("${a.b}", {"a": {"b": [1, 2]}}, [1, 2]),
    ("  ${n}\n", {"n": 5}, 5), ("#{n}", {"n": 5}, 5), ("${'text'}", {}, "text"),
])
def test_a_lone_expression_returns_the_typed_value(text, variables, expected):
    t = compile_template(text)
    assert not t.is_literal
    result = t.evaluate(variables)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("text, variables, expected", [
    ("Model ${MODEL_ID} failed", {"MODEL_ID": 7}, "Model 7 failed"),
    ("mlc.${kind}", {"kind": "retrain"}, "mlc.retrain"),
    ("${a}${b}", {"a": 1, "b": 2}, "12"),
    ("${a}-${b}", {"a": "x", "b": "y"}, "x-y"),
    ("v=${x}", {"x": None}, "v="),                 # null is "" in composite text (JUEL)
    ("v=${x}", {"x": True}, "v=true"),
    ("v=${x}", {"x": 2.0}, "v=2.0"),
    ("v=${4 / 2}", {}, "v=2.0"),
    ("v=${x}", {"x": 1e10}, "v=1.0E10"),
    ("v=${x}", {"x": 1.5e-5}, "v=1.5E-5"),
    ("v=${x}", {"x": 0.001}, "v=0.001"),
    ("v=${x}", {"x": 1234567.0}, "v=1234567.0"),
    ("v=${x}", {"x": 12345678.9}, "v=1.23456789E7"),
    ("v=${x}", {"x": -0.0}, "v=-0.0"),
    ("v=${x}", {"x": math.inf}, "v=Infinity"),
    ("v=${x}", {"x": math.nan}, "v=NaN"),
    ("v=${x}", {"x": [1, None, "a"]}, "v=[1, null, a]"),
    ("v=${x}", {"x": {"k": 1.0}}, "v={k=1.0}"),
    ("${a}.", {"a": 1}, "1."),
    ("${a ? 'ok' : 'bad'}: ${s.toUpperCase()}", {"a": True, "s": "x"}, "ok: X"),
    ("brace ${'}'} end", {}, "brace } end"),
    ("quote ${\"a}b\"} end", {}, "quote a}b end"),
])
def test_mixed_text_renders_a_string(text, variables, expected):
    t = compile_template(text)
    assert isinstance(t, Template)
    assert t.evaluate(variables) == expected


def test_escaped_delimiters_are_literal():
    assert render(r"cost \${x} is ${x}", x=3) == "cost ${x} is 3"
    assert render(r"\#{x}") == "#{x}"


def test_template_variables_union():
    t = compile_template("${a.b} and ${c} and ${execution.getVariable('d')}")
    assert t.variables == frozenset({"a", "c"})
    assert t.optional_variables == frozenset({"d"})


def test_template_errors_name_the_text_and_element():
    with pytest.raises(UnknownVariableError) as info:
        render("Model ${MODEL_ID} failed")
    assert info.value.variable == "MODEL_ID"
    assert info.value.expression == "Model ${MODEL_ID} failed"
    assert info.value.element_id == "Param_1"


@pytest.mark.parametrize("text, fragment", [
    ("Model ${MODEL_ID failed", "missing '}'"), ("a ${} b", "Nothing to evaluate"),
    ("a ${x +} b", "end of input"), ("a ${x.foo()} b", "'foo' is not allowed"),
])
def test_template_syntax_errors(text, fragment):
    with pytest.raises(ExpressionError) as info:
        compile_template(text, element_id="Timer_1")
    assert fragment in info.value.message
    assert info.value.expression == text
    assert info.value.element_id == "Timer_1"
