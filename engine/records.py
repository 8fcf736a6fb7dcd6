"""The values the engine facade hands out: frozen dataclasses, detached from any session.

Callers read attributes (``instance.status``), not string keys; :meth:`to_json` gives the
exact JSON object the REST API and ``mlc --json`` have always written (timestamps as ISO 8601
text, states as their strings, keys in field order).
"""

from __future__ import annotations

from dataclasses import Field, dataclass, fields
from datetime import datetime
from enum import Enum
from typing import Any, ClassVar

from .states import IncidentStatus, InstanceStatus


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
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]  # each subclass is a dataclass

    def to_json(self) -> dict[str, Any]:
        """The JSON object of this value, keys in field order."""
        return {f.name: _json(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class IncidentRecord(_Record):
    """An incident: a step that failed out of retries (or an expression that failed)."""

    id: str
    instance_id: str
    activity_id: str | None
    external_task_id: str | None
    job_id: str | None
    kind: str
    message: str | None
    status: IncidentStatus
    created_at: datetime
    resolved_at: datetime | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IncidentRecord:
        """The record :meth:`to_json` wrote."""
        created_at = _time(data["created_at"])
        assert created_at is not None
        return cls(**{**data, "status": IncidentStatus(data["status"]),
                      "created_at": created_at, "resolved_at": _time(data["resolved_at"])})


@dataclass(frozen=True, slots=True)
class HistoryRecord(_Record):
    """One entry of an instance's audit history, oldest first."""

    id: int
    at: datetime
    kind: str
    activity_id: str | None
    name: str | None
    data: Any


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
    incidents: list[IncidentRecord]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InstanceRecord:
        """The record :meth:`to_json` wrote (an idempotent start's stored answer)."""
        created_at = _time(data["created_at"])
        assert created_at is not None
        return cls(**{**data, "status": InstanceStatus(data["status"]),
                      "created_at": created_at, "ended_at": _time(data["ended_at"]),
                      "incidents": [IncidentRecord.from_json(i) for i in data["incidents"]]})


@dataclass(frozen=True, slots=True)
class ProcessDefinitionRecord(_Record):
    """One deployed version of a process (``key:version:uuid``), as listed and deployed."""

    id: str
    key: str
    name: str | None
    version: int
    deployment_id: str
    resource: str | None
    version_tag: str | None


@dataclass(frozen=True, slots=True)
class DecisionDefinitionRecord(_Record):
    """One deployed version of a DMN decision."""

    id: str
    key: str
    name: str | None
    version: int
    deployment_id: str


@dataclass(frozen=True, slots=True)
class ResourceDeploymentRecord(_Record):
    """A deployment in Camunda's sense: BPMN and DMN files stored together under one id.
    (A model's deployment to a serving target is ``connectors.registry.DeploymentRecord``.)"""

    id: str
    name: str
    source: str | None
    tenant_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DeploymentResult(_Record):
    """What ``Engine.deploy`` stored: the new (or, with duplicate filtering, unchanged)
    definitions of each file, and the names of the files it filtered as unchanged."""

    id: str
    name: str
    created_at: datetime
    processes: list[ProcessDefinitionRecord]
    decisions: list[DecisionDefinitionRecord]
    filtered: list[str]


@dataclass(frozen=True, slots=True)
class UserTaskRecord(_Record):
    """A user task waiting for a person, with the form the model gives it."""

    id: str
    name: str | None
    instance_id: str
    definition_id: str
    process_key: str
    business_key: str | None
    activity_id: str
    assignee: str | None
    candidate_users: list[str]
    candidate_groups: list[str]
    due_date: str | None
    follow_up_date: str | None
    priority: int
    form_key: str | None
    form: dict[str, Any]
    created_at: datetime
