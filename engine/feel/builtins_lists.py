"""FEEL's list functions. Lists they build, and the comparisons of the quadratic ones
(``distinct values``, ``union``) and of ``sort``, are bounded by the evaluation budget."""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.budget import check_size
from engine.feel.builtin_registry import as_list, builtin, integer, items_of, num
from engine.feel.operators import compare, equals, logical_and, logical_or
from engine.feel.scope import Scope
from engine.feel.values import DECIMAL, FeelFunction, type_name


def _bounded(items: list[Any], scope: Scope | None) -> list[Any]:
    if len(items) > 4096:
        if scope is not None:
            scope.meter.size(len(items), "a list")
        else:
            check_size(len(items), "a list")
    return items


def _steps(scope: Scope | None, count: int) -> None:
    if scope is not None:
        scope.meter.step(count)


@builtin("list contains", "list", "element")
def _list_contains(items: Any, element: Any) -> bool:
    return any(equals(v, element) is True for v in as_list(items))


builtin("count", "list")(lambda items: Decimal(len(as_list(items))))


def _ordered(args: tuple[Any, ...], pick: Callable[..., Any]) -> Any:
    items = items_of(args)
    if not items:
        return None
    if None in items or len({type_name(v) for v in items}) > 1:
        raise TypeError("items are not comparable")
    scope = Scope({})
    if compare("<", items[0], items[0], scope) is None:
        raise TypeError(f"{type_name(items[0])} values have no order")

    def order(a: Any, b: Any) -> int:
        return -1 if compare("<", a, b, scope) else (1 if compare(">", a, b, scope) else 0)

    return pick(items, key=functools.cmp_to_key(order))


builtin("min", "list", variadic=True)(lambda *a: _ordered(a, min))
builtin("max", "list", variadic=True)(lambda *a: _ordered(a, max))


def _numbers(args: tuple[Any, ...]) -> list[Decimal]:
    return [num(v, "list item") for v in items_of(args)]


@builtin("sum", "list", variadic=True)
def _sum(*args: Any) -> Decimal | None:
    numbers = _numbers(args)
    total = Decimal(0)
    for n in numbers:
        total = DECIMAL.add(total, n)
    return total if numbers else None


@builtin("product", "list", variadic=True)
def _product(*args: Any) -> Decimal:
    numbers = _numbers(args)
    if not numbers:
        raise ValueError("product of an empty list")
    total = Decimal(1)
    for n in numbers:
        total = DECIMAL.multiply(total, n)
    return total


@builtin("mean", "list", variadic=True)
def _mean(*args: Any) -> Decimal | None:
    numbers = _numbers(args)
    total = _sum(numbers)  # None exactly when there are no numbers
    return DECIMAL.divide(total, Decimal(len(numbers))) if total is not None else None


@builtin("median", "list", variadic=True)
def _median(*args: Any) -> Decimal | None:
    numbers = sorted(_numbers(args))
    if not numbers:
        return None
    mid = len(numbers) // 2
    if len(numbers) % 2:
        return numbers[mid]
    return DECIMAL.divide(DECIMAL.add(numbers[mid - 1], numbers[mid]), Decimal(2))


@builtin("stddev", "list", variadic=True)
def _stddev(*args: Any) -> Decimal:
    numbers = _numbers(args)
    if len(numbers) < 2:
        raise ValueError("stddev needs at least two numbers")
    return DECIMAL.sqrt(statistics.variance(numbers))


@builtin("mode", "list", variadic=True)
def _mode(*args: Any) -> list[Decimal]:
    numbers = _numbers(args)
    return sorted(statistics.multimode(numbers)) if numbers else []


def _booleans(args: tuple[Any, ...]) -> list[Any]:
    if len(args) == 1 and not isinstance(args[0], list):
        if type(args[0]) is not bool:
            raise TypeError("expects booleans")
        return [args[0]]
    values = items_of(args)
    if any(v is not None and type(v) is not bool for v in values):
        raise TypeError("expects booleans")
    return values


@builtin("all", "list", variadic=True)
def _all(*args: Any) -> bool | None:
    result: bool | None = True
    for v in _booleans(args):
        result = logical_and(result, v)
    return result


@builtin("any", "list", variadic=True)
def _any(*args: Any) -> bool | None:
    result: bool | None = False
    for v in _booleans(args):
        result = logical_or(result, v)
    return result


