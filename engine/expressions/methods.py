"""The whitelist of method calls, by receiver type.

Camunda users write Java method calls in expressions (``name.startsWith('x')``,
``list.size()``). Only the methods below exist; any other name is refused when the expression
is compiled, so no expression can ever reach a Python attribute or callable of a value.
Execution methods (``execution.getVariable('x')``) are compiled separately in compiler.py
because they read the variable scope, not a value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.expressions.coercion import Fault, describe, java_equals, to_index, to_string

Method = Callable[..., Any]

# Java's String.trim removes every character <= U+0020, not Unicode whitespace.
_JAVA_TRIM = "".join(chr(c) for c in range(0x21))


def _str_arg(value: Any) -> str:
    """Method arguments of type String are coerced as JUEL does (null becomes "")."""
    return to_string(value)


STRING_METHODS: dict[str, tuple[int, Method]] = {
    "size": (0, len),
    "length": (0, len),
    "isEmpty": (0, lambda s: len(s) == 0),
    "contains": (1, lambda s, x: _str_arg(x) in s),
    "startsWith": (1, lambda s, x: s.startswith(_str_arg(x))),
    "endsWith": (1, lambda s, x: s.endswith(_str_arg(x))),
    "toUpperCase": (0, str.upper),
    "toLowerCase": (0, str.lower),
    "trim": (0, lambda s: s.strip(_JAVA_TRIM)),
    "equals": (1, lambda s, x: isinstance(x, str) and s == x),
    "equalsIgnoreCase": (1, lambda s, x: x is not None and s.lower() == _str_arg(x).lower()),
}


def _list_get(items: Any, index: Any) -> Any:
    """Java List.get: unlike ``a[i]``, an index out of range is an error."""
    i = to_index(index)
    if not 0 <= i < len(items):
        raise Fault(f"Index {i} out of bounds for list of size {len(items)}")
    return items[i]


LIST_METHODS: dict[str, tuple[int, Method]] = {
    "size": (0, len),
    "isEmpty": (0, lambda items: len(items) == 0),
    "contains": (1, lambda items, x: any(java_equals(item, x) for item in items)),
    "get": (1, _list_get),
    "equals": (1, lambda items, x: isinstance(x, (list, tuple)) and list(items) == list(x)),
}


def _map_has(m: Mapping[Any, Any], key: Any) -> bool:
    try:
        return key in m
    except TypeError:
        return False


def _map_get(m: Mapping[Any, Any], key: Any) -> Any:
    try:
        return m.get(key)
    except TypeError:
        return None


MAP_METHODS: dict[str, tuple[int, Method]] = {
    "size": (0, len),
    "isEmpty": (0, lambda m: len(m) == 0),
    "containsKey": (1, _map_has),
    "contains": (1, _map_has),  # Java Map has no contains(); we read it as containsKey
    "containsValue": (1, lambda m, v: any(java_equals(x, v) for x in m.values())),
    "get": (1, _map_get),
    "equals": (1, lambda m, x: isinstance(x, Mapping) and dict(m) == dict(x)),
}

#: Methods callable only on the identifier ``execution`` (compiled in compiler.py).
EXECUTION_METHODS: dict[str, int] = {
    "getVariable": 1,
    "hasVariable": 1,
    "getProcessBusinessKey": 0,
    "getBusinessKey": 0,
    "getProcessInstanceId": 0,
    "getActivityId": 0,
    "getCurrentActivityId": 0,
    "setVariable": 2,
    "setVariableLocal": 2,
    "removeVariable": 1,
    "removeVariableLocal": 1,
}

#: Every method name an expression may call, with the argument counts it accepts.
ALLOWED_METHODS: dict[str, set[int]] = {}
for _table in (STRING_METHODS, LIST_METHODS, MAP_METHODS):
    for _name, (_arity, _) in _table.items():
        ALLOWED_METHODS.setdefault(_name, set()).add(_arity)


def call_method(receiver: Any, name: str, args: tuple[Any, ...]) -> Any:
    """Call whitelisted method ``name`` on a string, list or map value."""
    if receiver is None:
        raise Fault(f"Cannot call method '{name}' on null")
    if isinstance(receiver, str):
        table = STRING_METHODS
    elif isinstance(receiver, (list, tuple)):
        table = LIST_METHODS
    elif isinstance(receiver, Mapping):
        table = MAP_METHODS
    else:
        table = {}
    entry = table.get(name)
    if entry is None or entry[0] != len(args):
        raise Fault(f"Method '{name}' with {len(args)} argument(s) is not available on "
                    f"{describe(receiver)}")
    return entry[1](receiver, *args)
