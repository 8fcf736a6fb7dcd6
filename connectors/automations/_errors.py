"""One exception hierarchy for automations (roots in the engine's :class:`MlcError`, so the
REST layer turns them into JSON errors with the right status)."""

from __future__ import annotations

from engine.errors import ConflictError, NotFoundError, ValidationError


class DeclarationError(ValidationError):
    """An automation declaration is invalid (raised when it is created or registered)."""

    code = "invalid_automation"


class MetricQueryError(ValidationError):
    """A metric query is not allowed (not a single SELECT over the analytics views), or
    failed or timed out when run."""

    code = "invalid_metric_query"


class AutomationNotFound(NotFoundError):
    code = "automation_not_found"


class AutomationConflict(ConflictError):
    """The name is taken by another model's automation, or the action does not fit the state."""

    code = "automation_conflict"


class BuildError(Exception):
    """A build step failed; the message is the reason shown in history and on_error."""
