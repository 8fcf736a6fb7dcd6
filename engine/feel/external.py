"""``function(...) external {java: {class: ..., method signature: ...}}``.

There is no Java here, and a model file must never name code for us to run, so external
functions map onto a fixed list of pure ``java.lang`` methods implemented in Python (the
ones DMN models use for maths and conversions). Any other class or method gives null with
an error when invoked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.feel.scope import Scope
from engine.feel.values import FeelFunction

_INTEGRAL = {"int", "long", "short", "byte", "java.lang.Integer", "java.lang.Long",
             "java.lang.Short", "java.lang.Byte"}
_FLOATING = {"double", "float", "java.lang.Double", "java.lang.Float"}
_STRING = {"java.lang.String", "java.lang.Object", "[Ljava.lang.Object;"}
_FORMAT = re.compile(r"%(?:%|n|-?\d{0,3}(?:\.\d{1,3})?[sdf])")

_MATH: dict[str, Callable[..., Any]] = {
    "abs": abs, "max": max, "min": min, "cos": math.cos, "sin": math.sin, "tan": math.tan,
    "acos": math.acos, "asin": math.asin, "atan": math.atan, "sqrt": math.sqrt,
    "exp": math.exp, "log": math.log, "log10": math.log10, "floor": math.floor,
    "ceil": math.ceil, "signum": lambda x: (x > 0) - (x < 0), "toDegrees": math.degrees,
    "toRadians": math.radians,
}
_VALUE_OF = {"java.lang.Short": int, "java.lang.Byte": int, "java.lang.Integer": int,
             "java.lang.Long": int, "java.lang.Float": float, "java.lang.Double": float}


def _format(pattern: str, *args: Any) -> str:
    if any(not _FORMAT.fullmatch(m.group())
           for m in re.finditer(r"%[^a-zA-Z%]*[a-zA-Z%]?", pattern)):
        raise ValueError("unsupported format (only %s, %d, %f with small widths)")
    return (pattern.replace("%n", "\n")) % tuple(args)


def _resolve(class_name: str, method: str) -> Callable[..., Any] | None:
    if class_name == "java.lang.Math":
        return _MATH.get(method)
    if method == "valueOf" and class_name in _VALUE_OF:
        return _VALUE_OF[class_name]
    if class_name == "java.lang.String":
        string_methods: dict[str, Callable[..., Any]] = {"valueOf": str, "format": _format}
        return string_methods.get(method)
    return None


def _argument(value: Any, java_type: str) -> Any:
    java_type = java_type.strip()
    if java_type in _INTEGRAL:
        if type(value) is Decimal and value == value.to_integral_value():
            return int(value)
        if type(value) is str:
            return int(value)
    elif java_type in _FLOATING:
        if type(value) is Decimal:
            return float(value)
        if type(value) is str:
            return float(value)
    elif java_type == "char":
        if type(value) is str and len(value) == 1:
            return value
    elif java_type in _STRING:
        return value
    raise TypeError(f"cannot pass {value!r} as Java {java_type}")


def _result(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    return None


def external_function(spec: Any, names: tuple[str, ...], scope: Scope) -> FeelFunction | None:
    """The FEEL function an ``external`` definition stands for, or null (reported)."""
    java = spec.get("java") if isinstance(spec, dict) else None
    if not isinstance(java, dict):
        scope.error("only external Java functions are supported")
        return None
    class_name, signature = java.get("class"), java.get("method signature")
    match = re.fullmatch(r"\s*([\w$]+)\s*\((.*)\)\s*", signature or "")
    if not isinstance(class_name, str) or match is None:
        scope.error("an external Java function needs a class and a method signature")
        return None
    method, types = match[1], [t.strip() for t in match[2].split(",") if t.strip()]
    implementation = _resolve(class_name, method)
    if class_name == "java.lang.Math" and any(t not in _INTEGRAL | _FLOATING for t in types):
        implementation = None  # java.lang.Math has no such overload

    def invoke(values: list[Any], caller: Scope | None) -> Any:
        report = caller or scope
        if implementation is None:
            report.error(f"external function {class_name}.{method} is not available")
            return None
        try:
            if types and types[-1].strip() == "[Ljava.lang.Object;":
                fixed = [_argument(v, t) for v, t in zip(values, types[:-1])]
                args = fixed + list(values[len(types) - 1:])
            elif len(values) != len(types):
                raise TypeError(f"expects {len(types)} arguments")
            else:
                args = [_argument(v, t) for v, t in zip(values, types)]
            return _result(implementation(*args))
        except (TypeError, ValueError, ArithmeticError) as exc:
            report.error(f"{class_name}.{method}(): {exc}")
            return None

    return FeelFunction(f"{class_name}.{method}", names, invoke)
