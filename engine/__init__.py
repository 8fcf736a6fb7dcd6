"""The MLC BPMN/DMN engine: durable SpiffWorkflow execution with Camunda 7 semantics.

Knows nothing about models, tickets or HTTP; connectors register topic handlers on it.
"""

from .db import Base, Database
from .errors import (BpmnError, ConcurrentUpdateError, ConfigurationError, ConflictError,
                     DecisionError, ExpressionError, MlcError, NotFoundError, Problem,
                     ValidationError)
from .external_tasks import ExternalTaskService, LockedTask
from .handlers import HandlerRegistry, TaskContext
from .runtime import Engine, ExecutionError
from .worker import TimerScheduler, Worker

__all__ = [
    "Base", "BpmnError", "ConcurrentUpdateError", "ConfigurationError", "ConflictError",
    "Database", "DecisionError", "Engine", "ExecutionError", "ExpressionError",
    "ExternalTaskService", "HandlerRegistry", "LockedTask", "MlcError", "NotFoundError",
    "Problem", "TaskContext", "TimerScheduler", "ValidationError", "Worker",
]
