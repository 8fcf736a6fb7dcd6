"""Name scopes for evaluating compiled FEEL, and the error list they share."""

from __future__ import annotations

from typing import Any, Mapping

_MISSING = object()


class Scope:
    """Variables visible to an expression: a mapping, then the enclosing scope's.

    Child scopes (``for`` iterations, filters, function bodies) share the root's ``errors``
    list, where runtime problems that FEEL turns into ``null`` are reported.
    """

    __slots__ = ("variables", "parent", "errors")

    def __init__(self, variables: Mapping[str, Any], parent: "Scope | None" = None,
                 errors: list[str] | None = None) -> None:
        self.variables = variables
        self.parent = parent
        self.errors = errors if errors is not None else (parent.errors if parent else [])

    def child(self, variables: Mapping[str, Any]) -> "Scope":
        return Scope(variables, self, self.errors)

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
