"""The engine's tables (SQLAlchemy models); migrations live in alembic/versions."""

from .schema import (
    DecisionDefinition,
    Deployment,
    EventSubscription,
    ExternalTaskRow,
    HistoryEvent,
    IdempotencyKey,
    Incident,
    InstanceVariable,
    ProcessDefinition,
    ProcessInstance,
    Resource,
    Job,
    UserTask,
)

__all__ = [
    "DecisionDefinition", "Deployment", "EventSubscription", "ExternalTaskRow", "HistoryEvent",
    "IdempotencyKey", "Incident", "InstanceVariable", "Job", "ProcessDefinition",
    "ProcessInstance", "Resource", "UserTask",
]
