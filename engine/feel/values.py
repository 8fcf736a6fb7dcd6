"""FEEL values as Python values, and conversion of caller values into them.

FEEL type            Python representation
-------------------  ---------------------------------------------------------------
number               ``decimal.Decimal`` (ints and floats are converted on the way in)
string / boolean     ``str`` / ``bool``
null                 ``None``
date                 ``datetime.date``
time                 ``datetime.time`` (optionally with tzinfo)
date and time        ``datetime.datetime`` (optionally with tzinfo)
days and time dur.   ``datetime.timedelta``
years and months d.  :class:`YearsMonthsDuration` (a whole number of months)
list / context       ``list`` / ``dict`` with ``str`` keys
range                :class:`Range`
function             :class:`FeelFunction`
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Context, Decimal, ROUND_HALF_EVEN, DivisionByZero, InvalidOperation, Overflow
from typing import Any, Callable, Mapping

# FEEL numbers are IEEE 754-2008 decimal128: 34 significant digits, half-even rounding.
DECIMAL = Context(prec=34, rounding=ROUND_HALF_EVEN,
                  traps=[InvalidOperation, DivisionByZero, Overflow])


@dataclass(frozen=True, order=True)
class YearsMonthsDuration:
    """A FEEL years-and-months duration, kept as a signed number of months.

    Python's ``timedelta`` cannot hold months (their length varies), hence this type.
    """

    months: int

    @property
    def years(self) -> int:
        return int(self.months / 12)

    def __str__(self) -> str:
        sign = "-" if self.months < 0 else ""
        years, months = divmod(abs(self.months), 12)
        body = (f"{years}Y" if years else "") + (f"{months}M" if months or not years else "")
        return f"{sign}P{body}"


@dataclass(frozen=True)
class Range:
    """A FEEL range value such as ``[1..5[`` (either end may be ``None`` for unbounded)."""

    start: Any
    end: Any
    start_included: bool = True
    end_included: bool = True


@dataclass(frozen=True)
class FeelFunction:
    """A callable FEEL value: a built-in, a ``function(...)`` literal or a DMN BKM.

    ``invoke`` receives the evaluated positional arguments and the calling scope; named
    arguments are mapped to positions through ``params`` before the call.
    """

    name: str
    params: tuple[str, ...]
    invoke: Callable[[list[Any], Any], Any]
    variadic: bool = False

    def __call__(self, *args: Any) -> Any:
        return self.invoke(list(args), None)


def to_feel(value: Any) -> Any:
    """Convert a caller's Python value into its FEEL representation (see module doc)."""
    if value is None or isinstance(value, (str, bool, Decimal)):
        if isinstance(value, Decimal) and not value.is_finite():
            return None
        return value
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
    return value


def type_name(value: Any) -> str:
    """The FEEL type name of a value, for messages and ``instance of``."""
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dt.datetime):
        return "date and time"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, dt.time):
        return "time"
    if isinstance(value, dt.timedelta):
        return "days and time duration"
    if isinstance(value, YearsMonthsDuration):
        return "years and months duration"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "context"
    if isinstance(value, Range):
        return "range"
    if isinstance(value, FeelFunction):
        return "function"
    return type(value).__name__


def normalize_number(value: Decimal) -> Decimal:
    """Drop a needless exponent (``1.2E+3`` -> ``1200``) without changing the value."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1), context=DECIMAL) if abs(value) < Decimal("1e34") else value
    return value.normalize(DECIMAL)
