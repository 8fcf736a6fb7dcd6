"""The values the engine facade hands out: frozen dataclasses, detached from any session.

Callers read attributes (``instance.status``), not string keys; :meth:`to_json` gives the
exact JSON object the REST API and ``mlc --json`` have always written (timestamps as ISO 8601
text, states as their strings, keys in field order).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import Enum
from typing import Any

from .states import InstanceStatus


def _json(value: Any) -> Any:
    """One field's JSON form: nested values are left for the caller's encoder, as before."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, _Record):
        return value.to_json()
    if isinstance(value, (list, tuple)) and any(isinstance(v, _Record) for v in value):
        return [_json(v) for v in value]
    return value


def as_json(value: Any) -> Any:
    """``value.to_json()`` for a record, anything else unchanged (for generic callers)."""
    return value.to_json() if isinstance(value, _Record) else value


def _time(value: datetime | str | None) -> datetime | None:
    """A timestamp read back from its JSON form (idempotent replays store JSON)."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


class _Record:
    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON object of this value, keys in field order."""
        return {f.name: _json(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class SignalResult(_Record):
    """What a broadcast did: the instances it started and resumed, and whether nobody heard
    it (see :mod:`engine.delivery`)."""

    started: list[str]
    resumed: list[str]
    unheard: bool


@dataclass(frozen=True, slots=True)
class InstanceRecord(_Record):
    """A process instance as ``Engine.get_instance`` (and every command on one) answers it."""

    id: str
    definition_id: str
    key: str
    business_key: str | None
    status: InstanceStatus
    outcome: str | None
    variables: dict[str, Any]
    active_activities: list[str]
    error: str | None
    created_at: datetime
    ended_at: datetime | None
    incidents: list[dict[str, Any]]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InstanceRecord:
        """The record :meth:`to_json` wrote (an idempotent start's stored answer)."""
        created_at = _time(data["created_at"])
        assert created_at is not None
        return cls(**{**data, "status": InstanceStatus(data["status"]),
                      "created_at": created_at, "ended_at": _time(data["ended_at"])})
