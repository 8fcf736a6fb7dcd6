"""The MLC BPMN/DMN engine: durable Camunda 7 semantics over SQLite or PostgreSQL.

Knows nothing about models, tickets or HTTP; connectors register topic handlers on it.
"""

from .db import Base, Database
from .errors import (
    BpmnError,
    ConcurrentUpdateError,
    ConfigurationError,
    ConflictError,
    DecisionError,
    ExpressionError,
    MlcError,
    NotFoundError,
    Problem,
    ValidationError,
)
from .external_tasks import ExternalTaskService, LockedTask
from .facade import Engine, ExecutionError
from .handlers import HandlerRegistry, TaskContext
from .jobs import JobExecutor
from .records import (
    DecisionDefinitionRecord,
    DeploymentResult,
    HistoryRecord,
    IncidentRecord,
    InstanceRecord,
    ProcessDefinitionRecord,
    ResourceDeploymentRecord,
    SignalResult,
    UserTaskRecord,
)
from .states import IncidentStatus, InstanceStatus, WorkState
from .worker import TimerScheduler, Worker

__all__ = [
    "Base", "BpmnError", "ConcurrentUpdateError", "ConfigurationError", "ConflictError",
    "Database", "DecisionDefinitionRecord", "DecisionError", "DeploymentResult", "Engine",
    "ExecutionError", "ExpressionError", "ExternalTaskService", "HandlerRegistry",
    "HistoryRecord", "IncidentRecord", "IncidentStatus", "InstanceRecord", "InstanceStatus",
    "JobExecutor", "LockedTask", "MlcError", "NotFoundError", "ProcessDefinitionRecord",
    "Problem", "ResourceDeploymentRecord", "SignalResult", "TaskContext", "TimerScheduler",
    "UserTaskRecord", "ValidationError", "WorkState", "Worker",
]
