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
    Job,
    Node,
    ProcessDefinition,
    ProcessInstance,
    Resource,
    UserTask,
)

__all__ = [
    "DecisionDefinition", "Deployment", "EventSubscription", "ExternalTaskRow", "HistoryEvent",
    "IdempotencyKey", "Incident", "InstanceVariable", "Job", "Node", "ProcessDefinition",
    "ProcessInstance", "Resource", "UserTask",
]
