"""Checking values against DMN typeRefs and itemDefinitions (base types, allowed values,
collections, components). A value that does not conform becomes null, with an error."""

from __future__ import annotations

from typing import Any, Mapping

from engine.dmn.model import ItemDefinition
from engine.feel import Scope, type_name

_BASE_TYPES = {
    "number": "number", "string": "string", "boolean": "boolean", "date": "date",
    "time": "time", "dateTime": "date and time", "date and time": "date and time",
    "dayTimeDuration": "days and time duration",
    "days and time duration": "days and time duration",
    "yearMonthDuration": "years and months duration",
    "years and months duration": "years and months duration",
    "context": "context", "list": "list",
    # Camunda Modeler's typeRefs
    "integer": "number", "long": "number", "double": "number",
}


def _local(type_ref: str) -> str:
    for prefix in ("feel:", "FEEL:", "xsd:"):
        if type_ref.startswith(prefix):
            return type_ref[len(prefix):]
    return type_ref


def conform(value: Any, type_ref: str | None, types: Mapping[str, ItemDefinition],
            errors: list[str], what: str) -> Any:
    """``value`` if it conforms to ``type_ref``, else None with a message in ``errors``."""
    if value is None or not type_ref:
        return value
    problem = _problem(value, _local(type_ref), types, depth=0)
    if problem:
        errors.append(f"{what}: {problem}")
        return None
    return value


def _problem(value: Any, type_ref: str, types: Mapping[str, ItemDefinition],
             depth: int) -> str | None:
    if value is None or depth > 20:
        return None
    base = _BASE_TYPES.get(type_ref)
    if base is not None:
        actual = type_name(value)
        return None if actual == base else f"{actual} value does not conform to type {base}"
    item = types.get(type_ref)
    if item is None:
        return None  # unknown or "Any": accept
    return _item_problem(value, item, types, depth)


def _item_problem(value: Any, item: ItemDefinition, types: Mapping[str, ItemDefinition],
                  depth: int) -> str | None:
    if item.is_collection:
        if not isinstance(value, list):
            return f"{type_name(value)} value does not conform to collection type {item.name}"
        single = ItemDefinition(item.name, item.type_ref, item.allowed_values, False,
                                item.components)
        for element in value:
            problem = _item_problem(element, single, types, depth + 1)
            if problem:
                return problem
        return None
    if item.type_ref:
        problem = _problem(value, _local(item.type_ref), types, depth + 1)
        if problem:
            return problem
    if item.components:
        if not isinstance(value, dict):
            return f"{type_name(value)} value does not conform to structured type {item.name}"
        for name, component in item.components.items():
            problem = _item_problem(value.get(name), component, types, depth + 1)
            if problem:
                return f"{name}: {problem}"
    if item.allowed_values is not None and value is not None:
        if item.allowed_values.test(value, Scope({})) is not True:
            return f"value {value!r} is not one of the allowed values of {item.name}"
    return None
