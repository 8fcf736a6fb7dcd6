"""Invoking FEEL functions, and the functions that ``function(...)`` literals define."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.feel.scope import Scope
from engine.feel.types import FeelType, coerce
from engine.feel.values import FeelFunction, type_name


def call_function(function: Any, args: list[Any], named: dict[str, Any] | None,
                  scope: Scope) -> Any:
    """``function(args)`` or ``function(name: value, ...)``; null with an error when
    ``function`` is not a function or the arguments do not fit."""
    if not isinstance(function, FeelFunction):
        scope.error(f"{type_name(function)} is not a function")
        return None
    scope.meter.step()
    if named is not None:
        try:
            args = function.bind(named)
        except TypeError as exc:
            scope.error(str(exc))
            return None
    return function.invoke(args, scope)


def define_function(names: tuple[str, ...], kinds: tuple[FeelType | None, ...] | None,
                    body: Callable[[Scope], Any], scope: Scope) -> FeelFunction:
    """The value of ``function(names) body`` evaluated in ``scope`` (a closure over it)."""

    def invoke(values: list[Any], caller: Scope | None) -> Any:
        report = caller if caller is not None else scope
        if len(values) != len(names):
            report.error(f"function({', '.join(names)}) called with {len(values)} arguments")
            return None
        if kinds is not None:
            values = list(values)
            for index, kind in enumerate(kinds):
                if kind is None:
                    continue
                values[index], ok = coerce(values[index], kind, scope.types)
                if not ok:
                    report.error(f"argument {names[index]!r} is not of type {kind.name}")
                    return None
        return body(scope.child(dict(zip(names, values))))

    return FeelFunction("anonymous", names, invoke, param_types=kinds)
