"""FEEL operator semantics: arithmetic, comparison, equality and three-valued logic.

Every function returns ``None`` (FEEL null) on a type mismatch and reports it on the scope,
so one bad cell never raises out of a decision.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, DecimalException
from typing import Any

from engine.feel.scope import Scope
from engine.feel.temporal import add_months
from engine.feel.values import DECIMAL, FeelFunction, Range, YearsMonthsDuration, type_name


def _mismatch(scope: Scope, op: str, left: Any, right: Any) -> None:
    scope.error(f"cannot apply '{op}' to {type_name(left)} and {type_name(right)}")
    return None


def _out_of_range(scope: Scope, op: str, left: Any, right: Any) -> None:
    scope.error(f"'{op}' of {type_name(left)} and {type_name(right)} is out of range")
    return None


def _is_date(value: Any) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _as_datetime(value: dt.date) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime(value.year, value.month,
                                                                     value.day)


def add(left: Any, right: Any, scope: Scope) -> Any:
    if left is None or right is None:
        return None
    tl, tr = type(left), type(right)
    if tl is Decimal and tr is Decimal:
        return DECIMAL.add(left, right)
    if tl is str and tr is str:
        return left + right
    if isinstance(right, (dt.date, dt.time)) and not isinstance(left, (dt.date, dt.time)):
        left, right = right, left
    try:
        if isinstance(left, dt.date):
            if isinstance(right, YearsMonthsDuration):
                return add_months(left, right.months)
            if isinstance(right, dt.timedelta):
                if _is_date(left):
                    return _as_datetime(left) + right
                return left + right
        if isinstance(left, dt.time) and isinstance(right, dt.timedelta):
            moved = dt.datetime.combine(dt.date(2000, 1, 1), left) + right
            return moved.timetz()
        if tl is dt.timedelta and tr is dt.timedelta:
            return left + right
    except (OverflowError, ValueError):  # past year 9999 or 999999999 days
        return _out_of_range(scope, "+", left, right)
    if tl is YearsMonthsDuration and tr is YearsMonthsDuration:
        return YearsMonthsDuration(left.months + right.months)
    return _mismatch(scope, "+", left, right)


def subtract(left: Any, right: Any, scope: Scope) -> Any:
    if left is None or right is None:
        return None
    tl, tr = type(left), type(right)
    if tl is Decimal and tr is Decimal:
        return DECIMAL.subtract(left, right)
    try:
        if isinstance(left, dt.date) and isinstance(right, dt.date):
            if _is_date(left) and _is_date(right):
                return left - right
            return _as_datetime(left) - _as_datetime(right)
        if isinstance(left, dt.date) and tr is YearsMonthsDuration:
            return add_months(left, -right.months)
        if isinstance(left, dt.date) and tr is dt.timedelta:
            return (_as_datetime(left) if _is_date(left) else left) - right
        if isinstance(left, dt.time) and isinstance(right, dt.time):
            day = dt.date(2000, 1, 1)
            return dt.datetime.combine(day, left) - dt.datetime.combine(day, right)
        if isinstance(left, dt.time) and tr is dt.timedelta:
            return (dt.datetime.combine(dt.date(2000, 1, 1), left) - right).timetz()
        if tl is dt.timedelta and tr is dt.timedelta:
            return left - right
    except TypeError:  # naive vs aware
        return _mismatch(scope, "-", left, right)
    except (OverflowError, ValueError):  # before year 1 or past 999999999 days
        return _out_of_range(scope, "-", left, right)
    if tl is YearsMonthsDuration and tr is YearsMonthsDuration:
        return YearsMonthsDuration(left.months - right.months)
    return _mismatch(scope, "-", left, right)


def multiply(left: Any, right: Any, scope: Scope) -> Any:
    if left is None or right is None:
        return None
    tl, tr = type(left), type(right)
    if tl is Decimal and tr is Decimal:
        return DECIMAL.multiply(left, right)
    if tl is Decimal and tr in (dt.timedelta, YearsMonthsDuration):
        left, right, tl, tr = right, left, tr, tl
    try:
        if tl is dt.timedelta and tr is Decimal:
            return dt.timedelta(seconds=float(Decimal(left.total_seconds()) * right))
        if tl is YearsMonthsDuration and tr is Decimal:
            return YearsMonthsDuration(int(left.months * right))
    except (OverflowError, ValueError):  # past 999999999 days, a month count too big to hold
        return _out_of_range(scope, "*", left, right)
    return _mismatch(scope, "*", left, right)


def divide(left: Any, right: Any, scope: Scope) -> Any:
    if left is None or right is None:
        return None
    tl, tr = type(left), type(right)
    if tl is Decimal and tr is Decimal:
        if not right:
            scope.error("division by zero")
            return None
        return DECIMAL.divide(left, right)
    try:
        if tl is dt.timedelta and tr is Decimal and right:
            return dt.timedelta(seconds=float(Decimal(left.total_seconds()) / right))
        if tl is YearsMonthsDuration and tr is Decimal and right:
            return YearsMonthsDuration(int(left.months / right))
    except (OverflowError, ValueError):  # past 999999999 days, a month count too big to hold
        return _out_of_range(scope, "/", left, right)
    if tl is dt.timedelta and tr is dt.timedelta and right:
        return DECIMAL.divide(Decimal(left.total_seconds()), Decimal(right.total_seconds()))
    if tl is YearsMonthsDuration and tr is YearsMonthsDuration and right.months:
        return DECIMAL.divide(Decimal(left.months), Decimal(right.months))
    return _mismatch(scope, "/", left, right)


def power(left: Any, right: Any, scope: Scope) -> Any:
    if left is None or right is None:
        return None
    if type(left) is Decimal and type(right) is Decimal:
        try:
            return DECIMAL.power(left, right)
        except DecimalException:
            scope.error(f"cannot raise {left} to the power {right}")
            return None
    return _mismatch(scope, "**", left, right)


def negate(value: Any, scope: Scope) -> Any:
    if value is None:
        return None
    if type(value) is Decimal:
        return DECIMAL.minus(value)
    if type(value) is dt.timedelta:
        return -value
    if type(value) is YearsMonthsDuration:
        return YearsMonthsDuration(-value.months)
    scope.error(f"cannot negate {type_name(value)}")
    return None


def equals(left: Any, right: Any, scope: Scope | None = None) -> bool | None:
    """FEEL ``=``: null equals only null; different types give null (reported)."""
    if left is None or right is None:
        return left is None and right is None
    tl, tr = type(left), type(right)
    if tl is tr and tl in (Decimal, str, bool):
        return left == right
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return False
        return _all_equal(zip(left, right), scope)
    if isinstance(left, dict) and isinstance(right, dict):
        if left.keys() != right.keys():
            return False
        return _all_equal(((left[k], right[k]) for k in left), scope)
    if type_name(left) != type_name(right):
        if scope is not None:
            _mismatch(scope, "=", left, right)
        return None
    try:
        return left == right
    except TypeError:
        return None


def _all_equal(pairs, scope: Scope | None) -> bool | None:
    result: bool | None = True
    for a, b in pairs:
        same = equals(a, b, scope)
        if same is False:
            return False
        if same is None:
            result = None
    return result


import operator as _operator

_ORDER_OPS = {"<": _operator.lt, "<=": _operator.le, ">": _operator.gt, ">=": _operator.ge,
              "=": _operator.eq, "!=": _operator.ne}
_ORDERED = (Decimal, str, dt.date, dt.datetime, dt.time, dt.timedelta, YearsMonthsDuration)


def compare(op: str, left: Any, right: Any, scope: Scope) -> bool | None:
    """FEEL ``< <= > >= = !=``: null when either side is null or the types differ."""
    if type(left) is Decimal and type(right) is Decimal:  # the hot path of decision tables
        return _ORDER_OPS[op](left, right)
    if op == "=":
        return equals(left, right, scope)
    if op == "!=":
        same = equals(left, right, scope)
        return None if same is None else not same
    if left is None or right is None:
        return None
    if type_name(left) != type_name(right) or not isinstance(left, _ORDERED):
        return _mismatch(scope, op, left, right)
    try:
        if op == "<":
            return left < right
        if op == "<=":
            return left <= right
        if op == ">":
            return left > right
        return left >= right
    except TypeError:  # e.g. naive vs aware date and time
        return _mismatch(scope, op, left, right)


def in_range(value: Any, rng: Range, scope: Scope) -> bool | None:
    """Whether ``value`` lies in ``rng`` (null when incomparable)."""
    if value is None:
        return None
    low_ok: bool | None = True
    if rng.start is not None:
        low_ok = compare("<=" if rng.start_included else "<", rng.start, value, scope)
    high_ok: bool | None = True
    if rng.end is not None:
        high_ok = compare(">=" if rng.end_included else ">", rng.end, value, scope)
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


def is_instance(value: Any, name: str) -> bool:
    """FEEL ``instance of`` for the built-in type names."""
    if name == "Any":
        return value is not None
    if name == "Null":
        return value is None
    actual = type_name(value)
    if name == "function":
        return isinstance(value, FeelFunction)
    return actual == name
