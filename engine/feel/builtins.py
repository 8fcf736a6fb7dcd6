"""FEEL's built-in functions (DMN 1.5 chapter 10.3.4), registered by their FEEL names.

Each implementation takes FEEL values and returns one. A wrong argument count or type
raises ``TypeError``/``ValueError`` inside; :class:`Builtin` turns that into FEEL null plus
a reported error, as the spec asks. A function may have several signatures (``date(from)``
and ``date(year, month, day)``); the call picks one by argument count, or by the names of
named arguments. An argument that is a one-item list is read as its item when the function
fails on the list (DMN's singleton-list conversion).

This module holds the registry and the number and conversion functions; strings, lists,
contexts, dates and ranges have modules of their own, imported at the end.
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
    DecimalException,
)
from typing import Any

from engine.feel import temporal
from engine.feel.scope import Scope
from engine.feel.values import DECIMAL, FeelFunction, Range, normalize_number, type_name

BUILTINS: dict[str, Builtin] = {}

_FAILURES = (TypeError, ValueError, ArithmeticError, DecimalException, IndexError, KeyError,
             AttributeError, OverflowError, re.error)


class _Signature:
    __slots__ = ("params", "required", "fn", "variadic", "wants_scope")

    def __init__(self, params: tuple[str, ...], fn: Callable[..., Any], variadic: bool,
                 wants_scope: bool) -> None:
        self.params = tuple(p.rstrip("?") for p in params)
        self.required = sum(1 for p in params if not p.endswith("?"))
        self.fn, self.variadic, self.wants_scope = fn, variadic, wants_scope

    def fits(self, count: int) -> bool:
        return count >= self.required and (self.variadic or count <= len(self.params))


class Builtin(FeelFunction):
    """A built-in function with one or more signatures."""

    __slots__ = ("signatures",)

    def __init__(self, name: str) -> None:
        super().__init__(name, (), self._invoke)
        self.signatures: list[_Signature] = []

    def add(self, signature: _Signature) -> None:
        self.signatures.append(signature)
        if len(self.signatures) == 1:
            self.params = signature.params
            self.variadic = signature.variadic

    def bind(self, named: dict[str, Any]) -> list[Any]:
        for signature in self.signatures:
            if set(named) <= set(signature.params):
                values = _Bound(named.get(p) for p in signature.params)
                while len(values) > signature.required and values[-1] is None and \
                        signature.params[len(values) - 1] not in named:
                    values.pop()
                values.signature = signature
                return values
        unknown = sorted(set(named) - {p for s in self.signatures for p in s.params})
        raise TypeError(f"{self.name}() has no parameter {(unknown or sorted(named))[0]!r}")

    def _invoke(self, args: list[Any], scope: Scope | None) -> Any:
        if isinstance(args, _Bound):
            candidates = [args.signature]
        else:
            candidates = [s for s in self.signatures if s.fits(len(args))]
        if not candidates:
            counts = sorted({len(s.params) for s in self.signatures})
            return _fail(scope, f"{self.name}() takes {' or '.join(map(str, counts))} "
                                f"arguments, not {len(args)}")
        first_failure = None
        for signature in candidates:
            try:
                return _apply(signature, args, scope)
            except _FAILURES as exc:
                first_failure = first_failure or exc
        singles = [a[0] if isinstance(a, list) and len(a) == 1 else a for a in args]
        if singles != list(args):
            for signature in candidates:
                if not signature.variadic:
                    try:
                        return _apply(signature, singles, scope)
                    except _FAILURES:
                        pass
        return _fail(scope, f"{self.name}(): {first_failure}")


class _Bound(list):
    """Arguments bound by name, remembering which signature they were bound to."""

    signature: _Signature


def _apply(signature: _Signature, args: list[Any], scope: Scope | None) -> Any:
    if signature.wants_scope:
        return signature.fn(scope, *args)
    return signature.fn(*args)


def _fail(scope: Scope | None, message: str) -> None:
    if scope is not None:
        scope.error(message)
    return None


def builtin(name: str, *params: str, variadic: bool = False, wants_scope: bool = False
            ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn`` as (one signature of) FEEL function ``name``; a parameter name ending
    in ``?`` is optional."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        function = BUILTINS.get(name)
        if function is None:
            function = BUILTINS[name] = Builtin(name)
        function.add(_Signature(params, fn, variadic, wants_scope))
        return fn

    return register


# ---------------------------------------------------------------- argument checks
def num(value: Any, what: str = "argument") -> Decimal:
    if type(value) is not Decimal:
        raise TypeError(f"{what} must be a number, not {type_name(value)}")
    return value


def text(value: Any, what: str = "argument") -> str:
    if type(value) is not str:
        raise TypeError(f"{what} must be a string, not {type_name(value)}")
    return value


def as_list(value: Any, what: str = "list") -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"{what} must be a list, not {type_name(value)}")
    return value


def integer(value: Any, what: str = "argument") -> int:
    number = num(value, what)
    if number != number.to_integral_value():
        raise ValueError(f"{what} must be a whole number")
    return int(number)


def items_of(args: tuple[Any, ...]) -> list[Any]:
    """Variadic list functions accept ``f([1, 2])`` and ``f(1, 2)``."""
    if len(args) == 1 and isinstance(args[0], list):
        return args[0]
    if not args or (len(args) == 1 and args[0] is None):
        raise TypeError("needs a list or at least one item")
    return list(args)


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
        return a.identity() == b.identity()
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


# The other families register themselves into BUILTINS; imported last because they use the
# helpers above.
from engine.feel import (  # noqa: E402,F401,I001
    builtins_contexts,
    builtins_lists,
    builtins_ranges,
    builtins_strings,
    temporal_builtins,
)
