"""FEEL's built-in functions (DMN 1.5 chapter 10.3.4), registered by their FEEL names.

Each implementation takes FEEL values and returns one. A wrong argument count or type
raises ``TypeError``/``ValueError`` inside; :func:`builtin` turns that into FEEL null plus
a reported error, as the spec asks.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_DOWN, ROUND_HALF_EVEN, \
    ROUND_HALF_UP, ROUND_UP, Decimal, DecimalException
from typing import Any, Callable

from engine.feel import temporal
from engine.feel.operators import equals, logical_and, logical_or
from engine.feel.scope import Scope
from engine.feel.values import DECIMAL, FeelFunction, YearsMonthsDuration, \
    normalize_number, type_name

BUILTINS: dict[str, FeelFunction] = {}


def builtin(name: str, *params: str, variadic: bool = False, wants_scope: bool = False
            ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn`` as the FEEL function ``name`` with FEEL parameter names ``params``."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        def invoke(args: list[Any], scope: Scope | None) -> Any:
            try:
                return fn(scope, *args) if wants_scope else fn(*args)
            except (TypeError, ValueError, ArithmeticError, DecimalException, IndexError,
                    KeyError, AttributeError, OverflowError, re.error) as exc:
                if scope is not None:
                    scope.error(f"{name}(): {exc}")
                return None

        BUILTINS[name] = FeelFunction(name, params, invoke, variadic)
        return fn

    return register


def _num(value: Any, what: str = "argument") -> Decimal:
    if type(value) is not Decimal:
        raise TypeError(f"{what} must be a number, not {type_name(value)}")
    return value


def _str(value: Any, what: str = "argument") -> str:
    if type(value) is not str:
        raise TypeError(f"{what} must be a string, not {type_name(value)}")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, not {type_name(value)}")
    return value


def _items(args: tuple[Any, ...]) -> list[Any]:
    """Variadic list functions accept ``f([1, 2])`` and ``f(1, 2)``."""
    if len(args) == 1 and isinstance(args[0], list):
        return args[0]
    if not args:
        raise TypeError("needs at least one argument")
    return list(args)


def _int(value: Any, what: str = "argument") -> int:
    number = _num(value, what)
    if number != number.to_integral_value():
        raise ValueError(f"{what} must be a whole number")
    return int(number)


# ---------------------------------------------------------------- conversion
@builtin("number", "from", "grouping separator", "decimal separator")
def _number(text: Any, grouping: Any = None, decimal_sep: Any = None) -> Decimal:
    text = _str(text, "from")
    if grouping is not None:
        text = text.replace(_str(grouping), "")
    if decimal_sep is not None:
        text = text.replace(_str(decimal_sep), ".")
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text.strip()):
        raise ValueError(f"{text!r} is not a number")
    return Decimal(text.strip())


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
    if isinstance(value, (dt.date, dt.time, dt.timedelta, YearsMonthsDuration)):
        return temporal.format_temporal(value)
    if isinstance(value, list):
        return "[" + ", ".join(_quoted(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_quoted(v)}" for k, v in value.items()) + "}"
    return str(value)


def _quoted(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else (feel_string(value) or "null")


builtin("string", "from")(feel_string)


@builtin("not", "negand")
def _not(value: Any) -> bool | None:
    return (not value) if type(value) is bool else None


# ---------------------------------------------------------------- numbers
def _rounder(mode: str) -> Callable[[Any, Any], Decimal]:
    def rounded(n: Any, scale: Any = Decimal(0)) -> Decimal:
        exponent = Decimal(1).scaleb(-_int(scale, "scale"))
        return _num(n).quantize(exponent, rounding=mode, context=DECIMAL)
    return rounded


builtin("decimal", "n", "scale")(_rounder(ROUND_HALF_EVEN))
builtin("round half up", "n", "scale")(_rounder(ROUND_HALF_UP))
builtin("round half down", "n", "scale")(_rounder(ROUND_HALF_DOWN))
builtin("round up", "n", "scale")(_rounder(ROUND_UP))
builtin("round down", "n", "scale")(_rounder(ROUND_DOWN))
builtin("floor", "n", "scale")(_rounder(ROUND_FLOOR))
builtin("ceiling", "n", "scale")(_rounder(ROUND_CEILING))


@builtin("abs", "n")
def _abs(n: Any) -> Any:
    if isinstance(n, (dt.timedelta,)):
        return abs(n)
    if isinstance(n, YearsMonthsDuration):
        return YearsMonthsDuration(abs(n.months))
    return abs(_num(n))


@builtin("modulo", "dividend", "divisor")
def _modulo(dividend: Any, divisor: Any) -> Decimal:
    a, b = _num(dividend), _num(divisor)
    if not b:
        raise ZeroDivisionError("division by zero")
    return DECIMAL.subtract(a, DECIMAL.multiply(b, (a / b).to_integral_value(ROUND_FLOOR)))


@builtin("sqrt", "number")
def _sqrt(n: Any) -> Decimal:
    return DECIMAL.sqrt(_num(n))


@builtin("log", "number")
def _log(n: Any) -> Decimal:
    if _num(n) <= 0:
        raise ValueError("log of a non-positive number")
    return DECIMAL.ln(n)


@builtin("exp", "number")
def _exp(n: Any) -> Decimal:
    return DECIMAL.exp(_num(n))


@builtin("odd", "number")
def _odd(n: Any) -> bool:
    return _int(n) % 2 == 1


@builtin("even", "number")
def _even(n: Any) -> bool:
    return _int(n) % 2 == 0


# ---------------------------------------------------------------- strings
@builtin("substring", "string", "start position", "length")
def _substring(text: Any, start: Any, length: Any = None) -> str:
    chars = list(_str(text))  # by code point, as FEEL counts
    begin = _int(start, "start position")
    index = begin - 1 if begin > 0 else len(chars) + begin
    index = max(index, 0)
    end = len(chars) if length is None else index + _int(length, "length")
    return "".join(chars[index:end])


builtin("string length", "string")(lambda s: Decimal(len(_str(s))))
builtin("upper case", "string")(lambda s: _str(s).upper())
builtin("lower case", "string")(lambda s: _str(s).lower())
builtin("contains", "string", "match")(lambda s, m: _str(m) in _str(s))
builtin("starts with", "string", "match")(lambda s, m: _str(s).startswith(_str(m)))
builtin("ends with", "string", "match")(lambda s, m: _str(s).endswith(_str(m)))


@builtin("substring before", "string", "match")
def _substring_before(text: Any, match: Any) -> str:
    text, match = _str(text), _str(match)
    return text.split(match, 1)[0] if match in text and match else ""


@builtin("substring after", "string", "match")
def _substring_after(text: Any, match: Any) -> str:
    text, match = _str(text), _str(match)
    if not match:
        return text
    return text.split(match, 1)[1] if match in text else ""


def _regex(pattern: Any, flags: Any) -> re.Pattern[str]:
    bits = 0
    for flag in _str(flags) if flags is not None else "":
        bits |= {"i": re.I, "s": re.S, "m": re.M, "x": re.X}.get(flag, 0)
    return re.compile(_str(pattern), bits)


@builtin("matches", "input", "pattern", "flags")
def _matches(text: Any, pattern: Any, flags: Any = None) -> bool:
    return _regex(pattern, flags).search(_str(text)) is not None


@builtin("replace", "input", "pattern", "replacement", "flags")
def _replace(text: Any, pattern: Any, replacement: Any, flags: Any = None) -> str:
    template = re.sub(r"\$(\d)", r"\\\1", _str(replacement))
    return _regex(pattern, flags).sub(template, _str(text))


@builtin("split", "string", "delimiter")
def _split(text: Any, delimiter: Any) -> list[str]:
    return re.split(_str(delimiter), _str(text))


@builtin("string join", "list", "delimiter")
def _string_join(items: Any, delimiter: Any = "") -> str:
    parts = [_str(v, "list item") for v in _list(items) if v is not None]
    return _str(delimiter if delimiter is not None else "").join(parts)


# ---------------------------------------------------------------- lists
@builtin("list contains", "list", "element")
def _list_contains(items: Any, element: Any) -> bool:
    return any(equals(v, element) is True for v in _list(items))


builtin("count", "list")(lambda items: Decimal(len(_list(items))))


def _ordered(args: tuple[Any, ...], pick: Callable[[list[Any]], Any]) -> Any:
    items = _items(args)
    if not items:
        return None
    if None in items or len({type_name(v) for v in items}) > 1:
        raise TypeError("items are not comparable")
    return pick(items)


builtin("min", "list", variadic=True)(lambda *a: _ordered(a, min))
builtin("max", "list", variadic=True)(lambda *a: _ordered(a, max))


def _numbers(args: tuple[Any, ...]) -> list[Decimal]:
    return [_num(v, "list item") for v in _items(args)]


@builtin("sum", "list", variadic=True)
def _sum(*args: Any) -> Decimal | None:
    numbers = _numbers(args)
    total = Decimal(0)
    for n in numbers:
        total = DECIMAL.add(total, n)
    return total if numbers else None


@builtin("product", "list", variadic=True)
def _product(*args: Any) -> Decimal | None:
    numbers = _numbers(args)
    total = Decimal(1)
    for n in numbers:
        total = DECIMAL.multiply(total, n)
    return total if numbers else None


@builtin("mean", "list", variadic=True)
def _mean(*args: Any) -> Decimal | None:
    numbers = _numbers(args)
    return DECIMAL.divide(_sum(numbers), Decimal(len(numbers))) if numbers else None


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
def _stddev(*args: Any) -> Decimal | None:
    numbers = _numbers(args)
    if len(numbers) < 2:
        return None
    return DECIMAL.sqrt(statistics.variance(numbers))


@builtin("mode", "list", variadic=True)
def _mode(*args: Any) -> list[Decimal]:
    numbers = _numbers(args)
    return sorted(statistics.multimode(numbers)) if numbers else []


@builtin("all", "list", variadic=True)
def _all(*args: Any) -> bool | None:
    result: bool | None = True
    for v in _items(args) if args != ([],) else []:
        result = logical_and(result, v)
    return result


@builtin("any", "list", variadic=True)
def _any(*args: Any) -> bool | None:
    result: bool | None = False
    for v in _items(args) if args != ([],) else []:
        result = logical_or(result, v)
    return result


@builtin("sublist", "list", "start position", "length")
def _sublist(items: Any, start: Any, length: Any = None) -> list[Any]:
    items = _list(items)
    begin = _int(start, "start position")
    index = begin - 1 if begin > 0 else len(items) + begin
    end = len(items) if length is None else index + _int(length, "length")
    return items[index:end]


builtin("append", "list", "item", variadic=True)(lambda items, *new: _list(items) + list(new))
builtin("concatenate", "list", variadic=True)(
    lambda *lists: [v for part in lists for v in _list(part)])
builtin("reverse", "list")(lambda items: list(reversed(_list(items))))


@builtin("insert before", "list", "position", "newItem")
def _insert_before(items: Any, position: Any, new: Any) -> list[Any]:
    items = list(_list(items))
    index = _int(position, "position")
    items.insert(index - 1 if index > 0 else len(items) + index, new)
    return items


@builtin("remove", "list", "position")
def _remove(items: Any, position: Any) -> list[Any]:
    items = list(_list(items))
    index = _int(position, "position")
    del items[index - 1 if index > 0 else index]
    return items


@builtin("index of", "list", "match")
def _index_of(items: Any, match: Any) -> list[Decimal]:
    return [Decimal(i + 1) for i, v in enumerate(_list(items)) if equals(v, match) is True]


def _distinct(items: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for v in items:
        if not any(equals(v, s) is True for s in seen):
            seen.append(v)
    return seen


builtin("distinct values", "list")(lambda items: _distinct(_list(items)))
builtin("union", "list", variadic=True)(
    lambda *lists: _distinct([v for part in lists for v in _list(part)]))


def _flatten(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in items:
        out.extend(_flatten(v) if isinstance(v, list) else [v])
    return out


builtin("flatten", "list")(lambda items: _flatten(_list(items)))


@builtin("sort", "list", "precedes", wants_scope=True)
def _sort(scope: Scope | None, items: Any, precedes: Any = None) -> list[Any]:
    import functools

    items = list(_list(items))
    if precedes is None:
        return _ordered(tuple([items]), sorted) if items else []
    if not isinstance(precedes, FeelFunction):
        raise TypeError("precedes must be a function")

    def order(a: Any, b: Any) -> int:
        if precedes.invoke([a, b], scope) is True:
            return -1
        return 1 if precedes.invoke([b, a], scope) is True else 0

    return sorted(items, key=functools.cmp_to_key(order))


# ---------------------------------------------------------------- contexts
@builtin("get value", "m", "key")
def _get_value(context: Any, key: Any) -> Any:
    if not isinstance(context, dict):
        raise TypeError("m must be a context")
    return context.get(_str(key, "key"))


@builtin("get entries", "m")
def _get_entries(context: Any) -> list[dict[str, Any]]:
    if not isinstance(context, dict):
        raise TypeError("m must be a context")
    return [{"key": k, "value": v} for k, v in context.items()]


@builtin("context put", "context", "key", "value")
def _context_put(context: Any, key: Any, value: Any) -> dict[str, Any]:
    if not isinstance(context, dict):
        raise TypeError("context must be a context")
    return {**context, _str(key, "key"): value}


@builtin("context merge", "contexts")
def _context_merge(contexts: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in _list(contexts):
        if not isinstance(part, dict):
            raise TypeError("contexts must hold contexts")
        merged.update(part)
    return merged


# Registers the date/time functions; imported last because it uses `builtin` above.
from engine.feel import temporal_builtins  # noqa: E402,F401
