"""An instance's outcome: what its process says happened, next to the engine's status.

``status`` is the engine's view (running, waiting, completed, incident, terminated): a process
that ends in its error handler is ``completed`` like one that succeeded. The process knows
better, so by convention it writes its result to one variable, ``OUTCOME`` unless the engine
is configured otherwise (``Engine(outcome_variable=...)``, ``MLC_OUTCOME_VARIABLE``): e.g.
``deployed``, ``rejected``, ``failed``. Instance summaries carry it as ``outcome`` (null until
the process sets it) and lists filter on it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from .persistence import ProcessInstance

OUTCOME_VARIABLE = "OUTCOME"


def outcome_of(variables: dict[str, Any] | None, name: str = OUTCOME_VARIABLE) -> str | None:
    """The outcome in ``variables`` as text (None when the process has not set one)."""
    value = (variables or {}).get(name)
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


def has_outcome(outcome: str, name: str = OUTCOME_VARIABLE) -> ColumnElement[bool]:
    """A WHERE clause: the instance's outcome variable is ``outcome`` (SQLite and PostgreSQL)."""
    clause: ColumnElement[bool] = \
        ProcessInstance.__table__.c.variables[name].as_string() == outcome
    return clause
