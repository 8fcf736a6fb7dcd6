"""Reading the cockpit's forms: typed variables, ``name = value`` lines, uploads. Every
problem is a :class:`ValidationError` naming the field, shown to the user with a 400."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from engine.errors import ValidationError

from ..camunda_types import from_typed

VARIABLE_TYPES = ("String", "Integer", "Long", "Double", "Boolean", "Json", "Null")
MAX_LINES = 200


def assignments(field: str, text: str | None = None) -> dict[str, Any]:
    """``name = value`` lines; a value that parses as JSON (3, true, {"a": 1}) is that value,
    anything else is text, as with ``mlc start -v``."""
    text = request.form.get(field, "") if text is None else text
    out: dict[str, Any] = {}
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_LINES:
        raise ValidationError(f"{field}: at most {MAX_LINES} lines")
    for number, line in enumerate(lines, 1):
        name, sep, raw = line.partition("=")
        name, raw = name.strip(), raw.strip()
        if not sep or not name:
            raise ValidationError(f"{field}, line {number}: {line.strip()!r} is not name = value")
        try:
            out[name] = json.loads(raw)
        except ValueError:
            out[name] = raw
    return out


def typed_variable() -> tuple[str, Any]:
    """One variable from the edit form: name, Camunda type and value text."""
    name = request.form.get("name", "").strip()
    if not name:
        raise ValidationError("name: a variable needs a name")
    kind = request.form.get("type", "String")
    if kind not in VARIABLE_TYPES:
        raise ValidationError(f"type: must be one of {', '.join(VARIABLE_TYPES)}")
    raw = request.form.get("value", "")
    if kind == "Boolean":
        raw = raw.strip().lower()
    return name, from_typed(name, {"type": kind, "value": None if kind == "Null" else raw})


def text(field: str, *, required: bool = False, max_length: int = 2000) -> str:
    value = request.form.get(field, "").strip()
    if required and not value:
        raise ValidationError(f"{field}: required")
    if len(value) > max_length or "\x00" in value:
        raise ValidationError(f"{field}: at most {max_length} characters, no NUL")
    return value


def uploads(field: str = "files") -> list[tuple[str, bytes]]:
    files = [(f.filename or field, f.read()) for f in request.files.getlist(field) if f.filename]
    if not files:
        raise ValidationError("choose at least one .bpmn or .dmn file to deploy")
    return files
