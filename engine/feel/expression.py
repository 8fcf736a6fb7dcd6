"""Compiled FEEL expressions and the one-call ``evaluate`` helper."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

from engine.feel.compiler import Compiler, Node
from engine.feel.errors import FeelError
from engine.feel.parser import parse
from engine.feel.scope import Scope
from engine.feel.unary import UnaryTests, _FeelView, compile_unary_tests as _compile_tests


class CompiledExpression:
    """A FEEL expression parsed and compiled once; immutable and safe to share across threads."""

    __slots__ = ("source", "_node")

    def __init__(self, source: str, node: Node) -> None:
        self.source = source
        self._node = node

    def evaluate(self, context: Mapping[str, Any] | None = None,
                 errors: list[str] | None = None) -> Any:
        """Evaluate with ``context`` (names -> Python values); FEEL values come back.

        Args:
            context: variables; ints and floats are read as ``Decimal``.
            errors: if given, runtime problems that yielded null are appended to it.
        """
        scope = Scope(_FeelView(context or {}), errors=errors if errors is not None else [])
        try:
            return self._node(scope)
        except RecursionError:  # a function that calls itself without end
            scope.error("recursion too deep")
            return None

    def evaluate_in(self, scope: Scope) -> Any:
        """Evaluate in a ready scope whose values are already FEEL values (DMN hot path)."""
        return self._node(scope)

    def __repr__(self) -> str:
        return f"CompiledExpression({self.source!r})"


@lru_cache(maxsize=4096)
def compile_expression(text: str) -> CompiledExpression:
    """Parse and compile a FEEL expression (cached by text); raises FeelError if invalid."""
    try:
        tree = parse(text.strip(), start="expression")
        return CompiledExpression(text, Compiler(text).compile(tree))
    except RecursionError:
        raise FeelError("expression is nested too deeply", expression=text[:80]) from None


@lru_cache(maxsize=4096)
def compile_unary_tests(text: str) -> UnaryTests:
    """Parse and compile a DMN input entry (cached by text); raises FeelError if invalid."""
    try:
        return _compile_tests(text)
    except RecursionError:
        raise FeelError("expression is nested too deeply", expression=text[:80]) from None


def evaluate(text: str, context: Mapping[str, Any] | None = None,
             errors: list[str] | None = None) -> Any:
    """Compile (cached) and evaluate a FEEL expression in one call."""
    return compile_expression(text).evaluate(context, errors)
