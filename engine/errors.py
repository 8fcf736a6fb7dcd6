"""The one exception hierarchy of the project.

Every error raised on purpose derives from :class:`MlcError`, so callers (the CLI, the REST
layer) can turn any of them into a one-line reason or a 4xx answer without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class MlcError(Exception):
    """Root of every error the project raises on purpose.

    Attributes:
        code: a short machine-readable code (used as the REST ``error`` field).
        status: the HTTP status a web layer should answer with.
    """

    code = "error"
    status = 400

    def __init__(self, message: str, *, problems: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems or [])

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": self.code,
            "message": self.message,
            "problems": [p.to_dict() if hasattr(p, "to_dict") else p for p in self.problems],
        }


@dataclass(frozen=True)
class Problem:
    """One located problem in a deployed file: what is wrong and where."""

    message: str
    file: str | None = None
    line: int | None = None
    element_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line) if p is not None)
        element = f" [{self.element_id}]" if self.element_id else ""
        return f"{where}{element}: {self.message}" if where or element else self.message

    def to_dict(self) -> dict[str, Any]:
        out = {"message": self.message, "file": self.file, "line": self.line,
               "element_id": self.element_id}
        out.update(self.extra)
        return out


class ValidationError(MlcError):
    """A deployed file (BPMN, DMN, XML) or a request body is not acceptable."""

    code = "validation_error"
    status = 400

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        if problems and message.endswith(":"):
            message = message + " " + "; ".join(str(p) for p in problems)
        super().__init__(message, problems=problems)


class ExpressionError(MlcError):
    """An expression does not parse, names an unknown variable, or mixes types."""

    code = "expression_error"
    status = 422

    def __init__(self, message: str, *, expression: str | None = None,
                 element_id: str | None = None) -> None:
        parts = [message]
        if expression is not None:
            parts.append(f"in expression {expression!r}")
        if element_id:
            parts.append(f"at element {element_id!r}")
        super().__init__(" ".join(parts))
        self.expression = expression
        self.element_id = element_id


class EvaluationLimitError(MlcError):
    """An expression (FEEL or JUEL) went past its evaluation budget: too many steps, too
    long, or a value too large (see :mod:`engine.budget`). The input is refused, not the
    server: the evaluation stops at once and nothing it built is kept."""

    code = "evaluation_limit_exceeded"
    status = 422


class NotFoundError(MlcError):
    """A named thing (definition, instance, task, incident, signal target) does not exist."""

    code = "not_found"
    status = 404


class ConflictError(MlcError):
    """The request conflicts with current state (lost lock, duplicate, wrong status)."""

    code = "conflict"
    status = 409


class ConcurrentUpdateError(ConflictError):
    """Another writer changed an instance first (optimistic locking); reload and retry."""

    code = "concurrent_update"


class ExecutionFault(MlcError):
    """The process cannot go on as modelled (no flow to take, an unknown called process...)."""

    code = "execution_error"
    status = 422


class DecisionError(MlcError):
    """A DMN decision could not be loaded or evaluated."""

    code = "decision_error"
    status = 422


class ConfigurationError(MlcError):
    """The engine or a connector is configured wrongly (missing URL, bad setting)."""

    code = "configuration_error"
    status = 500


class BpmnError(MlcError):
    """A business error thrown by a task handler, caught by a matching error boundary event.

    Handlers raise it to route the process (e.g. ``BpmnError("MISSING_TEST_DATA")``); it never
    consumes a retry and never opens an incident unless no boundary event catches it.
    """

    code = "bpmn_error"
    status = 422

    def __init__(self, error_code: str, message: str = "",
                 variables: dict[str, Any] | None = None) -> None:
        super().__init__(message or error_code)
        self.error_code = error_code
        self.variables = dict(variables or {})
