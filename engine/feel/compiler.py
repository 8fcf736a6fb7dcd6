"""Compile a FEEL parse tree into nested Python closures, once per text.

A compiled node is a function ``scope -> value``. Closures are much faster than walking the
tree on every evaluation, and they never touch Python's ``eval``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Callable

from lark import Token, Tree

from engine.feel import operators as ops
from engine.feel.builtins import BUILTINS
from engine.feel.errors import FeelError
from engine.feel.scope import MISSING, Scope
from engine.feel.temporal import parse_temporal
from engine.feel.values import FeelFunction, Range, YearsMonthsDuration, type_name

Node = Callable[[Scope], Any]

_NON_CONSTANT = {"var", "input_ref", "call_none", "call_positional", "call_named",
                 "function_def", "filter", "for_expr", "some_expr", "every_expr"}


def name_of(tree: Tree) -> str:
    """A FEEL name from its parts; inner whitespace normalised (``date  and time``)."""
    return " ".join(" ".join(str(part).split()) for part in tree.children)


def uses_input(tree: Tree | Token) -> bool:
    """Whether a test refers to the input value with ``?``."""
    return isinstance(tree, Tree) and any(t.data == "input_ref" for t in tree.iter_subtrees())


def is_constant(tree: Tree | Token) -> bool:
    """True when the value cannot depend on variables, so it can be computed at compile time."""
    if not isinstance(tree, Tree):
        return True
    return not any(t.data in _NON_CONSTANT for t in tree.iter_subtrees())


def unescape(token: str) -> str:
    """The value of a FEEL string literal (``"a\\"b"`` -> ``a"b``)."""
    body = token[1:-1]
    if "\\" not in body:
        return body
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "u" and i + 5 < len(body):
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def constant(value: Any) -> Node:
    return lambda scope: value


def member(base: Any, key: str, scope: Scope) -> Any:
    """``base.key``: a context entry, each list item's entry, or a temporal property."""
    if base is None:
        return None
    if isinstance(base, dict):
        return base.get(key)
    if isinstance(base, list):
        return [member(item, key, scope) for item in base]
    value = _property(base, key)
    if value is MISSING:
        scope.error(f"{type_name(base)} has no property {key!r}")
        return None
    return value


def _property(base: Any, key: str) -> Any:
    if isinstance(base, (dt.date, dt.time)):
        if key == "weekday" and isinstance(base, dt.date):
            return Decimal(base.isoweekday())
        if key in ("year", "month", "day", "hour", "minute", "second") and hasattr(base, key):
            return Decimal(getattr(base, key))
        if key in ("time offset", "timezone") and getattr(base, "tzinfo", None) is not None:
            offset = base.utcoffset() if isinstance(base, dt.datetime) else \
                base.tzinfo.utcoffset(None)
            return offset if key == "time offset" else str(base.tzinfo)
    if isinstance(base, YearsMonthsDuration):
        if key == "years":
            return Decimal(base.years)
        if key == "months":
            return Decimal(base.months - base.years * 12)
    if isinstance(base, dt.timedelta):
        total = int(base.total_seconds())
        sign = -1 if total < 0 else 1
        days, rest = divmod(abs(total), 86400)
        parts = {"days": days, "hours": rest // 3600, "minutes": rest % 3600 // 60,
                 "seconds": rest % 60}
        if key in parts:
            return Decimal(sign * parts[key])
    if isinstance(base, Range):
        parts = {"start": base.start, "end": base.end, "start included": base.start_included,
                 "end included": base.end_included}
        if key in parts:
            return parts[key]
    return MISSING


