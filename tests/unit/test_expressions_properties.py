"""Property-based tests: random integer expressions evaluate as arithmetic computed here.

The expected value is computed from the generated tree by the test itself (never by eval of
the text), with JUEL's own rules: integer %, truncating toward zero; / always a float.
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import ExpressionError
from engine.expressions import compile_expression, compile_template

_SYMBOL_OR_WORD = {
    "+": ["+"], "-": ["-"], "*": ["*"], "%": ["%", "mod"], "/": ["/", "div"],
    "<": ["<", "lt"], ">": [">", "gt"], "<=": ["<=", "le"], ">=": [">=", "ge"],
    "==": ["==", "eq"], "!=": ["!=", "ne"], "&&": ["&&", "and"], "||": ["||", "or"],
}


class _DivByZero:
    """Marker value: the expected outcome is JUEL's integer-modulo-by-zero error."""

    def __repr__(self) -> str:
        return "DIV0"


DIV0 = _DivByZero()


def java_mod(a: int, b: int) -> int | _DivByZero:
    if b == 0:
        return DIV0
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def strict(op):
    """Both operands are evaluated (left to right), so an error in either is the result."""
    return lambda a, b: DIV0 if a is DIV0 or b is DIV0 else op(a, b)


def _int_leaf(variables: dict[str, int]):
    literal = st.integers(min_value=-1000, max_value=1000).map(
        lambda n: (str(n) if n >= 0 else f"({n})", n))
    names = st.sampled_from([f"v{i}" for i in range(4)])
    variable = names.map(lambda name: (name, variables[name]))
    return st.one_of(literal, variable)


VARIABLES = {"v0": 3, "v1": -7, "v2": 0, "v3": 12}


@st.composite
def int_expr(draw, depth: int = 3):
    """(text, value) of an integer expression built from + - * % and unary minus."""
    if depth == 0 or draw(st.booleans()):
        return draw(_int_leaf(VARIABLES))
    kind = draw(st.sampled_from(["+", "-", "*", "%", "neg"]))
    if kind == "neg":
        text, value = draw(int_expr(depth - 1))
        return f"-({text})", DIV0 if value is DIV0 else -value
    lt, lv = draw(int_expr(depth - 1))
    rt, rv = draw(int_expr(depth - 1))
    op = draw(st.sampled_from(_SYMBOL_OR_WORD[kind]))
    space = draw(st.sampled_from([" ", "  ", "\t", "\n"]))
    value = strict({"+": lambda a, b: a + b, "-": lambda a, b: a - b,
                    "*": lambda a, b: a * b, "%": java_mod}[kind])(lv, rv)
    return f"({lt}){space}{op}{space}({rt})", value


@st.composite
def bool_expr(draw, depth: int = 2):
    """(text, value) of a boolean expression: comparisons of int expressions, && || ! ?:."""
    if depth == 0 or draw(st.booleans()):
        lt, lv = draw(int_expr(2))
        rt, rv = draw(int_expr(2))
        kind = draw(st.sampled_from(["<", ">", "<=", ">=", "==", "!="]))
        op = draw(st.sampled_from(_SYMBOL_OR_WORD[kind]))
        value = strict({"<": lambda a, b: a < b, ">": lambda a, b: a > b,
                        "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
                        "==": lambda a, b: a == b, "!=": lambda a, b: a != b}[kind])(lv, rv)
        return f"({lt}) {op} ({rt})", value
    kind = draw(st.sampled_from(["&&", "||", "!", "?:"]))
    if kind == "!":
        text, value = draw(bool_expr(depth - 1))
        return (f"{draw(st.sampled_from(['!', 'not ']))}({text})",
                DIV0 if value is DIV0 else not value)
    at, av = draw(bool_expr(depth - 1))
    bt, bv = draw(bool_expr(depth - 1))
    if kind == "?:":
        ct, cv = draw(bool_expr(depth - 1))
        return f"({ct}) ? ({at}) : ({bt})", cv if cv is DIV0 else (av if cv else bv)
    op = draw(st.sampled_from(_SYMBOL_OR_WORD[kind]))
    # && and || short-circuit: the right side (and its error) only counts when it is evaluated
    if av is DIV0:
        value = DIV0
    elif kind == "&&":
        value = bv if av else False
    else:
        value = True if av else bv
    return f"({at}) {op} ({bt})", value


def _check(text: str, expected) -> None:
    expression = compile_expression("${" + text + "}")
    if expected is DIV0:
        try:
            expression.evaluate(VARIABLES)
        except ExpressionError as err:
            assert "Division by zero" in err.message
            return
        raise AssertionError(f"{text} should fail with division by zero")
    result = expression.evaluate(VARIABLES)
    assert result == expected and type(result) is type(expected), (text, result, expected)


@settings(max_examples=400, deadline=None)
@given(int_expr(4))
def test_integer_arithmetic_matches(expr):
    text, value = expr
    assert value is DIV0 or type(value) is int
    _check(text, value)


@settings(max_examples=400, deadline=None)
@given(bool_expr(3))
def test_boolean_expressions_match(expr):
    text, value = expr
    assert value is DIV0 or type(value) is bool
    _check(text, value)


@st.composite
def flat_chain(draw):
    """An unparenthesized chain like ``3 - 4 * 2 + 1``: checks precedence and associativity."""
    numbers = draw(st.lists(st.integers(0, 50), min_size=1, max_size=8))
    ops = draw(st.lists(st.sampled_from(["+", "-", "*"]), min_size=len(numbers) - 1,
                        max_size=len(numbers) - 1))
    return numbers, ops


def _precedence_value(numbers: list[int], ops: list[str]) -> int:
    """Evaluate with * before + and -, left to right: group products, then fold the sums."""
    terms, signs = [numbers[0]], []
    for op, n in zip(ops, numbers[1:]):
        if op == "*":
            terms[-1] *= n
        else:
            terms.append(n)
            signs.append(op)
    total = terms[0]
    for sign, term in zip(signs, terms[1:]):
        total = total + term if sign == "+" else total - term
    return total


@settings(max_examples=300, deadline=None)
@given(flat_chain())
def test_unparenthesized_chains_follow_precedence(chain):
    numbers, ops = chain
    text = str(numbers[0]) + "".join(f" {op} {n}" for op, n in zip(ops, numbers[1:]))
    assert compile_expression(text).evaluate({}) == _precedence_value(numbers, ops)


@settings(max_examples=200, deadline=None)
@given(st.integers(-10**6, 10**6), st.integers(-10**6, 10**6).filter(lambda n: n != 0))
def test_division_is_float_division(a, b):
    result = compile_expression("${a div b}").evaluate({"a": a, "b": b})
    assert isinstance(result, float)
    assert math.isclose(result, a / b, rel_tol=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.integers(-10**9, 10**9),
       st.text(alphabet="abc xyz-", max_size=10).filter(lambda t: t.strip()))
def test_templates_render_integers_and_text(n, text):
    assert compile_template(f"{text}${{n}}{text}").evaluate({"n": n}) == f"{text}{n}{text}"
