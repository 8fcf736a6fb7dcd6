"""Build the TaskContext the engine would hand a handler, for connector tests."""

from __future__ import annotations

from typing import Any

from engine.handlers import TaskContext


def task_context(topic: str, variables: dict[str, Any] | None = None, *,
                 properties: dict[str, str] | None = None,
                 idempotency_key: str = "instance-1:Task_1:1", attempt: int = 1,
                 instance_id: str = "instance-1", process_key: str = "deploy_with_test",
                 activity_id: str = "Task_1") -> TaskContext:
    """A context as an engine worker builds it; the same idempotency key means the same task."""
    return TaskContext(task_id=f"task-{attempt}", topic=topic, instance_id=instance_id,
                       process_key=process_key, activity_id=activity_id,
                       idempotency_key=idempotency_key, variables=dict(variables or {}),
                       properties=dict(properties or {}), attempt=attempt, worker_id="test")
