"""DMN typeRefs and itemDefinitions as FEEL types, and binding values to them.

A value bound to a typed variable (an input, a decision's result, a parameter, a context
entry) is converted as DMN 1.5 section 10.3.2.9 says: it stays if it conforms, a singleton
list and its item convert into each other when that makes them conform, and anything else
becomes null, with a message in the evaluation's errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from engine.feel import FeelError, type_name
from engine.feel.type_parser import parse_type
from engine.feel.types import (
    ANY,
    BUILT_IN,
    BaseType,
    ConstrainedType,
    FeelType,
    NamedType,
    coerce,
    from_tree,
    local_name,
)


@lru_cache(maxsize=1024)
def resolve(type_ref: str) -> FeelType:
    """The FEEL type a typeRef names (built-in, ``list<...>`` style, or an item definition
    found by name at evaluation time)."""
    name = local_name(type_ref.strip())
    if name in BUILT_IN:
        return BaseType(name)
    if "<" in name:
        try:
            return from_tree(parse_type(name))
        except FeelError:
            return ANY
    return NamedType(name)


def conform(value: Any, type_ref: str | None, types: Mapping[str, FeelType],
            errors: list[str], what: str) -> Any:
    """``value`` converted to ``type_ref`` (see module doc), or None with a message."""
    if value is None or not type_ref:
        return value
    kind = resolve(type_ref)
    converted, ok = coerce(value, kind, types)
    if ok:
        return converted
    errors.append(f"{what}: {_describe(value, kind, types)}")
    return None


def _describe(value: Any, kind: FeelType, types: Mapping[str, FeelType]) -> str:
    target = kind.resolve(types) if isinstance(kind, NamedType) else kind
    if isinstance(target, ConstrainedType) and target.base.conforms(value, types):
        return f"value {value!r} is not one of the allowed values of {kind.name}"
    return f"{type_name(value)} value does not conform to type {kind.name}"
