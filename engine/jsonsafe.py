"""Strict JSON for what users send and handlers return, the same on SQLite and PostgreSQL.

- **No NaN or Infinity.** They are not JSON: SQLite stored them and later answers were
  invalid JSON, PostgreSQL refused them with a misleading error. Python's ``json`` reads the
  literals ``NaN``/``Infinity`` and turns ``1e400`` into infinity; both are refused.
- **No NUL characters** in strings or names: PostgreSQL text cannot hold them (SQLite can),
  so a value that works on one database would fail on the other; nor unpaired surrogates
  (``"\ud800"``), which neither database can encode.
- **At most** :data:`MAX_DEPTH` **levels of nesting**: deeper values overflow the stack of
  the parser or of the engine's own copies (a 100,000-deep body was a 500).

:func:`loads` parses request bodies, :func:`check` vets values from anywhere else (handler
results), :func:`dumps` is the JSON columns' serializer (the last line of defence).
"""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import ValidationError

MAX_DEPTH = 100


class JsonValueError(ValidationError):
    """A value JSON (or the databases) cannot hold, named with its path.

    ``reason`` is the message without what was parsed (``"NaN is not a JSON number..."``).
    """

    code = "invalid_value"

    def __init__(self, message: str, problems: list[Any] | None = None, *,
                 reason: str | None = None) -> None:
        super().__init__(message, problems)
        self.reason = reason or message


def loads(data: str | bytes, what: str = "JSON body") -> Any:
    """Parse ``data`` strictly; raise :class:`JsonValueError` naming the problem."""
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except JsonValueError as exc:
        raise JsonValueError(f"{what}: {exc.message}", reason=exc.message) from None
    except RecursionError:
        reason = f"nested deeper than {MAX_DEPTH} levels"
        raise JsonValueError(f"{what}: {reason}", reason=reason) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise JsonValueError(f"malformed {what}: {exc}", reason=str(exc)) from None
    check(value, what)
    return value


def check(value: Any, what: str = "value") -> None:
    """Raise :class:`JsonValueError` if ``value`` holds NaN/Infinity, a NUL character or more
    than :data:`MAX_DEPTH` levels of nesting. Walks iteratively: depth cannot overflow it."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            _fail(what, path, f"is {item}: NaN and Infinity are not JSON numbers")
        if isinstance(item, str):
            _check_text(item, what, path)
            continue
        if isinstance(item, (dict, list, tuple)):
            if depth >= MAX_DEPTH:
                _fail(what, "", f"nested deeper than {MAX_DEPTH} levels", sep=": ")
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str):
                        _check_text(key, what, path, "has a name that")
                    stack.append((child, f"{path}.{key}", depth + 1))
            else:
                stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))


def _check_text(text: str, what: str, path: str, subject: str = "") -> None:
    if "\x00" in text:
        _fail(what, path, f"{subject} contains a NUL character".strip())
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # JSON's "\ud800" escapes decode to an unpaired surrogate
        _fail(what, path, f"{subject} contains an unpaired surrogate, which is not "
                          "valid Unicode".strip())


def _fail(what: str, path: str, reason: str, sep: str = " ") -> None:
    field = path.lstrip(".")
    raise JsonValueError(f"{what}{path}{sep}{reason}",
                         problems=[{"message": reason, "field": field or what, "in": what}],
                         reason=f"{field} {reason}" if field else reason)


def dumps(value: Any) -> str:
    """JSON text for a JSON column; NaN/Infinity raise ``ValueError`` on both databases."""
    return json.dumps(value, allow_nan=False)


def _refuse_constant(name: str) -> Any:
    raise JsonValueError(f"{name} is not a JSON number (NaN and Infinity are not JSON)")
