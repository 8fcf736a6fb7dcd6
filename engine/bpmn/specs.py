"""Task specs for what Camunda Modeler writes and SpiffWorkflow alone does not run our way.

* :class:`ExternalTask` — a service/send task executed by a handler or an external worker; a
  wait state (the engine turns it into an external-task row).
* :class:`PassThroughTask` — ``bpmn:task`` and ``bpmn:manualTask``, which Camunda passes through
  (SpiffWorkflow would wait on them).
* :class:`ExpressionTask` — a service task with ``camunda:expression``, evaluated in place.
* :class:`DecisionTask` — a ``businessRuleTask`` with ``camunda:decisionRef``; the decision is
  looked up at run time through the script engine's decision resolver.
* :class:`ScopeParallelGateway` / :class:`ScopeInclusiveGateway` — joins that merge what each
  branch *changed*, as Camunda's single process scope does.

Each carries its ``camunda:inputOutput`` mapping (:class:`IoMapping`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from copy import copy

from SpiffWorkflow.bpmn.specs.defaults import InclusiveGateway, ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.bpmn_spec_mixin import BpmnSpecMixin
from SpiffWorkflow.util.task import TaskState

# A parameter value: ("text", template) | ("list", [values]) | ("map", [(key, value)]) | ("null",)
ParamValue = tuple


@dataclass
class IoMapping:
    """Camunda ``inputParameter`` / ``outputParameter`` lists, evaluated in order."""

    inputs: list[tuple[str, ParamValue]] = field(default_factory=list)
    outputs: list[tuple[str, ParamValue]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.inputs or self.outputs)


def evaluate_param(engine, value: ParamValue, variables: dict[str, Any], element_id: str) -> Any:
    kind = value[0]
    if kind == "text":
        return engine.evaluate_template(value[1], variables, element_id)
    if kind == "list":
        return [evaluate_param(engine, v, variables, element_id) for v in value[1]]
    if kind == "map":
        return {k: evaluate_param(engine, v, variables, element_id) for k, v in value[1]}
    return None


def apply_inputs(engine, io: IoMapping, variables: dict[str, Any], element_id: str) -> dict[str, Any]:
    """Local variables of an activity: process variables overlaid with its input parameters."""
    local = dict(variables)
    for name, value in io.inputs:
        local[name] = evaluate_param(engine, value, local, element_id)
    return local


def apply_outputs(engine, io: IoMapping, local: dict[str, Any], element_id: str) -> dict[str, Any]:
    """What an activity writes back to the process scope.

    With output parameters only those are written (Camunda's rule); without any, all local
    results are written except the input parameters, which stay local to the activity.
    """
    if io.outputs:
        return {name: evaluate_param(engine, value, local, element_id) for name, value in io.outputs}
    input_names = {name for name, _ in io.inputs}
    return {k: v for k, v in local.items() if k not in input_names}


class _Mapped:
    io: IoMapping
    properties: dict[str, str]


class _InPlace(_Mapped):
    """A task the engine runs in place: inputs, ``_result`` into ``result_variable``, outputs."""

    result_variable: str | None

    def _result(self, engine, local: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _run_hook(self, my_task):
        engine = my_task.workflow.script_engine
        local = apply_inputs(engine, self.io, my_task.data, self.bpmn_id)
        result = self._result(engine, local)
        if self.result_variable:
            local[self.result_variable] = result
        my_task.data.update(apply_outputs(engine, self.io, local, self.bpmn_id))
        return True


class ExternalTask(BpmnSpecMixin, _Mapped):
    """A service task run outside the engine's transaction by a topic handler or worker."""

    def __init__(self, wf_spec, bpmn_id, *, topic: str, implementation: str,
                 io: IoMapping | None = None, properties: dict[str, str] | None = None,
                 retry_cycle: str | None = None, result_variable: str | None = None, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = True  # a wait state: the engine completes it when the handler is done
        self.topic = topic
        self.implementation = implementation
        self.io = io or IoMapping()
        self.properties = dict(properties or {})
        self.retry_cycle = retry_cycle
        self.result_variable = result_variable

    def _run_hook(self, my_task):
        return True


class PassThroughTask(BpmnSpecMixin, _Mapped):
    """``bpmn:task`` / ``bpmn:manualTask``: Camunda does nothing and moves on."""

    def __init__(self, wf_spec, bpmn_id, *, io: IoMapping | None = None, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False
        self.io = io or IoMapping()
        self.properties = {}

    def _run_hook(self, my_task):
        if self.io:
            engine = my_task.workflow.script_engine
            local = apply_inputs(engine, self.io, my_task.data, self.bpmn_id)
            my_task.data.update(apply_outputs(engine, self.io, local, self.bpmn_id))
        return True


class ExpressionTask(_InPlace, BpmnSpecMixin):
    """``camunda:expression`` on a service task: evaluate, optionally store in resultVariable."""

    def __init__(self, wf_spec, bpmn_id, *, expression: str, result_variable: str | None = None,
                 io: IoMapping | None = None, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False
        self.expression = expression
        self.result_variable = result_variable
        self.io = io or IoMapping()
        self.properties = {}

    def _result(self, engine, local):
        return engine.evaluate_template(self.expression, local, self.bpmn_id)


class DecisionTask(_InPlace, BpmnSpecMixin):
    """``businessRuleTask`` with ``camunda:decisionRef``, evaluated against deployed DMN."""

    def __init__(self, wf_spec, bpmn_id, *, decision_ref: str, binding: str = "latest",
                 version: str | None = None, result_variable: str | None = None,
                 map_decision_result: str = "resultList", io: IoMapping | None = None, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False
        self.decision_ref = decision_ref
        self.binding = binding
        self.version = version
        self.result_variable = result_variable
        self.map_decision_result = map_decision_result
        self.io = io or IoMapping()
        self.properties = {}

    def _result(self, engine, local):
        ref = engine.evaluate_template(self.decision_ref, local, self.bpmn_id)
        version = engine.evaluate_template(self.version, local, self.bpmn_id) if self.version else None
        return engine.decide(str(ref), local, binding=self.binding, version=version,
                             map_decision_result=self.map_decision_result, element_id=self.bpmn_id)


# ---------------------------------------------------------------------------------------------
# Joins


def _common_ancestor(a, b):
    seen = set()
    while a is not None:
        seen.add(a.id)
        a = a.parent
    while b is not None and b.id not in seen:
        b = b.parent
    return b


def _apply_changes(target: dict[str, Any], branch: dict[str, Any], base: dict[str, Any]) -> None:
    """Copy into ``target`` what ``branch`` set or changed relative to ``base`` (the split)."""
    for name, value in branch.items():
        if name not in base or base[name] != value:
            target[name] = copy(value) if isinstance(value, (dict, list, set)) else value


class _ScopeJoin:
    """A join whose variables are those of one process scope, as in Camunda.

    SpiffWorkflow copies data along each token and lets the last branch to arrive overwrite
    the others: a variable one branch set is lost when the last branch still carries the
    value it had at the split (in a loop, last turn's value). Here each branch contributes
    only what it changed since the split, in the order the branches arrived.
    """

    def _run_hook(self, my_task):
        arrived = sorted((t for t in my_task.workflow.tasks.values()
                          if t.task_spec == self and t.has_state(TaskState.FINISHED_MASK)
                          and not my_task.is_descendant_of(t)),
                         key=lambda t: t.last_state_change)
        fork = None
        for task in arrived:
            fork = _common_ancestor(task, my_task)
            _apply_changes(my_task.data, task.parent.data, fork.data if fork is not None else {})
            if task.has_state(TaskState.COMPLETED):
                task._drop_children(force=True)
        # the branch that arrived last wins for what it changed itself
        _apply_changes(my_task.data, my_task.parent.data, fork.data if fork is not None else {})
        return True


class ScopeParallelGateway(_ScopeJoin, ParallelGateway):
    pass


class ScopeInclusiveGateway(_ScopeJoin, InclusiveGateway):
    pass
