"""FEEL values as Python values, and conversion of caller values into them.

FEEL type            Python representation
-------------------  ---------------------------------------------------------------
number               ``decimal.Decimal`` (ints and floats are converted on the way in)
string / boolean     ``str`` / ``bool``
null                 ``None``
date                 :class:`~engine.feel.temporal.FeelDate` (any year)
time                 :class:`~engine.feel.temporal.FeelTime` (nanoseconds, offset or zone id)
date and time        :class:`~engine.feel.temporal.FeelDateTime`
days and time dur.   :class:`~engine.feel.temporal.DayTimeDuration` (nanoseconds)
years and months d.  :class:`~engine.feel.temporal.YearsMonthsDuration` (months)
list / context       ``list`` / ``dict`` with ``str`` keys
range                :class:`Range`
function             :class:`FeelFunction`

Python ``date``/``time``/``datetime``/``timedelta`` given by callers become the FEEL types;
:func:`to_python` turns results back into plain Python where that loses nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any

from engine.feel.temporal import (
    DayTimeDuration,
    FeelDate,
    FeelDateTime,
    FeelTime,
    YearsMonthsDuration,
)
from engine.feel.temporal_parse import from_python

# FEEL numbers are IEEE 754-2008 decimal128: 34 significant digits, half-even rounding.
DECIMAL = Context(prec=34, rounding=ROUND_HALF_EVEN, Emax=6144, Emin=-6143,
                  traps=[InvalidOperation, DivisionByZero, Overflow])


class Range:
    """A FEEL range such as ``[1..5[`` or ``< 10`` (an open end is ``None``).

    ``op`` is set for ranges written as a comparison (``< 10``, ``>= 3``, ``= 5``,
    ``!= 5``): FEEL keeps them distinct from ``(null..10)``, and ``=``/``!=`` are not
    intervals at all.
    """

    __slots__ = ("start", "end", "start_included", "end_included", "op")

    def __init__(self, start: Any, end: Any, start_included: bool = True,
                 end_included: bool = True, op: str | None = None) -> None:
        self.start, self.end = start, end
        self.start_included, self.end_included, self.op = start_included, end_included, op

    @classmethod
    def comparison(cls, op: str, value: Any) -> Range:
        if op == "<":
            return cls(None, value, False, False, op)
        if op == "<=":
            return cls(None, value, False, True, op)
        if op == ">":
            return cls(value, None, False, False, op)
        if op == ">=":
            return cls(value, None, True, False, op)
        return cls(value, value, True, True, op)  # = and !=

    def identity(self) -> tuple[Any, ...]:
        return (self.start, self.end, self.start_included, self.end_included, self.op)

    def __repr__(self) -> str:
        if self.op:
            return f"Range({self.op} {self.start if self.end is None else self.end!r})"
        opener, closer = "[" if self.start_included else "(", "]" if self.end_included else ")"
        return f"Range({opener}{self.start!r}..{self.end!r}{closer})"


class FeelFunction:
    """A callable FEEL value: a built-in, a ``function(...)`` literal or a DMN BKM.

    ``invoke(args, scope)`` receives evaluated positional arguments and the calling scope.
    ``params`` names the parameters (named arguments are mapped through them) and
    ``param_types`` optionally holds a FEEL type per parameter (checked on invocation).
    """

    __slots__ = ("name", "params", "invoke", "variadic", "param_types", "result_type")

    def __init__(self, name: str, params: tuple[str, ...], invoke: Callable[[list[Any], Any], Any],
                 variadic: bool = False, param_types: tuple[Any, ...] | None = None,
                 result_type: Any = None) -> None:
        self.name, self.params, self.invoke, self.variadic = name, params, invoke, variadic
        self.param_types, self.result_type = param_types, result_type

    def bind(self, named: dict[str, Any]) -> list[Any]:
        """Positional arguments for a call by name; raises TypeError for an unknown name."""
        unknown = [n for n in named if n not in self.params]
        if unknown:
            raise TypeError(f"{self.name}() has no parameter {unknown[0]!r}")
        return [named.get(p) for p in self.params]

    def __call__(self, *args: Any) -> Any:
        return self.invoke(list(args), None)

    def __repr__(self) -> str:
        return f"FeelFunction({self.name}({', '.join(self.params)}))"


_AS_IS = frozenset({str, bool, type(None)})


def to_feel(value: Any) -> Any:
    """Convert a caller's Python value into its FEEL representation (see module doc)."""
    kind = type(value)
    if kind in _AS_IS:
        return value
    if kind is int:
        return Decimal(value)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {str(k): to_feel(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_feel(v) for v in value]
    if isinstance(value, (dt.date, dt.time, dt.timedelta)):
        return from_python(value)
    return value


def to_python(value: Any) -> Any:
    """A FEEL value as plain Python: temporals as ``datetime`` values where they fit (else
    their FEEL text), lists and contexts converted item by item, the rest unchanged."""
    if isinstance(value, list):
        return [to_python(v) for v in value]
    if isinstance(value, dict):
        return {k: to_python(v) for k, v in value.items()}
    converter = getattr(value, "to_python", None)
    return converter() if converter is not None else value


_TYPE_NAMES: dict[type, str] = {
    bool: "boolean", Decimal: "number", str: "string", FeelDate: "date", FeelTime: "time",
    FeelDateTime: "date and time", DayTimeDuration: "days and time duration",
    YearsMonthsDuration: "years and months duration", list: "list", dict: "context",
    Range: "range", FeelFunction: "function",
}


def type_name(value: Any) -> str:
    """The FEEL type name of a value, for messages and ``instance of``."""
    if value is None:
        return "Null"
    name = _TYPE_NAMES.get(type(value))
    if name is not None:
        return name
    if isinstance(value, FeelFunction):
        return "function"
    return type(value).__name__


def normalize_number(value: Decimal) -> Decimal:
    """Drop a needless exponent (``1.2E+3`` -> ``1200``) without changing the value."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1), context=DECIMAL) if abs(value) < Decimal("1e34") else value
    return value.normalize(DECIMAL)
