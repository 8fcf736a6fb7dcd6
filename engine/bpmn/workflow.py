"""Running SpiffWorkflow workflows the engine's way.

* :class:`ExpressionEngine` replaces SpiffWorkflow's Python ``eval`` with the project's own
  expression evaluator (and refuses scripts unless the operator allowed them).
* :func:`run_engine_steps` advances a workflow to its wait states while keeping its task tree
  compact, so loops of any length neither slow down nor stop.
* :func:`dump_state` / :func:`load_state` serialize a workflow *without* its spec (the spec is
  rebuilt from the deployed BPMN, so instance rows stay small).
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.util import task as bpmn_task_util
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util import task as task_util
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState

from ..errors import ExpressionError, MlcError

# SpiffWorkflow's task iterators stop descending at depth 1000, which silently halts a loop after
# about 330 iterations. Compaction (below) keeps trees shallow; lifting the limit makes sure a
# tree that still grows deep (parallel branches inside a loop) is never cut off.
for _iterator in (task_util.TaskIterator, bpmn_task_util.BpmnTaskIterator):
    _defaults = list(_iterator.__init__.__defaults__)
    _defaults[1] = sys.maxsize  # max_depth
    _iterator.__init__.__defaults__ = tuple(_defaults)


class ScriptsRefused(MlcError):
    code = "scripts_refused"
    status = 422


class ExpressionEngine(PythonScriptEngine):
    """SpiffWorkflow's script-engine interface over the project's safe expression evaluator.

    Args:
        compile_template: compiles a text with ``${...}`` into an object with ``evaluate(vars)``.
        decide: evaluates a DMN decision for a businessRuleTask (see DecisionTask).
        allow_scripts: run script tasks with SpiffWorkflow's Python engine (operator opt-in).
        context: extra read-only values visible as ``execution`` in expressions.
    """

    def __init__(self, compile_template: Callable[[str], Any],
                 decide: Callable[..., Any] | None = None, allow_scripts: bool = False) -> None:
        super().__init__()
        self._compile = compile_template
        self._cache: dict[str, Any] = {}
        self._decide = decide
        self.allow_scripts = allow_scripts
        self.execution: dict[str, Any] = {}

    def compiled(self, text: str):
        found = self._cache.get(text)
        if found is None:
            found = self._cache[text] = self._compile(text)
        return found

    def evaluate_template(self, text: str | None, variables: dict[str, Any], element_id: str | None = None) -> Any:
        if text is None:
            return None
        if "${" not in text and "#{" not in text:
            return text
        scope = dict(variables)
        scope.setdefault("execution", dict(self.execution, activityId=element_id))
        try:
            return self.compiled(text).evaluate(scope)
        except ExpressionError as exc:
            if exc.element_id is None and element_id:
                raise ExpressionError(exc.message, element_id=element_id) from None
            raise

    def evaluate(self, task, expression, external_context=None):
        variables = dict(task.data)
        if external_context:
            variables.update(external_context)
        text = expression.strip() if isinstance(expression, str) else expression
        return self.evaluate_template(text, variables, task.task_spec.bpmn_id)

    def execute(self, task, script, external_context=None):
        if not self.allow_scripts:
            raise ScriptsRefused(f"script task {task.task_spec.bpmn_id!r} refused: scripts are "
                                 "disabled (MLC_ALLOW_SCRIPTS=1 enables them)")
        return super().execute(task, script, external_context)

    def decide(self, ref: str, variables: dict[str, Any], **kwargs) -> Any:
        if self._decide is None:
            raise MlcError(f"no decision service configured to evaluate {ref!r}")
        return self._decide(ref, variables, **kwargs)


# ---------------------------------------------------------------------------------------------
# Task-tree compaction


def _compact_one(workflow) -> None:
    """Splice completed single-child ancestors out of one (sub)workflow's task tree.

    SpiffWorkflow appends every loop iteration below the previous one, so a tree grows by a
    few levels per iteration and every step scans it. Completed tasks with exactly one child
    carry nothing a later step needs (the engine keeps its own history), except the direct
    parents of live tasks and of their same-spec siblings, which joins inspect.
    """
    tasks = workflow.tasks
    live = [t for t in tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not live:
        return
    pending = _pending_join_inputs(workflow, live)
    _drop_dead_branches(workflow, live, pending)
    keep = {workflow.task_tree.id}
    # A join inspects the direct parents of its finished sibling join tasks to see which
    # inputs have arrived, and merges their data, so those parents stay too.
    for task_id in pending | {t.id for t in live if isinstance(t.task_spec, Join)}:
        keep.add(task_id)
        parent = tasks[task_id]._parent
        if parent is not None:
            keep.add(parent)
    for task in list(tasks.values()):
        if task.id in keep or task.id not in tasks:
            continue
        if len(task._children) != 1 or not task.has_state(TaskState.COMPLETED):
            continue
        parent = tasks.get(task._parent) if task._parent is not None else None
        if parent is None or workflow.top_workflow.subprocesses.get(task.id) is not None:
            continue
        child = tasks.get(task._children[0])
        if child is None:
            continue
        # re-link: parent -> child, dropping task
        parent._children = [child.id if c == task.id else c for c in parent._children]
        child._parent = parent.id
        del tasks[task.id]


def _live_paths(tasks: dict, live) -> set:
    """Ids of the live tasks and of all their ancestors."""
    path: set = set()
    for task in live:
        current = task
        while current is not None and current.id not in path:
            path.add(current.id)
            current = tasks.get(current._parent) if current._parent is not None else None
    return path


def _pending_join_inputs(workflow, live) -> set:
    """Ids of finished join tasks whose branch a live join of the same spec has yet to merge.

    A finished side-branch join task is consumed once a join of its spec on a live path has
    completed after it; until then the live join needs it (and its parent) to count arrived
    inputs and merge data. Keeping only these keeps loops through parallel gateways linear.
    """
    tasks = workflow.tasks
    live_joins = {t.task_spec.name for t in live if isinstance(t.task_spec, Join)}
    if not live_joins:
        return set()
    on_live_path = _live_paths(tasks, live)
    consumed_at: dict[str, float] = {}
    for task_id in on_live_path:
        task = tasks[task_id]
        name = task.task_spec.name
        if name in live_joins and task.has_state(TaskState.COMPLETED):
            consumed_at[name] = max(consumed_at.get(name, 0.0), task.last_state_change)
    return {t.id for t in tasks.values()
            if t.task_spec.name in live_joins and t.id not in on_live_path
            and t.has_state(TaskState.FINISHED_MASK)
            and t.last_state_change > consumed_at.get(t.task_spec.name, -1.0)}


def _drop_dead_branches(workflow, live, pending: set) -> None:
    """Remove finished side branches (e.g. the other arm of a parallel split, once joined).

    A branch stays while it holds a join input still pending (see ``_pending_join_inputs``).
    """
    tasks = workflow.tasks
    has_live = _live_paths(tasks, live)
    subprocesses = workflow.top_workflow.subprocesses
    events = workflow.top_workflow.event_manager.tasks
    for parent_id in list(has_live):
        parent = tasks.get(parent_id)
        if parent is None or len(parent._children) < 2:
            continue
        for child_id in list(parent._children):
            if child_id in has_live or child_id not in tasks:
                continue
            subtree, stack = [], [child_id]
            while stack:
                node = tasks.get(stack.pop())
                if node is None:
                    continue
                subtree.append(node)
                stack.extend(node._children)
            if any(t.id in pending or t.id in subprocesses for t in subtree):
                continue
            parent._children.remove(child_id)
            for node in subtree:
                del tasks[node.id]
                events.pop(node.id, None)


def compact(workflow: BpmnWorkflow) -> None:
    _compact_one(workflow)
    for sub in workflow.subprocesses.values():
        _compact_one(sub)


class EngineStalled(MlcError):
    code = "engine_stalled"
    status = 500


def run_engine_steps(workflow: BpmnWorkflow, *, did_complete_task=None) -> int:
    """Run every ready engine task until only wait states remain; return the steps run."""
    steps = 0
    while True:
        ran = workflow._do_engine_steps(did_complete_task=did_complete_task)
        compact(workflow)
        if not ran:
            break
        steps += 1
    workflow.refresh_timers()
    # timers that were already due, and tasks their firing made ready, run now
    if any(not t.task_spec.manual for t in workflow.get_tasks(state=TaskState.READY)):
        return steps + run_engine_steps(workflow, did_complete_task=did_complete_task)
    # A process interrupted by an error event subprocess never reaches its main end event;
    # once the handler is done nothing is left, and that is completion too.
    workflow.is_completed()
    return steps


# ---------------------------------------------------------------------------------------------
# Serialization without the spec


class _StateConverter(BpmnWorkflowConverter):
    """Workflow state only; the specs are supplied at load time from the deployed BPMN."""

    def to_dict(self, workflow):
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        dct = dict(dct)
        dct["spec"] = None
        return self._restore(dct, spec, subprocess_specs)

    def _restore(self, dct, spec, subprocess_specs):
        from uuid import UUID

        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition

    from .parser import CamundaErrorEventDefinition

    config = dict(DEFAULT_CONFIG)
    config[BpmnWorkflow] = _StateConverter
    # an uncaught error end event leaves its definition among the pending events
    config[CamundaErrorEventDefinition] = config[ErrorEventDefinition]
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


_SERIALIZER = _make_serializer()


def dump_state(workflow: BpmnWorkflow) -> str:
    registry = _SERIALIZER.registry
    registry._encoder_mode = True
    try:
        return json.dumps(registry.convert(workflow), cls=_SERIALIZER._encoder_cls,
                          separators=(",", ":"))
    finally:
        registry._encoder_mode = False


def load_state(state: str, spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    dct = json.loads(state)
    workflow = _SERIALIZER.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return workflow
