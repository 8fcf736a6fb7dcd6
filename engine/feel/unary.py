"""DMN input entries ("unary tests"): ``>= 0.8``, ``[1..5]``, ``"a","b"``, ``not(...)``, ``-``.

A cell is compiled once into a :class:`UnaryTests` whose ``matches(value, ...)`` answers
True, False, or None (FEEL null, e.g. comparing a string with a number).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Callable, Mapping

from lark import Tree

from engine.feel import operators as ops
from engine.feel.compiler import Compiler, is_constant, membership, uses_input
from engine.feel.parser import parse
from engine.feel.scope import Scope
from engine.feel.values import Range, to_feel

Test = Callable[[Any, Scope], "bool | None"]

_NEGATION = re.compile(r"^\s*not\s*\((.*)\)\s*$", re.S)


class UnaryTests:
    """A compiled input entry. Immutable, so one instance serves every thread."""

    __slots__ = ("source", "_tests", "_negated", "is_wildcard")

    def __init__(self, source: str, tests: list[Test], negated: bool) -> None:
        self.source = source
        self._tests = tests
        self._negated = negated
        self.is_wildcard = not tests  # `-` or empty: matches anything, even null

    def matches(self, value: Any, context: Mapping[str, Any] | Scope | None = None
                ) -> bool | None:
        """Whether ``value`` passes the cell; None when the answer is FEEL null.

        Args:
            value: the input value (Python or FEEL representation).
            context: other variables the cell may name (a mapping or a Scope).
        """
        if not self._tests:
            return True
        scope = context if isinstance(context, Scope) else Scope(_FeelView(context or {}))
        return self.test(to_feel(value), scope)

    def test(self, value: Any, scope: Scope) -> bool | None:
        """``matches`` for an already-converted value and a ready scope (the DMN hot path)."""
        result: bool | None = False
        for test in self._tests:
            verdict = test(value, scope)
            if verdict is True:
                result = True
                break
            if verdict is None:
                result = None
        if self._negated and result is not None:
            return not result
        return result

    def position(self, value: Any, scope: Scope) -> int | None:
        """Index of the first test ``value`` passes (the order of PRIORITY hit policies)."""
        for index, test in enumerate(self._tests):
            if test(value, scope) is True:
                return index
        return None

    def __repr__(self) -> str:
        return f"UnaryTests({self.source!r})"


class _FeelView(dict):
    """Converts caller values to FEEL lazily, on first lookup."""

    def __init__(self, source: Mapping[str, Any]) -> None:
        super().__init__()
        self._source = source

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        if key in self:
            return self[key]
        if key not in self._source:
            return default
        value = self[key] = to_feel(self._source[key])
        return value


def compile_unary_tests(text: str) -> UnaryTests:
    """Compile one input-entry cell; raises FeelError when it does not parse."""
    source = text if text is not None else ""
    body = source.strip()
    negated = False
    if body in ("", "-"):
        return UnaryTests(source, [], False)
    match = _NEGATION.match(body)
    if match and _balanced(match[1]):
        negated, body = True, match[1].strip()
    tree = parse(body, start="unary_tests")
    compiler = Compiler(source)
    return UnaryTests(source, [_compile_test(t, compiler) for t in tree.children], negated)


def _balanced(text: str) -> bool:
    """`not(a) or not(b)` must not be read as not( `a) or not(b` )."""
    depth, in_string = 0, False
    for ch in text:
        if ch == '"':
            in_string = not in_string
        elif not in_string:
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth < 0:
                return False
    return depth == 0


def _compile_test(tree: Tree, compiler: Compiler) -> Test:
    if tree.data == "compare_test":
        op, operand = str(tree.children[0]), compiler.compile(tree.children[1])
        if is_constant(tree.children[1]):
            bound = operand(Scope({}))
            if type(bound) is Decimal:
                return _decimal_compare(op, bound)
            return lambda value, scope: ops.compare(op, value, bound, scope)
        return lambda value, scope: ops.compare(op, value, operand(scope), scope)
    node = compiler.compile(tree)
    if uses_input(tree):
        return lambda value, scope: node(scope.child({"?": value})) is True
    if is_constant(tree):
        expected = node(Scope({}))
        if type(expected) in (Decimal, str):
            kind = type(expected)
            return lambda value, scope: value == expected if type(value) is kind \
                else _equality_test(value, expected, scope)
    return lambda value, scope: _equality_test(value, node(scope), scope)


def _decimal_compare(op: str, bound: Decimal) -> Test:
    check = {"<": bound.__gt__, "<=": bound.__ge__, ">": bound.__lt__, ">=": bound.__le__,
             "=": bound.__eq__, "!=": bound.__ne__}[op]

    def compare(value: Any, scope: Scope) -> bool | None:
        if type(value) is Decimal:
            return check(value)
        return ops.compare(op, value, bound, scope)
    return compare


def _equality_test(value: Any, expected: Any, scope: Scope) -> bool | None:
    """An expression cell: equal value, member of a list, inside a range, or a true verdict."""
    if expected is None:
        return value is None
    if isinstance(expected, (list, Range)):
        if isinstance(value, list) and isinstance(expected, list):
            same = ops.equals(value, expected, scope)
            if same is True:
                return True
        return membership(value, expected, scope)
    if type(expected) is bool and type(value) is not bool:
        return expected  # a boolean expression over other variables, e.g. `Age > 18`
    if value is None:
        return False
    return ops.equals(value, expected, scope)

