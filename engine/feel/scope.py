"""Name scopes for evaluating compiled FEEL, and what one evaluation shares between them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.budget import Meter

_MISSING = object()
_NO_TYPES: Mapping[str, Any] = {}


class Scope:
    """Variables visible to an expression: a mapping, then the enclosing scope's.

    Child scopes (``for`` iterations, filters, function bodies) share the root's ``errors``
    list (where runtime problems that FEEL turns into ``null`` are reported), its budget
    ``meter`` and its ``types`` (named types, e.g. a DMN file's item definitions, that
    ``instance of`` and typed parameters refer to).
    """

    __slots__ = ("variables", "parent", "errors", "meter", "types")
    variables: Mapping[str, Any]
    parent: Scope | None
    errors: list[str]
    meter: Meter
    types: Mapping[str, Any]

    def __init__(self, variables: Mapping[str, Any], parent: Scope | None = None,
                 errors: list[str] | None = None, meter: Meter | None = None,
                 types: Mapping[str, Any] | None = None) -> None:
        self.variables = variables
        self.parent = parent
        if parent is not None:
            self.errors = parent.errors if errors is None else errors
            self.meter = parent.meter
            self.types = parent.types
        else:
            self.errors = [] if errors is None else errors
            self.meter = meter if meter is not None else Meter()
            self.types = types if types is not None else _NO_TYPES

    def child(self, variables: Mapping[str, Any]) -> Scope:
        return Scope(variables, self)

    def lookup(self, name: str, default: Any = _MISSING) -> Any:
        """The value bound to ``name``, or ``default`` (``MISSING`` when not given)."""
        scope: Scope | None = self
        while scope is not None:
            value = scope.variables.get(name, _MISSING)
            if value is not _MISSING:
                return value
            scope = scope.parent
        return default

    def error(self, message: str) -> None:
        if message not in self.errors:
            self.errors.append(message)


MISSING = _MISSING
