"""FEEL operator semantics: arithmetic, comparison, equality and three-valued logic.

Every function returns ``None`` (FEEL null) on a type mismatch and reports it on the scope,
so one bad cell never raises out of a decision. Date and time arithmetic is in
:mod:`engine.feel.temporal_ops`.
"""

from __future__ import annotations

import operator as _operator
from collections.abc import Callable, Iterable
from decimal import Decimal, DecimalException
from typing import Any

from engine.feel import temporal_ops as tops
from engine.feel.scope import Scope
from engine.feel.temporal import (
    DayTimeDuration,
    FeelDate,
    FeelDateTime,
    FeelTime,
    YearsMonthsDuration,
)
from engine.feel.values import DECIMAL, FeelFunction, Range, type_name


def mismatch(scope: Scope, op: str, left: Any, right: Any) -> None:
    scope.error(f"cannot apply '{op}' to {type_name(left)} and {type_name(right)}")
    return None


def _out_of_range(scope: Scope, op: str, left: Any, right: Any) -> None:
    scope.error(f"'{op}' of {type_name(left)} and {type_name(right)} is out of range")
    return None


def _number_result(value: Decimal, scope: Scope, op: str, left: Any, right: Any) -> Any:
    return value if value.is_finite() else _out_of_range(scope, op, left, right)


def add(left: Any, right: Any, scope: Scope) -> Any:
    tl, tr = type(left), type(right)
    if tl is Decimal and tr is Decimal:
        try:
            return DECIMAL.add(left, right)
        except DecimalException:
            return _out_of_range(scope, "+", left, right)
    if left is None or right is None:
        return None
    if tl is str and tr is str:
        if len(left) + len(right) > 4096:
            scope.meter.size(len(left) + len(right), "a string")
        return left + right
    try:
        result = tops.add(left, right)
    except (OverflowError, ValueError):
        return _out_of_range(scope, "+", left, right)
    return result if result is not None else mismatch(scope, "+", left, right)


def subtract(left: Any, right: Any, scope: Scope) -> Any:
    tl, tr = type(left), type(right)
    if tl is Decimal and tr is Decimal:
        try:
            return DECIMAL.subtract(left, right)
        except DecimalException:
            return _out_of_range(scope, "-", left, right)
    if left is None or right is None:
        return None
    try:
        result = tops.subtract(left, right)
    except (OverflowError, ValueError):
        return _out_of_range(scope, "-", left, right)
    return result if result is not None else mismatch(scope, "-", left, right)


def multiply(left: Any, right: Any, scope: Scope) -> Any:
    tl, tr = type(left), type(right)
    if tl is Decimal and tr is Decimal:
        try:
            return DECIMAL.multiply(left, right)
        except DecimalException:
            return _out_of_range(scope, "*", left, right)
    if left is None or right is None:
        return None
    if tl is Decimal and tr in (DayTimeDuration, YearsMonthsDuration):
        left, right, tl, tr = right, left, tr, tl
    try:
        if tl is DayTimeDuration and tr is Decimal:
            return DayTimeDuration(int((Decimal(left.nanos) * right).to_integral_value()))
        if tl is YearsMonthsDuration and tr is Decimal:
            return YearsMonthsDuration(int(Decimal(left.months) * right))
    except (OverflowError, ValueError, DecimalException):
        return _out_of_range(scope, "*", left, right)
    return mismatch(scope, "*", left, right)


def divide(left: Any, right: Any, scope: Scope) -> Any:
    tl, tr = type(left), type(right)
    if tl is Decimal and tr is Decimal:
        if not right:
            scope.error("division by zero")
            return None
        try:
            return DECIMAL.divide(left, right)
        except DecimalException:
            return _out_of_range(scope, "/", left, right)
    if left is None or right is None:
        return None
    try:
        if tl is DayTimeDuration and tr is Decimal:
            if not right:
                scope.error("division by zero")
                return None
            return DayTimeDuration(int(DECIMAL.divide(Decimal(left.nanos), right)
                                       .to_integral_value()))
        if tl is YearsMonthsDuration and tr is Decimal:
            if not right:
                scope.error("division by zero")
                return None
            return YearsMonthsDuration(int(DECIMAL.divide(Decimal(left.months), right)))
        if tl is DayTimeDuration and tr is DayTimeDuration:
            if not right.nanos:
                scope.error("division by zero")
                return None
            return DECIMAL.divide(Decimal(left.nanos), Decimal(right.nanos))
        if tl is YearsMonthsDuration and tr is YearsMonthsDuration:
            if not right.months:
                scope.error("division by zero")
                return None
            return DECIMAL.divide(Decimal(left.months), Decimal(right.months))
    except (OverflowError, ValueError, DecimalException):
        return _out_of_range(scope, "/", left, right)
    return mismatch(scope, "/", left, right)


def power(left: Any, right: Any, scope: Scope) -> Any:
    if left is None or right is None:
        return None
    if type(left) is Decimal and type(right) is Decimal:
        if abs(right) > 999_999_999 or (left and abs(right) * abs(left).adjusted() > 6144):
            return _out_of_range(scope, "**", left, right)
        try:
            result = DECIMAL.power(left, right)
        except DecimalException:
            scope.error(f"cannot raise {left} to the power {right}")
            return None
        return _number_result(result, scope, "**", left, right)
    return mismatch(scope, "**", left, right)