class Compiler:
    """Turns one parse tree into closures. Stateless apart from the source text."""

    def __init__(self, source: str) -> None:
        self.source = source

    def compile(self, tree: Tree | Token) -> Node:
        if isinstance(tree, Token):
            raise FeelError(f"unexpected token {tree!r}", expression=self.source)
        method = getattr(self, "_" + tree.data, None)
        if method is None:
            raise FeelError(f"unsupported construct {tree.data!r}", expression=self.source)
        node = method(tree)
        if tree.data not in ("number", "string", "true", "false", "null") and is_constant(tree):
            probe = Scope({})
            value = node(probe)
            if not probe.errors:  # keep failing nodes live, so each evaluation reports them
                return constant(value)
        return node

    # ---- literals
    def _number(self, tree: Tree) -> Node:
        return constant(Decimal(str(tree.children[0])))

    def _string(self, tree: Tree) -> Node:
        return constant(unescape(str(tree.children[0])))

    def _true(self, tree: Tree) -> Node:
        return constant(True)

    def _false(self, tree: Tree) -> Node:
        return constant(False)

    def _null(self, tree: Tree) -> Node:
        return constant(None)

    def _temporal_literal(self, tree: Tree) -> Node:
        text = unescape(str(tree.children[0]))
        value = parse_temporal(text)
        if value is None:
            raise FeelError(f"@{text!r} is not a date, time or duration", expression=self.source)
        return constant(value)

    def _list_literal(self, tree: Tree) -> Node:
        items = [self.compile(c) for c in tree.children if c is not None]
        return lambda scope: [item(scope) for item in items]

    def _context_literal(self, tree: Tree) -> Node:
        entries = []
        for entry in tree.children:
            if entry is None:
                continue
            key_node, value_tree = entry.children
            key = unescape(str(key_node)) if isinstance(key_node, Token) else name_of(key_node)
            entries.append((key, self.compile(value_tree)))

        def context(scope: Scope) -> dict[str, Any]:
            built: dict[str, Any] = {}
            inner = scope.child(built)  # later entries may use earlier ones
            for key, value in entries:
                built[key] = value(inner)
            return built

        return context

    def _interval(self, tree: Tree) -> Node:
        opener, low, _, high, closer = tree.children
        start, end = self.compile(low), self.compile(high)
        start_in, end_in = str(opener) == "[", str(closer) == "]"
        return lambda scope: Range(start(scope), end(scope), start_in, end_in)

    # ---- names
    def _var(self, tree: Tree) -> Node:
        name = name_of(tree.children[0])

        def var(scope: Scope) -> Any:
            value = scope.lookup(name)
            if value is MISSING:
                function = BUILTINS.get(name)
                if function is not None:
                    return function
                scope.error(f"no variable named {name!r}")
                return None
            return value

        return var

    def _input_ref(self, tree: Tree) -> Node:
        return lambda scope: scope.lookup("?", None)

    def _path(self, tree: Tree) -> Node:
        base, key = self.compile(tree.children[0]), name_of(tree.children[1])
        return lambda scope: member(base(scope), key, scope)

    def _filter(self, tree: Tree) -> Node:
        base, test_tree = self.compile(tree.children[0]), tree.children[1]
        test = self.compile(test_tree)

        def filtered(scope: Scope) -> Any:
            items = base(scope)
            if items is None:
                return None
            items = items if isinstance(items, list) else [items]
            kept = []
            for position, item in enumerate(items):
                names = dict(item) if isinstance(item, dict) else {}
                names["item"] = item
                verdict = test(scope.child(names))
                if type(verdict) is Decimal:
                    if position:
                        scope.error("a filter must be a boolean or an index")
                        return None
                    return _index(items, verdict, scope)
                if verdict is True:
                    kept.append(item)
            return kept

        return filtered

    # ---- calls
    def _callee(self, tree: Tree) -> Node:
        return self.compile(tree)

    def _call_none(self, tree: Tree) -> Node:
        return self._make_call(self._callee(tree.children[0]), [], None)

    def _call_positional(self, tree: Tree) -> Node:
        args = [self.compile(c) for c in tree.children[1].children]
        return self._make_call(self._callee(tree.children[0]), args, None)

    def _call_named(self, tree: Tree) -> Node:
        named = [(name_of(a.children[0]), self.compile(a.children[1]))
                 for a in tree.children[1].children]
        return self._make_call(self._callee(tree.children[0]), [], named)

    def _make_call(self, callee: Node, args: list[Node],
                   named: list[tuple[str, Node]] | None) -> Node:
        def call(scope: Scope) -> Any:
            function = callee(scope)
            if not isinstance(function, FeelFunction):
                scope.error(f"{type_name(function)} is not a function")
                return None
            if named is None:
                values = [arg(scope) for arg in args]
            else:
                given = {key: value(scope) for key, value in named}
                unknown = set(given) - set(function.params)
                if unknown:
                    scope.error(f"{function.name}() has no parameter {sorted(unknown)[0]!r}")
                    return None
                values = [given.get(p) for p in function.params]
                while values and values[-1] is None and function.params[len(values) - 1] \
                        not in given:
                    values.pop()
            return function.invoke(values, scope)

        return call

    def _function_def(self, tree: Tree) -> Node:
        params = tuple(name_of(p) for p in tree.children[:-1] if p is not None)
        body = self.compile(tree.children[-1])

        def define(scope: Scope) -> FeelFunction:
            def invoke(values: list[Any], caller: Scope | None) -> Any:
                if len(values) != len(params):
                    if caller is not None:
                        caller.error(f"function expects {len(params)} arguments")
                    return None
                return body(scope.child(dict(zip(params, values))))
            return FeelFunction("anonymous", params, invoke)

        return define

    # ---- control
    def _if_expr(self, tree: Tree) -> Node:
        cond, then, other = (self.compile(c) for c in tree.children)
        return lambda scope: then(scope) if cond(scope) is True else other(scope)

    def _iterations(self, trees: list[Tree]) -> list[tuple[str, Node, Node | None]]:
        out = []
        for it in trees:
            name = name_of(it.children[0])
            low = self.compile(it.children[1])
            high = self.compile(it.children[2]) if len(it.children) > 2 else None
            out.append((name, low, high))
        return out

    def _bindings(self, iterations, scope: Scope):
        """Every combination of iteration values, as dicts (nested loops, outer first)."""
        def expand(index: int, bound: dict[str, Any]):
            if index == len(iterations):
                yield dict(bound)
                return
            name, low, high = iterations[index]
            inner = scope.child(bound)
            for value in _iteration_values(low(inner), high(inner) if high else MISSING, scope):
                bound[name] = value
                yield from expand(index + 1, bound)
            bound.pop(name, None)
        return expand(0, {})

    def _for_expr(self, tree: Tree) -> Node:
        iterations = self._iterations(tree.children[:-1])
        body = self.compile(tree.children[-1])
        return lambda scope: [body(scope.child(b)) for b in self._bindings(iterations, scope)]

    def _quantified(self, tree: Tree, every: bool) -> Node:
        iterations = self._iterations(tree.children[:-1])
        body = self.compile(tree.children[-1])

        def quantified(scope: Scope) -> bool | None:
            result: bool | None = every
            for binding in self._bindings(iterations, scope):
                verdict = body(scope.child(binding))
                result = ops.logical_and(result, verdict) if every \
                    else ops.logical_or(result, verdict)
                if result is (not every):
                    return result
            return result

        return quantified

    def _some_expr(self, tree: Tree) -> Node:
        return self._quantified(tree, every=False)

    def _every_expr(self, tree: Tree) -> Node:
        return self._quantified(tree, every=True)

    # ---- logic and comparison
    def _or_expr(self, tree: Tree) -> Node:
        left, right = (self.compile(c) for c in tree.children)

        def either(scope: Scope) -> bool | None:
            first = left(scope)
            return True if first is True else ops.logical_or(first, right(scope))
        return either

    def _and_expr(self, tree: Tree) -> Node:
        left, right = (self.compile(c) for c in tree.children)

        def both(scope: Scope) -> bool | None:
            first = left(scope)
            return False if first is False else ops.logical_and(first, right(scope))
        return both

    def _compare(self, tree: Tree) -> Node:
        left, op, right = tree.children
        lhs, rhs, op = self.compile(left), self.compile(right), str(op)
        return lambda scope: ops.compare(op, lhs(scope), rhs(scope), scope)

    def _between(self, tree: Tree) -> Node:
        value, low, high = (self.compile(c) for c in tree.children)

        def between(scope: Scope) -> bool | None:
            v = value(scope)
            return ops.logical_and(ops.compare(">=", v, low(scope), scope),
                                   ops.compare("<=", v, high(scope), scope))
        return between

    def _in_expr(self, tree: Tree) -> Node:
        value, test = (self.compile(c) for c in tree.children)
        return lambda scope: membership(value(scope), test(scope), scope)

    def _in_compare(self, tree: Tree) -> Node:
        value, op, test = tree.children
        lhs, rhs, op = self.compile(value), self.compile(test), str(op)
        return lambda scope: ops.compare(op, lhs(scope), rhs(scope), scope)

    def _instance_of(self, tree: Tree) -> Node:
        value, type_ = self.compile(tree.children[0]), name_of(tree.children[2])
        return lambda scope: ops.is_instance(value(scope), type_)

    # ---- arithmetic
    def _binary(self, tree: Tree, op: Callable[[Any, Any, Scope], Any]) -> Node:
        left, right = (self.compile(c) for c in tree.children)
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
        value = self.compile(tree.children[0])
        return lambda scope: ops.negate(value(scope), scope)


def membership(value: Any, test: Any, scope: Scope) -> bool | None:
    """``value in test``: a range contains it, a list holds it, or it equals the value."""
    if isinstance(test, Range):
        return ops.in_range(value, test, scope)
    if isinstance(test, list) and not isinstance(value, list):
        result: bool | None = False
        for item in test:
            result = ops.logical_or(result, membership(value, item, scope))
            if result is True:
                return True
        return result
    return ops.equals(value, test, scope)


def _index(items: list[Any], position: Decimal, scope: Scope) -> Any:
    index = int(position)
    if index == 0 or abs(index) > len(items):
        return None
    return items[index - 1] if index > 0 else items[index]


def _iteration_values(low: Any, high: Any, scope: Scope) -> list[Any]:
    if high is MISSING:
        if isinstance(low, Range):
            low, high = low.start, low.end
        else:
            return low if isinstance(low, list) else ([] if low is None else [low])
    if type(low) is not Decimal or type(high) is not Decimal:
        scope.error("a range in 'for' needs numbers at both ends")
        return []
    start, stop = int(low), int(high)
    step = 1 if stop >= start else -1
    return [Decimal(n) for n in range(start, stop + step, step)]
