"""Compile a FEEL parse tree into nested Python closures, once per text.

A compiled node is a function ``scope -> value``. Closures are much faster than walking the
tree on every evaluation, and they never touch Python's ``eval``. Parts that cannot depend on
variables are computed once, at compile time.

Tree kinds (from :mod:`engine.feel.parser`): literals ``num str bool null temporal``, names
``name input``, structures ``list context range cmprange testlist``, postfix ``path filter
call``, ``function if for some every``, logic ``or and cmp between in instance`` and
arithmetic ``add sub mul div pow neg``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from engine.errors import EvaluationLimitError
from engine.feel import operators as ops
from engine.feel.builtins import BUILTINS
from engine.feel.calls import call_function, define_function
from engine.feel.errors import FeelError
from engine.feel.members import member
from engine.feel.parser import Tree
from engine.feel.scope import MISSING, Scope
from engine.feel.sequences import bindings, filter_list, index
from engine.feel.temporal_parse import parse_temporal
from engine.feel.types import from_tree
from engine.feel.values import FeelFunction, Range

Node = Callable[[Scope], Any]
Test = Callable[[Any, Scope], "bool | None"]

_LITERALS = frozenset({"num", "str", "bool", "null"})
# Named types (item definitions) are found in the evaluation scope, so `instance of` is never
# folded at compile time.
_VARIABLE = frozenset({"name", "input", "call", "function", "filter", "for", "some", "every",
                       "temporal", "instance"})


def is_constant(tree: Tree) -> bool:
    """True when the value cannot depend on variables, so it can be computed at compile time."""
    kind = tree[0]
    if kind in _VARIABLE:
        return False
    if kind in _LITERALS:
        return True
    return all(is_constant(child) for child in _children(tree))


def uses_input(tree: Tree) -> bool:
    """Whether a tree refers to the input value with ``?``."""
    return tree[0] == "input" or any(uses_input(child) for child in _children(tree))


def _children(tree: Tree) -> Iterator[Tree]:
    for part in tree[1:]:
        if isinstance(part, tuple) and part and isinstance(part[0], str):
            yield part
        elif isinstance(part, list):
            for item in part:
                if isinstance(item, tuple) and item and isinstance(item[0], str):
                    yield item
                elif isinstance(item, tuple):  # (name, tree) pairs and iterations
                    yield from (p for p in item if isinstance(p, tuple) and p and
                                isinstance(p[0], str))


def constant(value: Any) -> Node:
    return lambda scope: value


def _named_callee(name: str) -> Node:
    """The function a call by name means: a variable holding a function, else the built-in."""

    def callee(scope: Scope) -> Any:
        found = scope.lookup(name)
        if not isinstance(found, FeelFunction):
            builtin = BUILTINS.get(name)
            if builtin is not None:
                return builtin
            if found is MISSING:
                scope.error(f"no function named {name!r}")
                return None
        return found

    return callee


class Compiler:
    """Turns one parse tree into closures. Stateless apart from the source text."""

    def __init__(self, source: str) -> None:
        self.source = source

    def compile(self, tree: Tree) -> Node:
        # one method per tree kind: _num, _str, _call, ...
        method: Callable[[Tree], Node] | None = getattr(self, "_" + tree[0], None)
        if method is None:
            raise FeelError(f"unsupported construct {tree[0]!r}", expression=self.source)
        node = method(tree)
        if tree[0] not in _LITERALS and is_constant(tree):
            probe = Scope({})
            try:
                value = node(probe)
            except EvaluationLimitError:
                return node  # too big to compute now: each evaluation meets its own budget
            if not probe.errors:  # keep failing nodes live, so each evaluation reports them
                return constant(value)
        return node

    # ---- literals and names
    def _num(self, tree: Tree) -> Node:
        return constant(tree[1])

    def _str(self, tree: Tree) -> Node:
        return constant(tree[1])

    def _bool(self, tree: Tree) -> Node:
        return constant(tree[1])

    def _null(self, tree: Tree) -> Node:
        return constant(None)

    def _temporal(self, tree: Tree) -> Node:
        text = tree[1]
        value = parse_temporal(text)
        if value is not None:
            return constant(value)
        message = f"@{text!r} is not a date, time or duration"

        def invalid(scope: Scope) -> None:
            scope.error(message)
            return None
        return invalid

    def _name(self, tree: Tree) -> Node:
        name = tree[1]
        fallback = self.compile(tree[2]) if len(tree) > 2 else None

        def var(scope: Scope) -> Any:
            value = scope.lookup(name)
            if value is MISSING:
                if fallback is not None:
                    return fallback(scope)
                function = BUILTINS.get(name)
                if function is not None:
                    return function
                scope.error(f"no variable named {name!r}")
                return None
            return value

        return var

    def _input(self, tree: Tree) -> Node:
        return lambda scope: scope.lookup("?", None)

    # ---- structures
    def _list(self, tree: Tree) -> Node:
        items = [self.compile(c) for c in tree[1]]
        return lambda scope: [item(scope) for item in items]

    def _context(self, tree: Tree) -> Node:
        entries = [(key, self.compile(value)) for key, value in tree[1]]
        keys = [key for key, _ in entries]
        duplicate = next((k for k in keys if keys.count(k) > 1), None)
        if duplicate is not None:
            message = f"context has the key {duplicate!r} twice"

            def invalid(scope: Scope) -> None:
                scope.error(message)
                return None
            return invalid

        def context(scope: Scope) -> dict[str, Any]:
            built: dict[str, Any] = {}
            inner = scope.child(built)  # later entries may use earlier ones
            for key, value in entries:
                built[key] = value(inner)
            return built

        return context

    def _range(self, tree: Tree) -> Node:
        _, start_in, low, high, end_in = tree
        start, end = self.compile(low), self.compile(high)

        def make(scope: Scope) -> Range | None:
            first, last = start(scope), end(scope)
            if first is not None and last is not None and \
                    ops.compare("<=", first, last, scope) is None:
                scope.error("the ends of a range must be of one comparable type")
                return None
            return Range(first, last, start_in, end_in)
        return make

    def _cmprange(self, tree: Tree) -> Node:
        op, operand = tree[1], self.compile(tree[2])
        return lambda scope: Range.comparison(op, operand(scope))

    def _testlist(self, tree: Tree) -> Node:
        raise FeelError("a list of tests in parentheses is only allowed after 'in'",
                        expression=self.source)

    # ---- postfix
    def _path(self, tree: Tree) -> Node:
        base, key = self.compile(tree[1]), tree[2]
        return lambda scope: member(base(scope), key, scope)

    def _filter(self, tree: Tree) -> Node:
        base, test = self.compile(tree[1]), self.compile(tree[2])
        if tree[2][0] == "num":
            position = tree[2][1]
            return lambda scope: index(base(scope), position)

        return lambda scope: filter_list(base(scope), test, scope)

    def _call(self, tree: Tree) -> Node:
        _, callee_tree, arg_trees, named_trees = tree
        args = [self.compile(a) for a in arg_trees]
        named = None if named_trees is None else \
            [(name, self.compile(value)) for name, value in named_trees]
        if callee_tree[0] == "name":
            callee = _named_callee(callee_tree[1])
        else:
            callee = self.compile(callee_tree)

        def call(scope: Scope) -> Any:
            function = callee(scope)
            if named is None:
                return call_function(function, [arg(scope) for arg in args], None, scope)
            return call_function(function, [], {k: v(scope) for k, v in named}, scope)

        return call

    def _function(self, tree: Tree) -> Node:
        _, params, body_tree, external = tree
        names = tuple(name for name, _ in params)
        kinds = tuple(from_tree(kind) if kind is not None else None for _, kind in params)
        body = self.compile(body_tree)
        if external:
            from engine.feel.external import external_function
            return lambda scope: external_function(body(scope), names, scope)
        typed = kinds if any(k is not None for k in kinds) else None
        return lambda scope: define_function(names, typed, body, scope)

    # ---- control
    def _if(self, tree: Tree) -> Node:
        cond, then, other = (self.compile(c) for c in tree[1:])
        return lambda scope: then(scope) if cond(scope) is True else other(scope)

    def _iterations(self, trees: list[tuple[str, Tree, Tree | None]]) -> list[tuple[str, Node, Node | None]]:
        return [(name, self.compile(low), self.compile(high) if high is not None else None)
                for name, low, high in trees]

    def _for(self, tree: Tree) -> Node:
        iterations = self._iterations(tree[1])
        body = self.compile(tree[2])

        def loop(scope: Scope) -> list[Any] | None:
            results: list[Any] = []
            for binding in bindings(iterations, scope, {"partial": results}):
                if binding is None:
                    return None
                results.append(body(scope.child(binding)))
            if len(results) > 4096:  # no longer than the steps it took: checked once, here
                scope.meter.size(len(results), "the list a 'for' builds")
            return results
        return loop

    def _quantified(self, tree: Tree, every: bool) -> Node:
        iterations = self._iterations(tree[1])
        body = self.compile(tree[2])

        def quantified(scope: Scope) -> bool | None:
            result: bool | None = every
            for binding in bindings(iterations, scope, {}):
                if binding is None:
                    return None
                verdict = body(scope.child(binding))
                result = ops.logical_and(result, verdict) if every \
                    else ops.logical_or(result, verdict)
                if result is (not every):
                    return result
            return result

        return quantified

    def _some(self, tree: Tree) -> Node:
        return self._quantified(tree, every=False)

    def _every(self, tree: Tree) -> Node:
        return self._quantified(tree, every=True)

    # ---- logic and comparison
    def _or(self, tree: Tree) -> Node:
        left, right = self.compile(tree[1]), self.compile(tree[2])

        def either(scope: Scope) -> bool | None:
            first = left(scope)
            return True if first is True else ops.logical_or(first, right(scope))
        return either

    def _and(self, tree: Tree) -> Node:
        left, right = self.compile(tree[1]), self.compile(tree[2])

        def both(scope: Scope) -> bool | None:
            first = left(scope)
            return False if first is False else ops.logical_and(first, right(scope))
        return both

    def _cmp(self, tree: Tree) -> Node:
        op, lhs, rhs = tree[1], self.compile(tree[2]), self.compile(tree[3])
        compare = ops.compare
        return lambda scope: compare(op, lhs(scope), rhs(scope), scope)

    def _between(self, tree: Tree) -> Node:
        value, low, high = (self.compile(c) for c in tree[1:])

        def between(scope: Scope) -> bool | None:
            v = value(scope)
            return ops.logical_and(ops.compare(">=", v, low(scope), scope),
                                   ops.compare("<=", v, high(scope), scope))
        return between

    def _in(self, tree: Tree) -> Node:
        value = self.compile(tree[1])
        tests = [self.test(t) for t in tree[2]]
        if len(tests) == 1:
            test = tests[0]
            return lambda scope: test(value(scope), scope)

        def any_test(scope: Scope) -> bool | None:
            v = value(scope)
            result: bool | None = False
            for t in tests:
                result = ops.logical_or(result, t(v, scope))
                if result is True:
                    return True
            return result
        return any_test

    def _instance(self, tree: Tree) -> Node:
        value, kind = self.compile(tree[1]), from_tree(tree[2])
        return lambda scope: kind.is_instance(value(scope), scope.types)

    # ---- arithmetic
    def _binary(self, tree: Tree, op: Callable[[Any, Any, Scope], Any]) -> Node:
        left, right = self.compile(tree[1]), self.compile(tree[2])
        return lambda scope: op(left(scope), right(scope), scope)

    def _add(self, tree: Tree) -> Node:
        return self._binary(tree, ops.add)

    def _sub(self, tree: Tree) -> Node:
        return self._binary(tree, ops.subtract)

    def _mul(self, tree: Tree) -> Node:
        return self._binary(tree, ops.multiply)

    def _div(self, tree: Tree) -> Node:
        return self._binary(tree, ops.divide)

    def _pow(self, tree: Tree) -> Node:
        return self._binary(tree, ops.power)

    def _neg(self, tree: Tree) -> Node:
        value = self.compile(tree[1])
        return lambda scope: ops.negate(value(scope), scope)

    # ---- positive unary tests (after `in`, and in input entries)
    def test(self, tree: Tree) -> Test:
        """A positive unary test: ``< x`` style comparisons, or an expression whose value
        the input must equal, be a member of, or lie in."""
        if tree[0] == "cmprange":
            op, operand = tree[1], self.compile(tree[2])
            if op in ("=", "!="):
                return lambda value, scope: ops.compare(op, value, operand(scope), scope)
            return lambda value, scope: ops.in_range(
                value, Range.comparison(op, operand(scope)), scope)
        node = self.compile(tree)
        return lambda value, scope: ops.matches(value, node(scope), scope)