def negate(value: Any, scope: Scope) -> Any:
    if value is None:
        return None
    if type(value) is Decimal:
        return DECIMAL.minus(value)
    if type(value) is DayTimeDuration:
        return DayTimeDuration(-value.nanos)
    if type(value) is YearsMonthsDuration:
        return YearsMonthsDuration(-value.months)
    scope.error(f"cannot negate {type_name(value)}")
    return None


# ---------------------------------------------------------------- equality and order
def equals(left: Any, right: Any, scope: Scope | None = None) -> bool | None:
    """FEEL ``=``: null equals only null; different types give null (reported)."""
    if left is None or right is None:
        return left is None and right is None
    tl, tr = type(left), type(right)
    if tl is tr and tl in (Decimal, str, bool):
        return bool(left == right)
    if tl is list and tr is list:
        if len(left) != len(right):
            return False
        return _all_equal(zip(left, right), scope)
    if tl is dict and tr is dict:
        if left.keys() != right.keys():
            return False
        return _all_equal(((left[k], right[k]) for k in left), scope)
    if tl is not tr:
        if scope is not None:
            mismatch(scope, "=", left, right)
        return None
    if tl is FeelTime:
        return tops.time_key(left, millis=True) == tops.time_key(right, millis=True)
    if tl is FeelDateTime:
        return tops.date_time_equal(left, right)
    if tl is Range:
        return _ranges_equal(left, right, scope)
    if tl is FeelFunction:
        return left is right
    return bool(left == right)


def _ranges_equal(left: Range, right: Range, scope: Scope | None) -> bool | None:
    if left.op != right.op or left.start_included != right.start_included or \
            left.end_included != right.end_included:
        return False
    return _all_equal(((left.start, right.start), (left.end, right.end)), scope)


def _all_equal(pairs: Iterable[tuple[Any, Any]], scope: Scope | None) -> bool | None:
    result: bool | None = True
    for a, b in pairs:
        same = equals(a, b, scope)
        if same is False:
            return False
        if same is None:
            result = None
    return result


_ORDER_OPS: dict[str, Callable[[Any, Any], bool]] = {"<": _operator.lt, "<=": _operator.le, ">": _operator.gt, ">=": _operator.ge,
              "=": _operator.eq, "!=": _operator.ne}
_ORDERED = (Decimal, str, FeelDate, DayTimeDuration, YearsMonthsDuration)


def compare(op: str, left: Any, right: Any, scope: Scope) -> bool | None:
    """FEEL ``< <= > >= = !=``: null when either side is null or the types differ."""
    tl = type(left)
    if tl is Decimal and type(right) is Decimal:  # the hot path of decision tables
        return _ORDER_OPS[op](left, right)
    if op == "=":
        return equals(left, right, scope)
    if op == "!=":
        same = equals(left, right, scope)
        return None if same is None else not same
    if left is None or right is None:
        return None
    if tl is not type(right):
        mismatch(scope, op, left, right)
        return None
    if tl in _ORDERED:
        return _ORDER_OPS[op](left, right)
    if tl is FeelTime:
        return _ORDER_OPS[op](tops.time_key(left), tops.time_key(right))
    if tl is FeelDateTime:
        keys = tops.date_time_keys(left, right)
        if keys is not None:
            return _ORDER_OPS[op](*keys)
    mismatch(scope, op, left, right)
    return None


def in_range(value: Any, rng: Range, scope: Scope) -> bool | None:
    """Whether ``value`` lies in ``rng`` (null when incomparable)."""
    if rng.op == "=":
        return equals(value, rng.start, scope)
    if rng.op == "!=":
        same = equals(value, rng.start, scope)
        return None if same is None else not same
    if value is None:
        return None
    low_ok: bool | None = True
    if rng.start is not None:
        low_ok = compare("<=" if rng.start_included else "<", rng.start, value, scope)
    elif rng.op is None:
        low_ok = None  # (null..x]: an unknown start
    high_ok: bool | None = True
    if rng.end is not None:
        high_ok = compare(">=" if rng.end_included else ">", rng.end, value, scope)
    elif rng.op is None:
        high_ok = None
    return logical_and(low_ok, high_ok)


def logical_and(left: Any, right: Any) -> bool | None:
    """Three-valued ``and``: false wins over null; non-booleans count as null."""
    left = left if type(left) is bool else None
    right = right if type(right) is bool else None
    if left is False or right is False:
        return False
    if left is None or right is None:
        return None
    return True


def logical_or(left: Any, right: Any) -> bool | None:
    """Three-valued ``or``: true wins over null; non-booleans count as null."""
    left = left if type(left) is bool else None
    right = right if type(right) is bool else None
    if left is True or right is True:
        return True
    if left is None or right is None:
        return None
    return False


def matches(value: Any, test: Any, scope: Scope) -> bool | None:
    """``value in test``: a range contains it, a list holds it (or is it), or it equals."""
    if isinstance(test, Range):
        return in_range(value, test, scope)
    if isinstance(test, list):
        if isinstance(value, list) and equals(value, test, scope) is True:
            return True
        result: bool | None = False
        for item in test:
            if isinstance(item, Range):
                result = logical_or(result, in_range(value, item, scope))
            elif equals(value, item) is True:
                return True
            if result is True:
                return True
        return result
    return equals(value, test, scope)
