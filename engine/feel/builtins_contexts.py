"""FEEL's context functions: read, build, change (as a copy) and merge contexts."""

from __future__ import annotations

from typing import Any

from engine.feel.builtin_registry import as_list, builtin, text
from engine.feel.values import type_name


def _context(value: Any, what: str = "context") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{what} must be a context, not {type_name(value)}")
    return value


@builtin("get value", "m", "key")
def _get_value(context: Any, key: Any) -> Any:
    return _context(context, "m").get(text(key, "key"))


@builtin("get entries", "m")
def _get_entries(context: Any) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in _context(context, "m").items()]


@builtin("context", "entries")
def _make_context(entries: Any) -> dict[str, Any]:
    built: dict[str, Any] = {}
    for entry in entries if isinstance(entries, list) else [entries]:
        entry = _context(entry, "an entry")
        if "key" not in entry or "value" not in entry:
            raise ValueError("an entry needs a key and a value")
        key = text(entry["key"], "key")
        if key in built:
            raise ValueError(f"key {key!r} appears twice")
        built[key] = entry["value"]
    return built


@builtin("context put", "context", "key", "value")
def _context_put(context: Any, key: Any, value: Any) -> dict[str, Any]:
    return {**_context(context), text(key, "key"): value}


@builtin("context put", "context", "keys", "value")
def _context_put_path(context: Any, keys: Any, value: Any) -> dict[str, Any]:
    path = [text(k, "key") for k in as_list(keys, "keys")]
    if not path:
        raise ValueError("keys must not be empty")
    context = _context(context)
    if len(path) == 1:
        return {**context, path[0]: value}
    inner = context.get(path[0], {})
    return {**context, path[0]: _context_put_path(_context(inner, f"entry {path[0]!r}"),
                                                  path[1:], value)}


@builtin("context merge", "contexts")
def _context_merge(contexts: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in contexts if isinstance(contexts, list) else [_context(contexts, "contexts")]:
        merged.update(_context(part, "each of contexts"))
    return merged
