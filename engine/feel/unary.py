"""DMN input entries ("unary tests"): ``>= 0.8``, ``[1..5]``, ``"a","b"``, ``not(...)``, ``-``.

A cell is compiled once into a :class:`UnaryTests` whose ``matches(value, ...)`` answers
True, False, or None (FEEL null, e.g. comparing a string with a number).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

from engine.feel import operators as ops
from engine.feel.compiler import Compiler, is_constant, uses_input
from engine.feel.expression import BUILTIN_NAMES, FeelView, special_names
from engine.feel.parser import Tree, parse_unary_tests
from engine.feel.scope import Scope
from engine.feel.values import Range, to_feel

Test = Callable[[Any, Scope], "bool | None"]


class UnaryTests:
    """A compiled input entry. Immutable, so one instance serves every thread."""

    __slots__ = ("source", "_tests", "_negated", "is_wildcard", "check", "needs_scope")

    def __init__(self, source: str, tests: list[Test], negated: bool,
                 needs_scope: bool = True) -> None:
        self.source = source
        self._tests = tests
        self._negated = negated
        self.is_wildcard = not tests  # `-` or empty: matches anything, even null
        #: whether the cell names variables (or ``?``): only then does it need its own scope
        self.needs_scope = needs_scope
        #: ``test`` itself, or for a single positive test its function (the DMN hot path)
        self.check: Test = tests[0] if len(tests) == 1 and not negated else self.test

    def matches(self, value: Any, context: Mapping[str, Any] | Scope | None = None
                ) -> bool | None:
        """Whether ``value`` passes the cell; None when the answer is FEEL null.

        Args:
            value: the input value (Python or FEEL representation).
            context: other variables the cell may name (a mapping or a Scope).
        """
        if not self._tests:
            return True
        scope = context if isinstance(context, Scope) else Scope(FeelView(context or {}))
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


def compile_unary_tests(text: str | None, names: Iterable[str] = ()) -> UnaryTests:
    """Compile one input-entry cell (cached); raises FeelError when it does not parse."""
    declared = names if isinstance(names, frozenset) else frozenset(names)
    return _compile(text if text is not None else "",
                    special_names(declared) if declared else declared)


@lru_cache(maxsize=8192)
def _compile(source: str, names: frozenset[str]) -> UnaryTests:
    body = source.strip()
    if body in ("", "-"):
        return UnaryTests(source, [], False)
    tree = parse_unary_tests(body, names | BUILTIN_NAMES)
    if tree[0] == "any":
        return UnaryTests(source, [], False)
    compiler = Compiler(source)
    needs_scope = not all(is_constant(t[2] if t[0] == "cmprange" else t) for t in tree[1])
    return UnaryTests(source, [_compile_test(t, compiler) for t in tree[1]], tree[0] == "not",
                      needs_scope)


def _compile_test(tree: Tree, compiler: Compiler) -> Test:
    if tree[0] == "cmprange":
        op, operand_tree = tree[1], tree[2]
        if is_constant(operand_tree):
            bound = compiler.compile(operand_tree)(Scope({}))
            if type(bound) is Decimal:
                return _decimal_compare(op, bound)
        return compiler.test(tree)
    node = compiler.compile(tree)
    if uses_input(tree):
        return lambda value, scope: node(scope.child({"?": value})) is True
    if is_constant(tree):
        expected = node(Scope({}))
        if type(expected) in (Decimal, str):
            kind = type(expected)
            return lambda value, scope: value == expected if type(value) is kind \
                else _equality_test(value, expected, scope)
        if isinstance(expected, Range) and expected.op is None and \
                type(expected.start) is Decimal and type(expected.end) is Decimal:
            return _decimal_range(expected)
    return lambda value, scope: _equality_test(value, node(scope), scope)


def _decimal_range(rng: Range) -> Test:
    """A constant numeric range cell such as ``[0..5[``: compared directly for numbers."""
    low, high = rng.start, rng.end
    above = low.__le__ if rng.start_included else low.__lt__
    below = high.__ge__ if rng.end_included else high.__gt__

    def in_range(value: Any, scope: Scope) -> bool | None:
        if type(value) is Decimal:
            return bool(above(value) and below(value))
        return ops.matches(value, rng, scope) if value is not None else None
    return in_range


def _decimal_compare(op: str, bound: Decimal) -> Test:
    check = {"<": bound.__gt__, "<=": bound.__ge__, ">": bound.__lt__, ">=": bound.__le__,
             "=": bound.__eq__, "!=": bound.__ne__}[op]
    if op in ("=", "!="):
        def compare(value: Any, scope: Scope) -> bool | None:
            if type(value) is Decimal:
                return check(value)
            return ops.compare(op, value, bound, scope)
        return compare
    as_range = Range.comparison(op, bound)

    def in_range(value: Any, scope: Scope) -> bool | None:
        if type(value) is Decimal:
            return check(value)
        return ops.in_range(value, as_range, scope)
    return in_range


def _equality_test(value: Any, expected: Any, scope: Scope) -> bool | None:
    """An expression cell: equal value, member of a list, inside a range, or a true verdict."""
    if expected is None:
        return value is None
    if isinstance(expected, (list, Range)):
        return ops.matches(value, expected, scope)
    if type(expected) is bool and type(value) is not bool:
        return expected  # a boolean expression over other variables, e.g. `Age > 18`
    if value is None:
        return False
    return ops.equals(value, expected, scope)
