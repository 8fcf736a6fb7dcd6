"""JUEL type coercion and operators (Unified EL 2.2, section 1.7-1.8 and 1.18), on Python values.

Python stands in for Java types: ``int`` for Long, ``float`` for Double, ``Decimal`` for
BigDecimal, ``str``, ``bool``, ``None`` for null, ``list``/``tuple`` for List and any
``Mapping`` for Map. ``bool`` is tested before ``int`` everywhere because Python makes it an int
subclass and JUEL does not (``true + 1`` is an error, ``true == 1`` is an error).

Operator functions raise :class:`Fault` with a short message; the caller (an
:class:`~engine.expressions.evaluator.Expression`) adds the expression text and element id.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from engine.budget import check_size

__all__ = [
    "Fault", "is_number", "to_boolean", "to_number", "to_string", "java_equals", "describe",
    "add", "sub", "mul", "div", "mod", "neg", "equals", "less", "greater", "less_equal",
    "greater_equal", "is_empty", "get_property",
]

_INT_TEXT = re.compile(r"[+-]?\d+")
_DIGITS_PER_BIT = math.log10(2)
_FLOAT_TEXT = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[dDfF]?\s*")


class Fault(Exception):
    """An evaluation failure, without location; Expression.evaluate turns it into ExpressionError."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def describe(value: Any) -> str:
    """A value and its type for error messages, short enough for a one-line reason."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({_type_name(value)})"


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, (float, Decimal)):
        return "decimal"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, (list, tuple)):
        return "list"
    return type(value).__name__


def is_number(value: Any) -> bool:
    """True for int, float and Decimal but not bool (JUEL's Number)."""
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def to_boolean(value: Any) -> bool:
    """JUEL coerceToBoolean: null and "" are false, a string is true iff it equals "true"
    ignoring case; numbers, lists and maps are errors (JUEL has no truthiness)."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str):
        return value.lower() == "true"
    raise Fault(f"Cannot coerce {describe(value)} to boolean")


def to_number(value: Any) -> int | float | Decimal:
    """JUEL coerceToNumber: null and "" are 0; a string with '.', 'e' or 'E' becomes a float,
    any other numeric string an int; booleans and non-numeric strings are errors."""
    if is_number(value):
        number: int | float | Decimal = value
        return number
    if value is None:
        return 0
    if isinstance(value, str):
        if value == "":
            return 0
        if _INT_TEXT.fullmatch(value):
            return int(value)
        if _FLOAT_TEXT.fullmatch(value):
            return float(value.strip().rstrip("dDfF"))
        raise Fault(f"Cannot coerce {describe(value)} to a number")
    raise Fault(f"Cannot coerce {describe(value)} to a number")


def _to_decimal(value: int | float | Decimal) -> Decimal:
    # BigDecimal.valueOf(double) uses the shortest decimal text, as str() of a float does.
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _widen(a: Any, b: Any) -> tuple[Any, Any]:
    """Coerce both operands to the wider of Long < Double < BigDecimal, as JUEL's arithmetic does."""
    a, b = to_number(a), to_number(b)
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return _to_decimal(a), _to_decimal(b)
    if isinstance(a, float) or isinstance(b, float):
        return float(a), float(b)
    return a, b


def add(a: Any, b: Any) -> Any:
    """``A + B``: numeric only; JUEL has no string concatenation (use a composite template)."""
    if a is None and b is None:
        return 0
    x, y = _widen(a, b)
    return x + y


def sub(a: Any, b: Any) -> Any:
    """``A - B`` with JUEL coercion."""
    if a is None and b is None:
        return 0
    x, y = _widen(a, b)
    return x - y


def mul(a: Any, b: Any) -> Any:
    """``A * B`` with JUEL coercion (never string repetition: operands are numbers first).

    Integers are arbitrary precision, so a product is refused before it is computed when it
    would have more digits than the evaluation budget allows (``MLC_EVAL_MAX_ITEMS``)."""
    if a is None and b is None:
        return 0
    x, y = _widen(a, b)
    if type(x) is int and type(y) is int and x.bit_length() + y.bit_length() > 3000:
        check_size(int((x.bit_length() + y.bit_length()) * _DIGITS_PER_BIT), "a number's digits")
    return x * y


def div(a: Any, b: Any) -> Any:
    """``A / B``, ``A div B``: always a decimal result (``4 / 2`` is ``2.0``), as in JUEL.

    Division by zero follows Java double arithmetic, as Camunda does: ``1/0`` is ``inf``,
    ``-1/0`` is ``-inf``, ``0/0`` is ``nan``. With a Decimal operand (BigDecimal) it is an error.
    """
    if a is None and b is None:
        return 0
    x, y = _widen(a, b)
    if isinstance(x, Decimal):
        if y == 0:
            raise Fault("Division by zero")
        return x / y
    x, y = float(x), float(y)
    if y == 0.0:
        if x == 0.0 or math.isnan(x):
            return math.nan
        return math.copysign(math.inf, x) * math.copysign(1.0, y)
    return x / y


def mod(a: Any, b: Any) -> Any:
    """``A % B``, ``A mod B``: Java's remainder, whose sign follows the dividend (``-7 % 3`` is
    ``-1``, unlike Python). Integer modulo by zero is an error (Java ArithmeticException);
    decimal modulo by zero is ``nan`` (Java double)."""
    if a is None and b is None:
        return 0
    x, y = _widen(a, b)
    if isinstance(x, Decimal):
        if y == 0:
            raise Fault("Division by zero")
        return x % y  # Decimal's % already truncates toward zero like BigDecimal.remainder
    if isinstance(x, float):
        if y == 0.0 or math.isinf(x) or math.isnan(x) or math.isnan(y):
            return math.nan
        return math.fmod(x, y)
    if y == 0:
        raise Fault("Division by zero")
    r = abs(x) % abs(y)
    return -r if x < 0 else r


def neg(a: Any) -> Any:
    """Unary ``-A``: null is 0, numeric strings are converted, booleans are errors."""
    if a is None:
        return 0
    return -to_number(a)


def _numeric_kind(a: Any, b: Any) -> type | None:
    """The Java numeric type JUEL compares in, or None if neither operand is a number."""
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return Decimal
    if isinstance(a, float) or isinstance(b, float):
        return float
    if is_number(a) or is_number(b):
        return int
    return None


def equals(a: Any, b: Any) -> bool:
    """``A == B`` (EL 1.8.2): numbers compare numerically (``5 == '5'`` is true, ``5 == 'x'`` is
    an error as in JUEL), booleans by boolean coercion, strings as strings; null equals only null."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    kind = _numeric_kind(a, b)
    if kind is not None:
        x, y = _widen(a, b)
        return bool(x == y)
    if isinstance(a, bool) or isinstance(b, bool):
        return to_boolean(a) == to_boolean(b)
    if isinstance(a, str) or isinstance(b, str):
        return to_string(a) == to_string(b)
    return java_equals(a, b)


def _compare(a: Any, b: Any) -> int:
    """Three-way compare of non-null operands following EL 1.8.1; raise Fault when not comparable."""
    if _numeric_kind(a, b) is not None:
        x, y = _widen(a, b)
    elif isinstance(a, str) or isinstance(b, str):
        x, y = to_string(a), to_string(b)
    elif isinstance(a, bool) and isinstance(b, bool):
        x, y = a, b
    else:
        raise Fault(f"Cannot compare {describe(a)} with {describe(b)}")
    return int((x > y) - (x < y))


def less(a: Any, b: Any) -> bool:
    """``A < B``: false when either side is null (JUEL)."""
    if a is None or b is None:
        return False
    return _compare(a, b) < 0


def greater(a: Any, b: Any) -> bool:
    """``A > B``: false when either side is null (JUEL)."""
    if a is None or b is None:
        return False
    return _compare(a, b) > 0


def less_equal(a: Any, b: Any) -> bool:
    """``A <= B``: true when both are the same object (``null <= null``), else false with a null."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    return _compare(a, b) <= 0


def greater_equal(a: Any, b: Any) -> bool:
    """``A >= B``: true when both are the same object (``null >= null``), else false with a null."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    return _compare(a, b) >= 0


def is_empty(value: Any) -> bool:
    """``empty A``: true for null, "" and empty lists/maps; false for anything else."""
    if value is None:
        return True
    if isinstance(value, (str, list, tuple, Mapping)):
        return len(value) == 0
    return False


def java_equals(a: Any, b: Any) -> bool:
    """Java ``Object.equals`` without coercion: ``1`` does not equal ``1.0`` nor ``true``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) and is_number(b):
        return type(a) is type(b) and bool(a == b)
    return bool(a == b)


