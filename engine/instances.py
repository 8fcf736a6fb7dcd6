"""Reading an advanced workflow back into rows: variables, wait states, history entries."""

from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent

from .bpmn.specs import ExternalTask
from .bpmn.timers import next_due

LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def visible(task) -> bool:
    return getattr(task.task_spec, "bpmn_id", None) is not None


def current_variables(workflow) -> dict[str, Any]:
    """The instance's variables: the data of its live tokens, later changes winning.

    SpiffWorkflow copies data along each token; Camunda users expect one process scope. The
    union of the live tokens' data (or, once finished, of the last completed tasks) is that.
    """
    tasks = [t for t in workflow.get_tasks(state=LIVE) if t.workflow is workflow]
    if not tasks:
        tasks = [t for t in workflow.get_tasks(state=TaskState.COMPLETED)
                 if t.workflow is workflow and not t._children]
    merged: dict[str, Any] = {}
    for task in sorted(tasks, key=lambda t: t.last_state_change):
        merged.update(task.data)
    return merged


def ready_external_tasks(workflow) -> list:
    return [t for t in workflow.get_tasks(state=TaskState.READY)
            if isinstance(t.task_spec, ExternalTask)]


def wanted_subscriptions(workflow) -> set[tuple]:
    """(kind, name, task_id, activity_id, due_at) for every catch event that waits."""
    wanted: set[tuple] = set()
    for task in list(workflow.event_manager.tasks.values()):
        if not task.has_state(TaskState.WAITING):
            continue
        definition = task.task_spec.event_definition
        definitions = (definition.event_definitions
                       if isinstance(definition, MultipleEventDefinition) else [definition])
        for ed in definitions:
            activity = task.task_spec.bpmn_id
            if isinstance(ed, SignalEventDefinition):
                wanted.add(("signal", ed.name, str(task.id), activity, None))
            elif isinstance(ed, MessageEventDefinition):
                wanted.add(("message", ed.name, str(task.id), activity, None))
            elif isinstance(ed, TimerEventDefinition):
                due = next_due(task)
                if due is not None:
                    wanted.add(("timer", None, str(task.id), activity, due))
    return wanted


def active_activities(workflow) -> list[str]:
    """BPMN ids of the activities an instance is in (boundary events are not activities)."""
    ids = []
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED):
        if isinstance(task.task_spec, BoundaryEvent):
            continue
        if visible(task) and task.task_spec.bpmn_id not in ids:
            if task.has_state(TaskState.READY) and not task.task_spec.manual:
                continue
            ids.append(task.task_spec.bpmn_id)
    return ids


def scalar_text(value: Any) -> str | None:
    """The text a variable is indexed under for correlation (None when not a scalar)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        text = str(value)
        return text if len(text) <= 512 else None
    return None


def jsonable(value: Any) -> Any:
    """A JSON-safe copy of a variable value (Decimal/date become numbers/strings)."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    from datetime import date, datetime, time
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)
