"""What the runner's behaviour mixins rely on: its state, and what each uses from the others.

:class:`~engine.bpmn.runner.Runner` is assembled from mixins (activities, events,
compensation, multi-instance) that call into the runner core and into one another. Each mixin
subclasses :class:`RunnerHost`, so its methods see these members with their real types;
``Runner`` implements every one of them (mypy refuses to instantiate it otherwise, and checks
each implementation against the signature here).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ..expressions import Expression
from .context import ScopeView
from .model import Container, Listener, Node, ProcessModel
from .state import InstanceState, Scope, Token

Holder = Token | Scope
"""What waits for an event: a token (catch event, task, gateway) or a flow scope (the start
events of its event sub-processes)."""


class RunnerServices(Protocol):
    """What the runner asks of the engine: models, called processes, decisions, listeners."""

    allow_scripts: bool

    def model(self, definition_id: str) -> ProcessModel: ...

    def called(self, key: str, binding: str, version: Any,
               caller_definition_id: str) -> tuple[str, ProcessModel]: ...

    def decide(self, ref: str, variables: Any, *, binding: str, version: Any,
               map_decision_result: str, element_id: str, caller_definition_id: str) -> Any: ...

    def delegate(self, name: str) -> Callable[[Any], Any] | None: ...


class RunnerHost(Protocol):
    """The runner's members its mixins use across class lines."""

    state: InstanceState
    services: RunnerServices
    dirty: dict[int, set[tuple[str, str]]]
    incidents: list[dict[str, Any]]
    thrown_signals: list[tuple[str, dict[str, Any]]]
    _models: dict[int, ProcessModel]

    # the runner core (runner.py)
    def model_of(self, scope_id: int) -> ProcessModel: ...

    def node(self, token: Token) -> Node: ...

    def definition_of(self, scope_id: int) -> str: ...

    def view(self, scope_id: int, activity_id: str | None,
             extra: dict[str, Any] | None = None) -> ScopeView: ...

    def evaluate(self, compiled: Expression, scope_id: int, activity_id: str | None,
                 extra: dict[str, Any] | None = None) -> Any: ...

    def set_variable(self, scope_id: int, name: str, value: Any) -> None: ...

    def set_variables(self, scope_id: int, variables: dict[str, Any] | None) -> None: ...

    def set_result(self, token: Token, name: str, value: Any) -> None: ...

    def schedule(self, operation: Callable[[Token], None], token: Token) -> None: ...

    def drain(self) -> None: ...

    def record(self, kind: str, activity_id: str | None = None, name: str | None = None,
               **data: Any) -> None: ...

    def open_scope(self, scope: Scope, container: Container, first: str | None) -> None: ...

    def enter(self, token: Token) -> None: ...

    def listen(self, listeners: dict[str, tuple[Listener, ...]], event: str, scope_id: int,
               activity_id: str | None, *, extra: dict[str, Any] | None = None) -> None: ...

    def run_listener(self, listener: Listener, event: str, scope_id: int,
                     activity_id: str | None, extra: dict[str, Any] | None = None) -> None: ...

    def leave(self, token: Token) -> None: ...

    def end_token(self, token: Token) -> None: ...

    def after_token_left(self, scope_id: int) -> None: ...

    def drop_scope(self, scope_id: int) -> None: ...

    def cancel_token(self, token: Token, reason: str) -> None: ...

    def cancel_tokens_in(self, scope_id: int, reason: str, *,
                         keep: Token | None = None) -> None: ...

    def cancel_scope(self, scope_id: int, reason: str) -> None: ...

    # activities.py
    def _external(self, token: Token, node: Node) -> None: ...

    def task_timeout(self, token: Token, sub: dict[str, Any]) -> None: ...

    # events.py
    def subscription(self, node: Node, event: Any, scope_id: int) -> dict[str, Any] | None: ...

    def arm_boundaries(self, token: Token, node: Node) -> None: ...

    def check_conditions_now(self, holder: Holder) -> None: ...

    def _repeat_or_drop(self, holder: Holder, sub: dict[str, Any]) -> None: ...

    def take_boundary(self, token: Token, boundary: Node, sub: dict[str, Any] | None,
                      variables: dict[str, Any] | None,
                      caught: tuple[str | None, str | None] | None = None) -> None: ...

    # compensation.py
    def throw_compensation(self, token: Token, node: Node) -> None: ...

    def cancel_transaction(self, token: Token, node: Node) -> None: ...
