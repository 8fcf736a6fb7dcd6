"""FEEL's built-in functions (DMN 1.5 chapter 10.3.4), registered by their FEEL names.

Each implementation takes FEEL values and returns one. A wrong argument count or type
raises ``TypeError``/``ValueError`` inside; :class:`Builtin` turns that into FEEL null plus
a reported error, as the spec asks. A function may have several signatures (``date(from)``
and ``date(year, month, day)``); the call picks one by argument count, or by the names of
named arguments. An argument that is a one-item list is read as its item when the function
fails on the list (DMN's singleton-list conversion).

This module holds the number and conversion functions and imports the other families
(strings, lists, contexts, dates, ranges), so importing it fills :data:`BUILTINS`. The
registry itself is :mod:`engine.feel.builtin_registry`, which every family imports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
)
from typing import Any

from engine.feel import (
    builtins_contexts,
    builtins_lists,
    builtins_ranges,
    builtins_strings,
    temporal,
    temporal_builtins,
)
from engine.feel.builtin_registry import BUILTINS, builtin, integer, num, text
from engine.feel.values import DECIMAL, FeelFunction, Range, normalize_number, type_name

__all__ = ["BUILTINS", "feel_string"]
# The other families, registered into BUILTINS by being imported.
_FAMILIES = (builtins_contexts, builtins_lists, builtins_ranges, builtins_strings,
             temporal_builtins)

# ---------------------------------------------------------------- conversion
@builtin("number", "from", "grouping separator", "decimal separator")
def _number(source: Any, grouping: Any, decimal_sep: Any) -> Decimal:
    source = text(source, "from")
    if grouping is not None and text(grouping, "grouping separator") not in (" ", ",", "."):
        raise ValueError("grouping separator must be one of space, ',' or '.'")
    if decimal_sep is not None and text(decimal_sep, "decimal separator") not in (",", "."):
        raise ValueError("decimal separator must be ',' or '.'")
    if grouping is not None and grouping == decimal_sep:
        raise ValueError("grouping and decimal separators must differ")
    if grouping is not None:
        source = source.replace(grouping, "")
    if decimal_sep is not None:
        source = source.replace(decimal_sep, ".")
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", source.strip()):
        raise ValueError(f"{source!r} is not a number")
    return Decimal(source.strip())


@builtin("number", "from")
def _number_plain(source: Any) -> Decimal:
    return _number(source, None, None)


def feel_string(value: Any) -> str | None:
    """FEEL ``string(x)``: the canonical text of any value (null stays null)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(normalize_number(value), "f")
    if isinstance(value, temporal.TEMPORAL_TYPES):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_quoted(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_quoted(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Range):
        if value.op:
            return f"{value.op} {_quoted(value.end if value.start is None else value.start)}"
        return ("[" if value.start_included else "(") + \
            f"{_quoted(value.start)}..{_quoted(value.end)}" + \
            ("]" if value.end_included else ")")
    if isinstance(value, FeelFunction):
        return f"function {value.name}"
    return str(value)


def _quoted(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else (feel_string(value) or "null")


builtin("string", "from")(feel_string)


@builtin("not", "negand")
def _not(value: Any) -> bool | None:
    if value is None:
        return None
    if type(value) is not bool:
        raise TypeError(f"negand must be a boolean, not {type_name(value)}")
    return not value


@builtin("is", "value1", "value2")
def _is(a: Any, b: Any) -> bool:
    """Same type and same value, zone and all (unlike ``=``, which compares moments)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (temporal.FeelTime, temporal.FeelDateTime)):
        return bool(a.identity() == b.identity())
    from engine.feel.operators import equals
    return equals(a, b) is True


# ---------------------------------------------------------------- numbers
_MIN_SCALE, _MAX_SCALE = -6111, 6176


def _rounder(mode: str) -> Callable[[Any, Any], Decimal]:
    def rounded(n: Any, scale: Any) -> Decimal:
        places = int(num(scale, "scale"))  # a fractional scale is cut to its whole part
        if not _MIN_SCALE <= places <= _MAX_SCALE:
            raise ValueError(f"scale must be between {_MIN_SCALE} and {_MAX_SCALE}")
        number = num(n)
        if number.is_zero() and places <= 0:
            return Decimal(0)
        context = Context(prec=max(number.adjusted() + places + 2, 34), rounding=mode,
                          Emax=DECIMAL.Emax, Emin=DECIMAL.Emin)
        return number.quantize(Decimal(1).scaleb(-places), context=context)
    return rounded


def _register_rounding(name: str, mode: str, scale_optional: bool) -> None:
    rounded = _rounder(mode)
    builtin(name, "n", "scale")(rounded)
    if scale_optional:
        builtin(name, "n")(lambda n: rounded(n, Decimal(0)))


_register_rounding("decimal", ROUND_HALF_EVEN, False)
_register_rounding("round half up", ROUND_HALF_UP, False)
_register_rounding("round half down", ROUND_HALF_DOWN, False)
_register_rounding("round up", ROUND_UP, False)
_register_rounding("round down", ROUND_DOWN, False)
_register_rounding("floor", ROUND_FLOOR, True)
_register_rounding("ceiling", ROUND_CEILING, True)


@builtin("abs", "n")
def _abs(n: Any) -> Any:
    if isinstance(n, temporal.DayTimeDuration):
        return temporal.DayTimeDuration(abs(n.nanos))
    if isinstance(n, temporal.YearsMonthsDuration):
        return temporal.YearsMonthsDuration(abs(n.months))
    return abs(num(n))


@builtin("modulo", "dividend", "divisor")
def _modulo(dividend: Any, divisor: Any) -> Decimal:
    a, b = num(dividend, "dividend"), num(divisor, "divisor")
    if not b:
        raise ZeroDivisionError("division by zero")
    return DECIMAL.subtract(a, DECIMAL.multiply(b, DECIMAL.divide(a, b).to_integral_value(
        ROUND_FLOOR)))


@builtin("sqrt", "number")
def _sqrt(n: Any) -> Decimal:
    if num(n) < 0:
        raise ValueError("square root of a negative number")
    return DECIMAL.sqrt(n)


@builtin("log", "number")
def _log(n: Any) -> Decimal:
    if num(n) <= 0:
        raise ValueError("log of a non-positive number")
    return DECIMAL.ln(n)


@builtin("exp", "number")
def _exp(n: Any) -> Decimal:
    return DECIMAL.exp(num(n))


@builtin("odd", "number")
def _odd(n: Any) -> bool:
    return integer(n) % 2 == 1


@builtin("even", "number")
def _even(n: Any) -> bool:
    return integer(n) % 2 == 0
