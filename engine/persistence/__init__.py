"""The engine's tables (SQLAlchemy models); migrations live in alembic/versions."""

from .schema import (
    DecisionDefinition,
    Deployment,
    EventSubscription,
    ExternalTaskRow,
    HistoryEvent,
    Incident,
    InstanceVariable,
    ProcessDefinition,
    ProcessInstance,
    Resource,
)

__all__ = [
    "DecisionDefinition", "Deployment", "EventSubscription", "ExternalTaskRow", "HistoryEvent",
    "Incident", "InstanceVariable", "ProcessDefinition", "ProcessInstance", "Resource",
]
