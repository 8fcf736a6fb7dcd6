"""FEEL types: ``instance of``, typed function parameters and DMN type conformance.

A type is built from a parsed type (``list<number>``, ``context<a: string>``,
``function<number> -> string``, ``range<date>``, a built-in name) or from a DMN item
definition (see :mod:`engine.dmn.types`). Named types that are not built in (item
definitions) are looked up in the evaluation scope's ``types``.

``is_instance`` is FEEL's ``instance of`` (null is an instance of nothing; allowed values are
not considered). ``coerce`` is what binding a value to a typed variable does (DMN 1.5,
10.3.2.9): a conforming value stays, a singleton list and its item convert into each other
when that makes them conform, anything else becomes null.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.feel.values import FeelFunction, Range, type_name

BUILT_IN = {
    "Any", "Null", "number", "string", "boolean", "date", "time", "date and time",
    "days and time duration", "years and months duration", "context", "list", "range",
    "function",
}
ALIASES = {
    "dateTime": "date and time", "dayTimeDuration": "days and time duration",
    "yearMonthDuration": "years and months duration", "integer": "number", "long": "number",
    "double": "number", "decimal": "number", "int": "number", "Boolean": "boolean",
    "String": "string", "Number": "number",
}
_PREFIXES = ("feel:", "FEEL:", "xsd:")

_MISSING = object()


class FeelType:
    """Base of every FEEL type."""

    name = "Any"

    def is_instance(self, value: Any, types: Mapping[str, FeelType]) -> bool:
        return value is not None

    def conforms(self, value: Any, types: Mapping[str, FeelType]) -> bool:
        """``is_instance``, null allowed, plus constraints (allowed values)."""
        return value is None or self.is_instance(value, types)

    def is_collection(self, types: Mapping[str, FeelType]) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<type {self.name}>"


class BaseType(FeelType):
    def __init__(self, name: str) -> None:
        self.name = name

    def is_instance(self, value: Any, types: Mapping[str, FeelType]) -> bool:
        name = self.name
        if name == "Any":
            return value is not None
        if name == "Null":
            return value is None
        if name == "function":
            return isinstance(value, FeelFunction)
        return value is not None and type_name(value) == name

    def conforms(self, value: Any, types: Mapping[str, FeelType]) -> bool:
        return value is None or self.name == "Any" or self.is_instance(value, types)

    def is_collection(self, types: Mapping[str, FeelType]) -> bool:
        return self.name == "list"


class ListType(FeelType):
    def __init__(self, item: FeelType) -> None:
        self.item = item
        self.name = f"list<{item.name}>"

    def is_instance(self, value: Any, types: Mapping[str, FeelType]) -> bool:
        return isinstance(value, list) and all(
            v is None or self.item.is_instance(v, types) for v in value)

    def conforms(self, value: Any, types: Mapping[str, FeelType]) -> bool:
        return value is None or (isinstance(value, list) and all(
            self.item.conforms(v, types) for v in value))

    def is_collection(self, types: Mapping[str, FeelType]) -> bool:
        return True


class ContextType(FeelType):
    def __init__(self, fields: Mapping[str, FeelType]) -> None:
        self.fields = dict(fields)
        self.name = "context<" + ", ".join(f"{k}: {t.name}" for k, t in self.fields.items()) + ">"

    def is_instance(self, value: Any, types: Mapping[str, FeelType]) -> bool:
        if not isinstance(value, dict):
            return False
        for key, field_type in self.fields.items():
            item = value.get(key, _MISSING)
            if item is _MISSING or (item is not None and not field_type.is_instance(item, types)):
                return False
        return True

    def conforms(self, value: Any, types: Mapping[str, FeelType]) -> bool:
        if value is None:
            return True
        if not isinstance(value, dict):
            return False
        for key, field_type in self.fields.items():
            item = value.get(key, _MISSING)
            if item is _MISSING or not field_type.conforms(item, types):
                return False
        return True


class RangeType(FeelType):
    def __init__(self, item: FeelType) -> None:
        self.item = item
        self.name = f"range<{item.name}>"

    def is_instance(self, value: Any, types: Mapping[str, FeelType]) -> bool:
        return isinstance(value, Range) and all(
            end is None or self.item.is_instance(end, types) for end in (value.start, value.end))


class FunctionType(FeelType):
    def __init__(self, params: list[FeelType], result: FeelType) -> None:
        self.params, self.result = params, result
        self.name = f"function<{', '.join(p.name for p in params)}>->{result.name}"

    def is_instance(self, value: Any, types: Mapping[str, FeelType]) -> bool:
        if not isinstance(value, FeelFunction):
            return False
        if value.param_types is None or not self.params:
            return True
        if len(value.param_types) != len(self.params):
            return False
        # parameters are contravariant: ours must accept what the type promises to pass
        return all(mine is None or mine.name in ("Any", theirs.name)
                   for mine, theirs in zip(value.param_types, self.params))


class NamedType(FeelType):
    """A reference to a type defined elsewhere (a DMN item definition), found at run time."""

    def __init__(self, name: str) -> None:
        self.name = name

    def resolve(self, types: Mapping[str, FeelType]) -> FeelType | None:
        found = types.get(self.name)
        if found is None and "." in self.name:
            found = types.get(self.name.rsplit(".", 1)[1])
        return found

    def is_instance(self, value: Any, types: Mapping[str, FeelType]) -> bool:
        found = self.resolve(types)
        return found.is_instance(value, types) if found is not None else value is not None

    def conforms(self, value: Any, types: Mapping[str, FeelType]) -> bool:
        found = self.resolve(types)
        return found.conforms(value, types) if found is not None else True

    def is_collection(self, types: Mapping[str, FeelType]) -> bool:
        found = self.resolve(types)
        return found.is_collection(types) if found is not None else False


class ConstrainedType(FeelType):
    """A type with allowed values (an item definition's ``allowedValues``/``typeConstraint``).

    ``check(value)`` answers whether a value passes the constraint (True/False/None).
    """

    def __init__(self, name: str, base: FeelType, check: Callable[[Any], Any]) -> None:
        self.name, self.base, self.check = name, base, check

    def is_instance(self, value: Any, types: Mapping[str, FeelType]) -> bool:
        return self.base.is_instance(value, types)

    def conforms(self, value: Any, types: Mapping[str, FeelType]) -> bool:
        if value is None:
            return True
        return self.base.conforms(value, types) and self.check(value) is True

    def is_collection(self, types: Mapping[str, FeelType]) -> bool:
        return self.base.is_collection(types)


ANY = BaseType("Any")


def local_name(type_ref: str) -> str:
    for prefix in _PREFIXES:
        if type_ref.startswith(prefix):
            type_ref = type_ref[len(prefix):]
    return ALIASES.get(type_ref, type_ref)


def from_tree(tree: tuple[Any, ...]) -> FeelType:
    """The type of a parsed type tree (see :func:`engine.feel.type_parser.parse_type`)."""
    kind = tree[0]
    if kind == "list_t":
        return ListType(from_tree(tree[1]))
    if kind == "range_t":
        return RangeType(from_tree(tree[1]))
    if kind == "context_t":
        return ContextType({k: from_tree(t) for k, t in tree[1]})
    if kind == "function_t":
        return FunctionType([from_tree(t) for t in tree[1]], from_tree(tree[2]))
    name = local_name(" ".join(tree[1].split()))
    return BaseType(name) if name in BUILT_IN else NamedType(name)


def coerce(value: Any, kind: FeelType, types: Mapping[str, FeelType]) -> tuple[Any, bool]:
    """(value after DMN's conversions, whether it conforms) for binding to type ``kind``."""
    if kind.conforms(value, types):
        return value, True
    if isinstance(value, list) and len(value) == 1 and kind.conforms(value[0], types) and \
            not kind.is_collection(types):
        return value[0], True
    if not isinstance(value, list) and kind.is_collection(types) and \
            kind.conforms([value], types):
        return [value], True
    return None, False
