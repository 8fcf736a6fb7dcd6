"""Camunda 7's typed variables, ``{"x": {"value": 1, "type": "Integer", "valueInfo": {}}}``,
to and from the engine's plain JSON variables.

In: String, Integer, Short, Long, Double, Boolean, Null, Json, Object (JSON serialization
only), Date (kept as its ISO text), and untyped ``{"value": ...}`` (the Python client sends
those). Bytes, File and Java-serialized Objects cannot be represented and are refused with a
400. Out: str -> String, bool -> Boolean, int -> Integer/Long, float -> Double, None -> Null,
objects and arrays -> Json (the value is its JSON text, as Camunda sends Spin JSON).
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any

from engine import jsonsafe
from engine.errors import ValidationError

INT_MIN, INT_MAX = -(2 ** 31), 2 ** 31 - 1
LONG_MIN, LONG_MAX = -(2 ** 63), 2 ** 63 - 1
SHORT_MIN, SHORT_MAX = -(2 ** 15), 2 ** 15 - 1
JSON_FORMATS = ("application/json", "json")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)?")


def _bad(name: str, message: str) -> ValidationError:
    return ValidationError(f"variable {name!r}: {message}")


def _integer(name: str, value: Any, low: int, high: int, kind: str) -> int:
    if isinstance(value, bool):
        raise _bad(name, f"{kind} value must be a number, not a boolean")
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise _bad(name, f"cannot convert {value!r} to {kind}") from None
    if isinstance(value, float):
        if not value.is_integer():
            raise _bad(name, f"{kind} value {value} is not a whole number")
        value = int(value)
    if not isinstance(value, int):
        raise _bad(name, f"{kind} value must be a number")
    if not low <= value <= high:
        raise _bad(name, f"{value} is out of range for {kind}")
    return value


def _parse_json_text(name: str, value: Any, kind: str) -> Any:
    if not isinstance(value, str):
        return value  # already structured: accept what a lenient client sends
    try:
        return jsonsafe.loads(value, f"{kind} value")
    except jsonsafe.JsonValueError as exc:
        raise _bad(name, f"{kind} value is not valid JSON: {exc.reason}") from None


def from_typed(name: str, typed: Any) -> Any:
    """The plain value of one Camunda typed variable."""
    if not isinstance(typed, dict):
        raise _bad(name, 'expected an object like {"value": ..., "type": "String"}')
    kind = typed.get("type")
    value = typed.get("value")
    if kind is None or kind == "":
        return value
    if not isinstance(kind, str):
        raise _bad(name, "type must be a string")
    lower = kind.lower()
    if value is None or lower == "null":
        return None
    if lower == "string":
        if not isinstance(value, str):
            raise _bad(name, "String value must be a string")
        return value
    if lower == "integer":
        return _integer(name, value, INT_MIN, INT_MAX, "Integer")
    if lower == "long":
        return _integer(name, value, LONG_MIN, LONG_MAX, "Long")
    if lower == "short":
        return _integer(name, value, SHORT_MIN, SHORT_MAX, "Short")
    if lower == "double":
        if isinstance(value, bool):
            raise _bad(name, "Double value must be a number, not a boolean")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise _bad(name, f"cannot convert {value!r} to Double") from None
        if not math.isfinite(number):
            raise _bad(name, "Double value must be finite")
        return number
    if lower == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _bad(name, "Boolean value must be true or false")
    if lower == "json":
        return _parse_json_text(name, value, "Json")
    if lower == "object":
        info = typed.get("valueInfo") or {}
        fmt = info.get("serializationDataFormat", "application/json") if isinstance(info, dict) else None
        if fmt not in JSON_FORMATS:
            raise _bad(name, f"Object serialization {fmt!r} is not supported; use application/json")
        return _parse_json_text(name, value, "Object")
    if lower == "date":
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            raise _bad(name, "Date value must look like 2024-01-31T12:00:00.000+0000")
        return value
    if lower in ("bytes", "file"):
        raise _bad(name, f"{kind} variables are not supported by this engine")
    raise _bad(name, f"unknown variable type {kind!r}")


def variables_in(typed: Any, what: str = "variables") -> dict[str, Any]:
    """Plain variables from a Camunda ``variables`` object (None -> {})."""
    if typed is None:
        return {}
    if not isinstance(typed, dict):
        raise ValidationError(f"{what} must be an object of name -> typed value")
    return {name: from_typed(name, value) for name, value in typed.items()}


def to_typed(value: Any) -> dict[str, Any]:
    """One plain value as a Camunda typed variable."""
    if value is None:
        return {"type": "Null", "value": None, "valueInfo": {}}
    if isinstance(value, bool):
        return {"type": "Boolean", "value": value, "valueInfo": {}}
    if isinstance(value, int):
        kind = "Integer" if INT_MIN <= value <= INT_MAX else "Long"
        return {"type": kind, "value": value, "valueInfo": {}}
    if isinstance(value, float):
        return {"type": "Double", "value": value, "valueInfo": {}}
    if isinstance(value, str):
        return {"type": "String", "value": value, "valueInfo": {}}
    if isinstance(value, datetime):
        return {"type": "Date", "value": camunda_time(value), "valueInfo": {}}
    return {"type": "Json", "value": json.dumps(value, default=str), "valueInfo": {}}


def variables_out(values: dict[str, Any], names: list[str] | None = None) -> dict[str, Any]:
    """Typed variables, optionally only the ``names`` asked for."""
    return {k: to_typed(v) for k, v in (values or {}).items() if names is None or k in names}


def camunda_time(moment: datetime | str | None) -> str | None:
    """Camunda's date format: ``2024-01-31T12:00:00.000+0000``."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    offset = moment.strftime("%z") or "+0000"
    return text + offset