def to_index(key: Any) -> int:
    """A list index from a number or numeric string (JUEL ListELResolver)."""
    if isinstance(key, bool):
        raise Fault(f"Cannot use {describe(key)} as a list index")
    if isinstance(key, int):
        return key
    if isinstance(key, (float, Decimal)):
        if not math.isfinite(key):
            raise Fault(f"Cannot use {describe(key)} as a list index")
        return int(key)
    if isinstance(key, str) and _INT_TEXT.fullmatch(key.strip()):
        return int(key)
    raise Fault(f"Cannot use {describe(key)} as a list index")


def get_property(base: Any, key: Any) -> Any:
    """``A.B`` / ``A[B]`` on maps and lists only (no attribute access on objects, for safety).

    A missing map key, an out-of-range list index, a null base or a null key give null,
    as JUEL's Map/List resolvers do.
    """
    if base is None or key is None:
        return None
    if isinstance(base, Mapping):
        try:
            return base.get(key)
        except TypeError:
            raise Fault(f"Cannot use {describe(key)} as a map key") from None
    if isinstance(base, (list, tuple)):
        index = to_index(key)
        if 0 <= index < len(base):
            return base[index]
        return None
    raise Fault(f"Cannot read property {key!r} of {describe(base)}: "
                "properties can only be read from maps and lists")


def to_string(value: Any) -> str:
    """JUEL coerceToString / Java toString: null is "", booleans are "true"/"false", floats
    print as Java's Double.toString does (``2.0``, ``1.0E10``), lists as ``[a, b]``, maps as
    ``{k=v}``."""
    if value is None:
        return ""
    return _java_str(value, nested=False)


def _java_str(value: Any, *, nested: bool) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "null" if nested else ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_java_str(k, nested=True)}={_java_str(v, nested=True)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_java_str(v, nested=True) for v in value) + "]"
    return str(value)


def java_double(value: float) -> str:
    """Java's ``Double.toString``: plain between 1e-3 and 1e7, else ``d.dddE±n``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        return repr(value)  # Python's repr is plain in this range and always has a '.'
    _, digits, exponent = Decimal(repr(magnitude)).as_tuple()
    text = "".join(map(str, digits))
    power = len(text) + int(exponent) - 1
    text = text.rstrip("0") or "0"
    mantissa = text[0] + "." + (text[1:] or "0")
    return f"{'-' if value < 0 else ''}{mantissa}E{power}"
