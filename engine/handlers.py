"""The contract between the engine and the code that does the work of a service task.

A service task becomes an external-task row with a *topic*. A handler registered for that
topic receives a :class:`TaskContext` and returns the variables to set on the process (or
``None``). It may raise :class:`~engine.errors.BpmnError` to route the process to an error
boundary event; any other exception consumes a retry. Handlers run outside any database
transaction, possibly more than once (delivery is at-least-once), so a handler with side
effects uses ``context.idempotency_key`` to do them only once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, overload

from .errors import ConfigurationError


@dataclass
class TaskContext:
    """What a handler knows about the task it runs.

    Attributes:
        task_id: the external task's id (changes if the instance is re-run from scratch).
        topic: the topic the task was created for.
        instance_id: the process instance that waits for this task.
        process_key: the process definition key of that instance.
        business_key: the instance's business key, if any.
        activity_id: the BPMN id of the service task.
        variables: the variables visible to the task (after input mappings); a copy.
        properties: the task's ``camunda:properties`` (e.g. ``kind=review``).
        idempotency_key: stable across retries and worker crashes of this one task.
        attempt: 1 for the first run, 2 for the first retry, ...
        worker_id: the worker that holds the lock.
    """

    task_id: str
    topic: str
    instance_id: str
    process_key: str
    activity_id: str
    idempotency_key: str
    variables: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    business_key: str | None = None
    attempt: int = 1
    worker_id: str = ""
    extend_lock: Callable[[float], None] = field(default=lambda seconds: None, repr=False)

    def get(self, name: str, default: Any = None) -> Any:
        """A variable's value, or ``default`` when it is absent or null."""
        value = self.variables.get(name)
        return default if value is None else value

    def require(self, name: str) -> Any:
        """A variable that must be present; a clear error names it otherwise."""
        from .errors import BpmnError

        value = self.variables.get(name)
        if value is None:
            raise BpmnError("MISSING_VARIABLE", f"variable {name!r} is required by {self.topic}")
        return value


Handler = Callable[[TaskContext], Mapping[str, Any] | None]
Listener = Callable[[Any], Any]  # gets a DelegateExecution


@dataclass(frozen=True)
class HandlerSpec:
    topic: str
    handler: Handler
    timeout: float | None = None


class HandlerRegistry:
    """Maps topics (and ``camunda:class`` / ``delegateExpression`` names) to handlers.

    Topics without a handler here are left for external workers (the Camunda external-task
    REST API).
    """

    def __init__(self) -> None:
        self._handlers: dict[str, HandlerSpec] = {}
        self._listeners: dict[str, Callable[[Any], Any]] = {}

    @overload
    def register(self, topic: str, handler: Handler, *, timeout: float | None = None,
                 replace: bool = False) -> Handler: ...

    @overload
    def register(self, topic: str, handler: None = None, *, timeout: float | None = None,
                 replace: bool = False) -> Callable[[Handler], Handler]: ...

    def register(self, topic: str, handler: Handler | None = None, *,
                 timeout: float | None = None,
                 replace: bool = False) -> Handler | Callable[[Handler], Handler]:
        """Register ``handler`` for ``topic``; usable as a decorator when ``handler`` is None."""

        def add(fn: Handler) -> Handler:
            if topic in self._handlers and not replace:
                raise ConfigurationError(f"a handler for topic {topic!r} is already registered")
            self._handlers[topic] = HandlerSpec(topic, fn, timeout)
            return fn

        return add(handler) if handler is not None else add

    def get(self, topic: str) -> HandlerSpec | None:
        return self._handlers.get(topic)

    def __contains__(self, topic: str) -> bool:
        return topic in self._handlers

    def topics(self) -> list[str]:
        return sorted(self._handlers)

    def subset(self, include: list[str] | None = None,
               exclude: list[str] | None = None) -> HandlerRegistry:
        """The same handlers (and listeners) restricted to some topics, for placing work on
        nodes (``mlc worker --topics`` / ``--exclude-topics``). Unknown topics are an error."""
        unknown = sorted((set(include or []) | set(exclude or [])) - set(self._handlers))
        if unknown:
            raise ConfigurationError(f"no handler for topic(s) {', '.join(unknown)} (known: "
                                     f"{', '.join(self.topics()) or 'none'})")
        chosen = HandlerRegistry()
        chosen._listeners = self._listeners
        for topic, spec in self._handlers.items():
            if (include is None or topic in include) and topic not in (exclude or []):
                chosen._handlers[topic] = spec
        return chosen

    @overload
    def register_listener(self, name: str, listener: Listener, *,
                          replace: bool = False) -> Listener: ...

    @overload
    def register_listener(self, name: str, listener: None = None, *,
                          replace: bool = False) -> Callable[[Listener], Listener]: ...

    def register_listener(self, name: str, listener: Listener | None = None, *,
                          replace: bool = False) -> Listener | Callable[[Listener], Listener]:
        """Register an in-process listener for ``delegateExpression="${name}"`` (or
        ``class="name"``) execution and task listeners; usable as a decorator.

        The listener gets a :class:`~engine.bpmn.delegate.DelegateExecution` and runs inside
        the instance's transaction: keep it quick and free of outside effects.
        """

        def add(fn: Listener) -> Listener:
            if name in self._listeners and not replace:
                raise ConfigurationError(f"a listener named {name!r} is already registered")
            self._listeners[name] = fn
            return fn

        return add(listener) if listener is not None else add

    def listener(self, name: str) -> Callable[[Any], Any] | None:
        return self._listeners.get(name)
