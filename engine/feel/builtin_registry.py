"""The registry of FEEL's built-in functions and what every family of them shares: the
:func:`builtin` decorator that registers one signature, the :class:`Builtin` that picks a
signature for a call and turns a failure into FEEL null plus a reported error, and the
argument checks (:func:`num`, :func:`text`, ...).

The families (:mod:`engine.feel.builtins` and the ``builtins_*`` / ``temporal_builtins``
modules it imports) register into :data:`BUILTINS` from here, so none imports another.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, DecimalException
from typing import Any, TypeVar

from engine.feel.scope import Scope
from engine.feel.values import FeelFunction, type_name

F = TypeVar("F", bound=Callable[..., Any])

BUILTINS: dict[str, Builtin] = {}

_FAILURES = (TypeError, ValueError, ArithmeticError, DecimalException, IndexError, KeyError,
             AttributeError, OverflowError, re.error)


class _Signature:
    __slots__ = ("params", "required", "fn", "variadic", "wants_scope")

    def __init__(self, params: tuple[str, ...], fn: Callable[..., Any], variadic: bool,
                 wants_scope: bool) -> None:
        self.params = tuple(p.rstrip("?") for p in params)
        self.required = sum(1 for p in params if not p.endswith("?"))
        self.fn, self.variadic, self.wants_scope = fn, variadic, wants_scope

    def fits(self, count: int) -> bool:
        return count >= self.required and (self.variadic or count <= len(self.params))


class Builtin(FeelFunction):
    """A built-in function with one or more signatures."""

    __slots__ = ("signatures",)

    def __init__(self, name: str) -> None:
        super().__init__(name, (), self._invoke)
        self.signatures: list[_Signature] = []

    def add(self, signature: _Signature) -> None:
        self.signatures.append(signature)
        if len(self.signatures) == 1:
            self.params = signature.params
            self.variadic = signature.variadic

    def bind(self, named: dict[str, Any]) -> list[Any]:
        for signature in self.signatures:
            if set(named) <= set(signature.params):
                values = _Bound(named.get(p) for p in signature.params)
                while len(values) > signature.required and values[-1] is None and \
                        signature.params[len(values) - 1] not in named:
                    values.pop()
                values.signature = signature
                return values
        unknown = sorted(set(named) - {p for s in self.signatures for p in s.params})
        raise TypeError(f"{self.name}() has no parameter {(unknown or sorted(named))[0]!r}")

    def _invoke(self, args: list[Any], scope: Scope | None) -> Any:
        if isinstance(args, _Bound):
            candidates = [args.signature]
        else:
            candidates = [s for s in self.signatures if s.fits(len(args))]
        if not candidates:
            counts = sorted({len(s.params) for s in self.signatures})
            return _fail(scope, f"{self.name}() takes {' or '.join(map(str, counts))} "
                                f"arguments, not {len(args)}")
        first_failure = None
        for signature in candidates:
            try:
                return _apply(signature, args, scope)
            except _FAILURES as exc:
                first_failure = first_failure or exc
        singles = [a[0] if isinstance(a, list) and len(a) == 1 else a for a in args]
        if singles != list(args):
            for signature in candidates:
                if not signature.variadic:
                    try:
                        return _apply(signature, singles, scope)
                    except _FAILURES:
                        pass
        return _fail(scope, f"{self.name}(): {first_failure}")


class _Bound(list[Any]):
    """Arguments bound by name, remembering which signature they were bound to."""

    signature: _Signature


def _apply(signature: _Signature, args: list[Any], scope: Scope | None) -> Any:
    if signature.wants_scope:
        return signature.fn(scope, *args)
    return signature.fn(*args)


def _fail(scope: Scope | None, message: str) -> None:
    if scope is not None:
        scope.error(message)
    return None


def builtin(name: str, *params: str, variadic: bool = False, wants_scope: bool = False
            ) -> Callable[[F], F]:
    """Register ``fn`` as (one signature of) FEEL function ``name``; a parameter name ending
    in ``?`` is optional."""

    def register(fn: F) -> F:
        function = BUILTINS.get(name)
        if function is None:
            function = BUILTINS[name] = Builtin(name)
        function.add(_Signature(params, fn, variadic, wants_scope))
        return fn

    return register


# ---------------------------------------------------------------- argument checks
def num(value: Any, what: str = "argument") -> Decimal:
    if type(value) is not Decimal:
        raise TypeError(f"{what} must be a number, not {type_name(value)}")
    return value


def text(value: Any, what: str = "argument") -> str:
    if type(value) is not str:
        raise TypeError(f"{what} must be a string, not {type_name(value)}")
    return value


def as_list(value: Any, what: str = "list") -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"{what} must be a list, not {type_name(value)}")
    return value


def integer(value: Any, what: str = "argument") -> int:
    number = num(value, what)
    if number != number.to_integral_value():
        raise ValueError(f"{what} must be a whole number")
    return int(number)


def items_of(args: tuple[Any, ...]) -> list[Any]:
    """Variadic list functions accept ``f([1, 2])`` and ``f(1, 2)``."""
    if len(args) == 1 and isinstance(args[0], list):
        return args[0]
    if not args or (len(args) == 1 and args[0] is None):
        raise TypeError("needs a list or at least one item")
    return list(args)
