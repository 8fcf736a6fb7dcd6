"""Compiled FEEL expressions and the one-call ``evaluate`` helper."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from engine.budget import EvaluationLimits, Meter
from engine.feel.builtin_registry import builtin, text
from engine.feel.builtins import BUILTINS
from engine.feel.compiler import Compiler, Node
from engine.feel.cursor import needs_declaring
from engine.feel.errors import FeelError
from engine.feel.operators import compare
from engine.feel.parser import parse_expression
from engine.feel.scope import Scope
from engine.feel.values import Range, to_feel


class CompiledExpression:
    """A FEEL expression parsed and compiled once; immutable and safe to share across threads."""

    __slots__ = ("source", "node")

    def __init__(self, source: str, node: Node) -> None:
        self.source = source
        #: the compiled closure ``scope -> value`` (``evaluate_in`` without the method call)
        self.node = node

    def evaluate(self, context: Mapping[str, Any] | None = None,
                 errors: list[str] | None = None, *, limits: EvaluationLimits | None = None,
                 types: Mapping[str, Any] | None = None) -> Any:
        """Evaluate with ``context`` (names -> Python values); FEEL values come back.

        Args:
            context: variables; ints and floats are read as ``Decimal``, Python dates and
                times as FEEL's.
            errors: if given, runtime problems that yielded null are appended to it.
            limits: the evaluation budget (default: the configured one).
            types: named types ``instance of`` may refer to.

        Raises:
            EvaluationLimitError: the evaluation went past its budget.
        """
        scope = Scope(FeelView(context or {}), errors=errors if errors is not None else [],
                      meter=Meter(limits), types=types)
        return evaluate_node(self.node, scope)

    def evaluate_in(self, scope: Scope) -> Any:
        """Evaluate in a ready scope whose values are already FEEL values (DMN hot path)."""
        return self.node(scope)

    def __repr__(self) -> str:
        return f"CompiledExpression({self.source!r})"


def evaluate_node(node: Node, scope: Scope) -> Any:
    """Run a compiled node; a function that calls itself without end gives null."""
    try:
        return node(scope)
    except RecursionError:
        scope.error("recursion too deep")
        return None


class FeelView(dict[str, Any]):
    """Caller variables converted to FEEL lazily, on first lookup."""

    def __init__(self, source: Mapping[str, Any]) -> None:
        super().__init__()
        self._source = source

    def get(self, key: str, default: Any = None) -> Any:
        if key in self:
            return self[key]
        if key not in self._source:
            return default
        value = self[key] = to_feel(self._source[key])
        return value


@lru_cache(maxsize=8192)
def special_names(names: frozenset[str]) -> frozenset[str]:
    """The names among ``names`` the parser must be told about (see cursor.needs_declaring)."""
    return frozenset(n for n in names if needs_declaring(n))


def compile_expression(text: str, names: Iterable[str] = ()) -> CompiledExpression:
    """Parse and compile a FEEL expression (cached); raises FeelError if invalid.

    Args:
        names: names in scope that hold spaces around keywords or operator characters
            (``Another Date and Time``, ``Date-Time``), so that they read as one name.
    """
    declared = names if isinstance(names, frozenset) else frozenset(names)
    return _compile(text, special_names(declared) if declared else declared)


@lru_cache(maxsize=8192)
def _compile(text: str, names: frozenset[str]) -> CompiledExpression:
    tree = parse_expression(text.strip(), names | BUILTIN_NAMES)
    return CompiledExpression(text, Compiler(text).compile(tree))


def evaluate(text: str, context: Mapping[str, Any] | None = None,
             errors: list[str] | None = None) -> Any:
    """Compile (cached) and evaluate a FEEL expression in one call."""
    return compile_expression(text).evaluate(context, errors)


def _builtin_names() -> frozenset[str]:
    return frozenset(n for n in BUILTINS if needs_declaring(n))


BUILTIN_NAMES = _builtin_names()


# ---------------------------------------------------------------- range(text)
# A built-in that evaluates FEEL text, so it lives with the evaluator rather than with the
# other range functions (engine.feel.builtins_ranges): no family imports the compiler.
_LITERAL_CALLS = {"date", "time", "date and time", "duration"}


@builtin("range", "from")
def _range(source: Any) -> Range:
    body = text(source, "from").strip()
    try:
        tree = parse_expression(body, BUILTIN_NAMES)
    except FeelError as exc:
        raise ValueError(exc.message) from None
    if tree[0] != "range" or not all(_literal(end) for end in tree[2:4]):
        raise ValueError(f"{body!r} is not a range of literal values")
    value = compile_expression(body).evaluate({})
    if not isinstance(value, Range):
        raise ValueError(f"{body!r} is not a valid range")
    if value.start is None and value.end is None:
        raise ValueError("a range needs at least one end")
    if value.start is not None and value.end is not None and \
            compare("<=", value.start, value.end, Scope({})) is not True:
        raise ValueError("the start of a range must not be after its end")
    return value


def _literal(tree: tuple[Any, ...]) -> bool:
    kind = tree[0]
    if kind in ("num", "str", "temporal", "null"):
        return True
    if kind == "call":
        _, callee, args, named = tree
        return callee[0] == "name" and callee[1] in _LITERAL_CALLS and named is None and \
            len(args) == 1 and args[0][0] == "str"
    return False
