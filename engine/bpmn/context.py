"""What an expression sees: the variables visible from a token, and Camunda's ``execution``.

:class:`ScopeView` is a read-only mapping over a scope and its ancestors (inner scopes win),
so an expression reads the live process scope rather than a copy. ``execution`` is an
:class:`ExecutionContext`: the read-only facts Camunda's ``DelegateExecution`` offers
(``processInstanceId``, ``activityId``, ...) plus ``setVariable`` and friends, which write
through the runner with Camunda's propagation rule.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runner import Runner
    from .state import InstanceState

EXECUTION = "execution"


class ExecutionContext(Mapping[str, Any]):
    """Camunda's ``execution`` for one token: facts as keys, variable writes as methods."""

    __slots__ = ("_facts", "_runner", "_scope")

    def __init__(self, facts: dict[str, Any], runner: Runner | None, scope: int | None) -> None:
        self._facts = facts
        self._runner = runner
        self._scope = scope

    def __getitem__(self, key: str) -> Any:
        return self._facts[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._facts)

    def __len__(self) -> int:
        return len(self._facts)

    def set_variable(self, name: str, value: Any, *, local: bool = False) -> None:
        if self._runner is None or self._scope is None:
            raise LookupError("variables cannot be set here")
        if local:
            self._runner.set_local(self._scope, name, value)
        else:
            self._runner.set_variable(self._scope, name, value)

    def remove_variable(self, name: str, *, local: bool = False) -> None:
        if self._runner is None or self._scope is None:
            raise LookupError("variables cannot be removed here")
        self._runner.remove_variable(self._scope, name, local=local)


class ScopeView(Mapping[str, Any]):
    """The variables visible from ``scope`` (plus ``execution``), read live."""

    __slots__ = ("_state", "_scope", "_execution", "_extra")

    def __init__(self, state: InstanceState, scope: int, execution: ExecutionContext,
                 extra: Mapping[str, Any] | None = None) -> None:
        self._state = state
        self._scope = scope
        self._execution = execution
        self._extra = extra

    def __getitem__(self, name: str) -> Any:
        if self._extra is not None and name in self._extra:
            return self._extra[name]
        for scope in self._state.chain(self._scope):
            variables = scope.vars
            if name in variables:
                return variables[name]
        if name == EXECUTION:
            return self._execution
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self[name]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        seen = set(self._extra or ())
        yield from seen
        for scope in self._state.chain(self._scope):
            for name in scope.vars:
                if name not in seen:
                    seen.add(name)
                    yield name

    def __len__(self) -> int:
        return sum(1 for _ in self)
