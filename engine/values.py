"""Variable values as the engine stores them: JSON-safe, with one text form for correlation."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from . import jsonsafe


def jsonable(value: Any) -> Any:
    """A JSON-safe copy of a variable value (Decimal/date become numbers/strings)."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value
    return json.loads(json.dumps(value, default=json_default))


def json_default(value: Any) -> Any:
    """How values JSON does not know are stored: numbers stay numbers, times become ISO text."""
    if isinstance(value, Decimal):
        if value.is_nan() or value.is_infinite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (set, tuple, frozenset)):
        return list(value)
    return str(value)


def scalar_text(value: Any) -> str | None:
    """The text a variable is indexed under for correlation (None when not a scalar)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (int, float, str)):
        text = str(value)
        return text if len(text) <= 512 else None
    return None


def check_variables(variables: Any, what: str = "variables") -> None:
    """Refuse anything but an object of name -> value (a request body's variables)."""
    from .errors import ValidationError

    if variables is None:
        return
    if not isinstance(variables, dict) or not all(isinstance(k, str) and k for k in variables):
        raise ValidationError(f"{what} must be an object of name -> value")
    jsonsafe.check(variables, what)  # no NaN/Infinity, NUL or deep nesting, on both databases