def _position(items: list[Any], position: Any, what: str = "position") -> int:
    """A 0-based index of a FEEL position (1-based, negative from the end), checked."""
    index = int(num(position, what))
    if index == 0 or abs(index) > len(items):
        raise IndexError(f"{what} {index} is outside a list of {len(items)}")
    return index - 1 if index > 0 else len(items) + index


@builtin("sublist", "list", "start position", "length?")
def _sublist(items: Any, start: Any, length: Any = None) -> list[Any]:
    values = as_list(items)
    index = _position(values, start, "start position")
    if length is None:
        return values[index:]
    count = integer(length, "length")
    if count < 0 or index + count > len(values):
        raise IndexError("length goes past the end of the list")
    return values[index:index + count]


@builtin("append", "list", "item", variadic=True, wants_scope=True)
def _append(scope: Scope | None, items: Any, *new: Any) -> list[Any]:
    return _bounded(as_list(items) + list(new), scope)


@builtin("concatenate", "list", variadic=True, wants_scope=True)
def _concatenate(scope: Scope | None, *lists: Any) -> list[Any]:
    return _bounded([v for part in lists for v in as_list(part)], scope)


builtin("reverse", "list")(lambda items: list(reversed(as_list(items))))


@builtin("insert before", "list", "position", "newItem")
def _insert_before(items: Any, position: Any, new: Any) -> list[Any]:
    values = list(as_list(items))
    values.insert(_position(values, position), new)
    return values


@builtin("remove", "list", "position")
def _remove(items: Any, position: Any) -> list[Any]:
    values = list(as_list(items))
    del values[_position(values, position)]
    return values


@builtin("list replace", "list", "position", "newItem", wants_scope=True)
def _list_replace(scope: Scope | None, items: Any, position: Any, new: Any) -> list[Any]:
    if items is None:
        raise TypeError("list must not be null")
    values = list(items) if isinstance(items, list) else [items]
    if isinstance(position, FeelFunction):
        _steps(scope, len(values))
        return [new if _replaces(position, item, new, scope) else item for item in values]
    values[_position(values, position)] = new
    return values


@builtin("list replace", "list", "match", "newItem", wants_scope=True)
def _list_replace_match(scope: Scope | None, items: Any, match: Any, new: Any) -> list[Any]:
    return _list_replace(scope, items, match, new)


def _replaces(match: FeelFunction, item: Any, new: Any, scope: Scope | None) -> bool:
    if len(match.params) != 2:
        raise TypeError("the match function must take (item, newItem)")
    verdict = match.invoke([item, new], scope)
    if type(verdict) is not bool:
        raise TypeError("the match function must return a boolean")
    return verdict


@builtin("index of", "list", "match")
def _index_of(items: Any, match: Any) -> list[Decimal]:
    return [Decimal(i + 1) for i, v in enumerate(as_list(items)) if equals(v, match) is True]


def _distinct(items: list[Any], scope: Scope | None) -> list[Any]:
    seen: list[Any] = []
    for v in items:
        _steps(scope, len(seen) + 1)
        if not any(equals(v, s) is True for s in seen):
            seen.append(v)
    return seen


builtin("distinct values", "list", wants_scope=True)(
    lambda scope, items: _distinct(as_list(items), scope))
builtin("union", "list", variadic=True, wants_scope=True)(
    lambda scope, *lists: _distinct(_bounded([v for part in lists for v in as_list(part)],
                                             scope), scope))


def _flatten(items: list[Any], out: list[Any]) -> list[Any]:
    for v in items:
        if isinstance(v, list):
            _flatten(v, out)
        else:
            out.append(v)
    return out


builtin("flatten", "list", wants_scope=True)(
    lambda scope, items: _bounded(_flatten(as_list(items), []), scope))


@builtin("sort", "list", "precedes?", wants_scope=True)
def _sort(scope: Scope | None, items: Any, precedes: Any = None) -> list[Any]:
    items = list(as_list(items))
    if precedes is None:
        return _ordered((items,), sorted) if items else []
    if not isinstance(precedes, FeelFunction):
        raise TypeError("precedes must be a function")

    def order(a: Any, b: Any) -> int:
        _steps(scope, 2)
        if precedes.invoke([a, b], scope) is True:
            return -1
        return 1 if precedes.invoke([b, a], scope) is True else 0

    return sorted(items, key=functools.cmp_to_key(order))
