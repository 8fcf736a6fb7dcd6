"""Lists in FEEL's control flow: filters (``items[test]``), and the values ``for``, ``some``
and ``every`` iterate over (lists, ``a..b`` of numbers or dates, range values). Every item
visited is a step of the evaluation budget."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

from engine.feel import operators as ops
from engine.feel.scope import MISSING, Scope
from engine.feel.temporal import FeelDate
from engine.feel.values import Range

Node = Callable[[Scope], Any]


def filter_list(items: Any, test: Node, scope: Scope) -> Any:
    """``items[test]``: the items for which ``test`` is true (each context item's entries
    and ``item`` itself in scope), or the item at a numeric index."""
    if items is None:
        return None
    items = items if isinstance(items, list) else [items]
    meter = scope.meter
    kept = []
    for position, item in enumerate(items):
        meter.steps += 1  # meter.step(), inlined
        if meter.steps >= meter.next_check:
            meter.check()
        names = {"item": item}
        if isinstance(item, dict):
            names.update(item)
        verdict = test(scope.child(names))
        if type(verdict) is Decimal:
            if position:
                scope.error("a filter must be a boolean or an index")
                return None
            return index(items, verdict)
        if verdict is True:
            kept.append(item)
    return kept


def iteration_domain(value: Any, scope: Scope) -> Any:
    """What a ``for``/``some``/``every`` over ``value`` visits (None: cannot iterate)."""
    return _domain(value, MISSING, scope)


def index(items: Any, position: Decimal) -> Any:
    if items is None:
        return None
    items = items if isinstance(items, list) else [items]
    index = int(position)
    if index == 0 or abs(index) > len(items):
        return None
    return items[index - 1] if index > 0 else items[index]


def bindings(iterations: list[tuple[str, Node, Node | None]], scope: Scope,
             extra: dict[str, Any]) -> Iterator[dict[str, Any] | None]:
    """Every combination of iteration values as dicts (nested loops, outer first); yields
    None once when a domain is not something one can iterate over."""
    meter = scope.meter

    def expand(index: int, bound: dict[str, Any]) -> Iterator[dict[str, Any] | None]:
        if index == len(iterations):
            meter.steps += 1  # meter.step(), inlined: this is the loop's hot path
            if meter.steps >= meter.next_check:
                meter.check()
            yield {**extra, **bound}
            return
        name, low, high = iterations[index]
        inner = scope.child(bound)
        domain = _domain(low(inner), high(inner) if high else MISSING, scope)
        if domain is None:
            yield None
            return
        for value in domain:
            bound[name] = value
            yield from expand(index + 1, bound)
        bound.pop(name, None)

    return expand(0, {})


def _domain(low: Any, high: Any, scope: Scope) -> Iterable[Any] | None:
    """What a ``for``/``some``/``every`` iterates over: a list, or the integers or dates of
    ``a..b`` (either direction) or of a range value."""
    if high is MISSING:
        if isinstance(low, list):
            return low
        if low is None:
            return []
        if not isinstance(low, Range):
            return [low]
        rng = low
        if rng.op is not None or rng.start is None or rng.end is None or \
                ops.compare(">", rng.start, rng.end, scope) is not False:
            scope.error("a range to iterate over needs two ends, the first not after the last")
            return None
        steps = _steps(rng.start, rng.end, scope)
        if steps is None:
            return None
        values = list(steps)
        if not rng.start_included and values and values[0] == rng.start:
            values = values[1:]
        if not rng.end_included and values and values[-1] == rng.end:
            values = values[:-1]
        return values
    return _steps(low, high, scope)


def _steps(low: Any, high: Any, scope: Scope) -> Iterator[Any] | None:
    if type(low) is Decimal and type(high) is Decimal:
        if low != low.to_integral_value() or high != high.to_integral_value():
            scope.error("a numeric range to iterate over needs whole numbers")
            return None
        start, stop = int(low), int(high)
        scope.meter.size(abs(stop - start) + 1, "a range to iterate over")
        step = 1 if stop >= start else -1
        return (Decimal(n) for n in range(start, stop + step, step))
    if type(low) is FeelDate and type(high) is FeelDate:
        start, stop = low.days(), high.days()
        scope.meter.size(abs(stop - start) + 1, "a range to iterate over")
        step = 1 if stop >= start else -1
        return (FeelDate.from_days(n) for n in range(start, stop + step, step))
    scope.error("a range to iterate over needs numbers or dates at both ends")
    return None
