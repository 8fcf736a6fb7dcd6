"""What an in-process listener registered on the engine receives (Camunda's DelegateExecution).

``camunda:executionListener delegateExpression="${auditTrail}"`` (or ``class="..."``) runs
the callable registered as ``auditTrail`` with a :class:`DelegateExecution`. Listeners run
inside the instance's transaction, so they must be quick and must not do I/O they cannot
undo; anything slow belongs in a service task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .runner import Runner


class DelegateExecution:
    """The execution a listener was called for: facts, and variable reads and writes."""

    def __init__(self, runner: Runner, scope_id: int, activity_id: str | None, event: str,
                 extra: dict[str, Any] | None = None) -> None:
        self._runner = runner
        self._scope = scope_id
        self.activity_id = activity_id
        self.event_name = event
        self.process_instance_id = runner.facts.instance_id
        process = runner.state.process_scope(scope_id)
        self.business_key = process.data.get("bk", runner.facts.business_key)
        self.process_definition_id = runner.definition_of(scope_id)
        self.task = (extra or {}).get("task")

    def get_variable(self, name: str, default: Any = None) -> Any:
        return self._runner.state.lookup(self._scope, name, default)

    def get_variables(self) -> dict[str, Any]:
        return self._runner.state.visible(self._scope)

    def has_variable(self, name: str) -> bool:
        return name in self.get_variables()

    def set_variable(self, name: str, value: Any) -> None:
        self._runner.set_variable(self._scope, name, value)

    def set_variable_local(self, name: str, value: Any) -> None:
        self._runner.set_local(self._scope, name, value)

    def remove_variable(self, name: str) -> None:
        self._runner.remove_variable(self._scope, name)

    # Camunda's Java names, for listeners ported from a Java delegate
    getVariable = get_variable
    getVariables = get_variables
    hasVariable = has_variable
    setVariable = set_variable
    setVariableLocal = set_variable_local
    removeVariable = remove_variable
