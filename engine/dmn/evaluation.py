"""One evaluation request over a DMN model.

Names resolve lazily through the DRG: a decision's value is computed the first time an
expression names it (then kept, so shared requirements run once), a business knowledge
model or decision service is a FEEL function, and an import's prefix is a context of the
imported model's elements. Values the caller gives win over the logic of a decision of the
same name, which is how decision services receive their input decisions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from engine.budget import EvaluationLimits, Meter
from engine.dmn.model import (
    BusinessKnowledgeModel,
    Decision,
    DecisionResult,
    DecisionService,
    DecisionTable,
    LiteralExpression,
    Logic,
)
from engine.dmn.tables import evaluate_table
from engine.dmn.types import conform, resolve
from engine.errors import DecisionError
from engine.feel import FeelFunction, Scope, to_feel
from engine.feel.calls import call_function
from engine.feel.scope import MISSING
from engine.feel.types import coerce

if TYPE_CHECKING:  # pragma: no cover - definitions imports this module to evaluate
    from engine.dmn.definitions import DmnDefinitions


class Evaluation:
    """Memoised values and functions of one request (see module doc)."""

    def __init__(self, definitions: DmnDefinitions, context: Mapping[str, Any], strict: bool,
                 limits: EvaluationLimits | None,
                 imported_inputs: Mapping[str, Mapping[str, Any]], *,
                 meter: Meter | None = None, errors: list[str] | None = None,
                 blocked: frozenset[str] = frozenset()) -> None:
        self.definitions = definitions
        self.strict = strict
        self.errors: list[str] = errors if errors is not None else []
        self.meter = meter or Meter(limits)
        self.imported_inputs = imported_inputs
        self.blocked = blocked  # decisions whose value must be given, never computed
        inputs = {str(k): to_feel(v) for k, v in context.items()}
        if definitions.inputs:
            for name, value in inputs.items():
                data = definitions.input_named(name)
                if data is not None and data.type_ref:
                    inputs[name] = conform(value, data.type_ref, definitions.types,
                                           self.errors, f"input {name!r}")
        self.inputs = inputs
        self.values: dict[str, Any] = {}
        self.functions: dict[str, Any] = {}
        self.active: set[str] = set()
        root = Scope(_Drg(self), errors=self.errors, meter=self.meter,
                     types=definitions.types)
        self.scope = root.child(inputs)

    # ---- names
    def lookup(self, name: str) -> Any:
        """The value of a DRG element or import named ``name``, or MISSING."""
        definitions = self.definitions
        element = definitions.element_named(name)
        if element is not None:
            if isinstance(element, Decision):
                return self.value_of(element)
            if isinstance(element, BusinessKnowledgeModel):
                return self.function_of(element)
            return self.service_function(element)
        for item in definitions.imports:
            if item.name == name:
                return self.imported(item.name, item.namespace)
        if definitions.input_named(name) is not None:
            return None  # a declared input the caller did not give
        return MISSING

    # ---- decisions
    def result_of(self, decision: Decision) -> DecisionResult:
        rows, matched, value = self.run(decision)
        self.values[decision.id] = value
        return DecisionResult(
            decision_id=decision.id, decision_name=decision.name,
            result=rows if decision.is_table else value, matched_rules=matched,
            errors=list(self.errors), value=value, output_name=decision.name,
            is_table=decision.is_table)

    def value_of(self, decision: Decision) -> Any:
        values = self.values
        if decision.id in values:
            return values[decision.id]
        if decision.name in self.inputs:
            value = self.inputs[decision.name]
        elif decision.id in self.blocked:
            self.errors.append(f"decision {decision.name!r} is an input of the decision "
                               "service and was not given")
            value = None
        elif decision.id in self.active:
            self.errors.append(f"decision {decision.name!r} depends on itself")
            value = None
        else:
            self.active.add(decision.id)
            try:
                value = self.run(decision)[2]
            finally:
                self.active.discard(decision.id)
        values[decision.id] = value
        return value

    def run(self, decision: Decision) -> tuple[list[dict[str, Any]], list[str | int], Any]:
        if decision.logic is None:
            message = f"decision {decision.name!r} has no logic to evaluate"
            if self.strict:
                raise DecisionError(message)
            self.errors.append(message)
            return [], [], None
        rows, matched, value = run_logic(decision.logic, self.scope, decision.name,
                                         self.strict)
        value = conform(value, decision.type_ref, self.definitions.types, self.errors,
                        f"decision {decision.name!r}")
        return rows, matched, value

    # ---- knowledge models
    def function_of(self, bkm: BusinessKnowledgeModel) -> Any:
        """A BKM as a FEEL function, invocable from any expression of the file."""
        function = self.functions.get(bkm.id)
        if function is None:
            defined = bkm.logic.node(self.scope) if bkm.logic is not None else None
            if isinstance(defined, FeelFunction):
                function = FeelFunction(bkm.name, defined.params, defined.invoke,
                                        param_types=defined.param_types)
            else:
                function = FeelFunction(bkm.name, tuple(n for n, _ in bkm.parameters),
                                        self._no_logic(bkm.name))
            self.functions[bkm.id] = function
        return function

    def _no_logic(self, name: str) -> Callable[[list[Any], Scope | None], None]:
        def invoke(values: list[Any], caller: Scope | None) -> None:
            self.errors.append(f"{name!r} has no logic to evaluate")
            return None
        return invoke

    def knowledge_result(self, bkm: BusinessKnowledgeModel,
                         context: Mapping[str, Any]) -> DecisionResult:
        arguments = {str(k): to_feel(v) for k, v in context.items()}
        value = call_function(self.function_of(bkm), [], arguments, self.scope)
        return DecisionResult(decision_id=bkm.id, decision_name=bkm.name, result=value,
                              errors=list(self.errors), value=value, output_name=bkm.name)

    # ---- decision services
    def service_function(self, service: DecisionService) -> FeelFunction:
        """A decision service as a FEEL function: input data, then input decisions."""
        function = self.functions.get(service.id)
        if function is None:
            params = self._service_params(service)

            def invoke(values: list[Any], caller: Scope | None) -> Any:
                if len(values) != len(params):
                    self.errors.append(f"{service.name}() takes {len(params)} arguments, "
                                       f"not {len(values)}")
                    return None
                bindings = {}
                for (name, type_ref), value in zip(params, values):
                    converted, ok = coerce(value, resolve(type_ref), self.definitions.types) \
                        if type_ref and value is not None else (value, True)
                    if not ok:
                        self.errors.append(f"{service.name}(): argument {name!r} does not "
                                           f"conform to type {type_ref}")
                        return None
                    bindings[name] = converted
                return self.service_value(service, bindings)[0]

            function = self.functions[service.id] = FeelFunction(
                service.name, tuple(name for name, _ in params), invoke)
        return function

    def _service_params(self, service: DecisionService) -> list[tuple[str, str | None]]:
        """(name, typeRef) of the parameters: the input data, then the input decisions."""
        inputs = self.definitions.inputs
        decisions = self.definitions.decisions
        return [(inputs[i].name, inputs[i].type_ref) for i in service.input_data
                if i in inputs] + [(decisions[d].name, decisions[d].type_ref)
                                   for d in service.input_decisions]

    def service_value(self, service: DecisionService, bindings: Mapping[str, Any]
                      ) -> tuple[Any, dict[str, Any]]:
        """(the service's value, each output decision's value) for the given inputs."""
        decisions = self.definitions.decisions
        given = dict(bindings)
        for decision_id in service.input_decisions:
            decision = decisions[decision_id]
            if decision.name in given:
                given[decision.name] = conform(to_feel(given[decision.name]),
                                               decision.type_ref, self.definitions.types,
                                               self.errors, f"decision {decision.name!r}")
        inner = Evaluation(self.definitions, given, self.strict, None, self.imported_inputs,
                           meter=self.meter, errors=self.errors,
                           blocked=frozenset(service.input_decisions))
        outputs = {decisions[d].name: inner.value_of(decisions[d])
                   for d in service.output_decisions}
        value: Any = next(iter(outputs.values())) if len(outputs) == 1 else dict(outputs)
        if service.type_ref and value is not None:
            value = conform(value, service.type_ref, self.definitions.types, self.errors,
                            f"decision service {service.name!r}")
            if value is None:
                outputs = dict.fromkeys(outputs)
        return value, outputs

    def service_result(self, service: DecisionService) -> DecisionResult:
        value, outputs = self.service_value(service, self.inputs)
        return DecisionResult(decision_id=service.id, decision_name=service.name,
                              result=value, errors=list(self.errors), value=value,
                              output_name=service.name, outputs=outputs)

    # ---- imports
    def imported(self, prefix: str, namespace: str) -> _ImportedElements:
        key = "import:" + prefix
        found = self.functions.get(key)
        if found is None:
            definitions = self.definitions.imported[namespace]
            given = dict(self.imported_inputs.get(namespace, {}))
            own = self.inputs.get(prefix)
            if isinstance(own, dict):
                given.update(own)
            inner = Evaluation(definitions, given, self.strict, None, self.imported_inputs,
                               meter=self.meter, errors=self.errors)
            found = self.functions[key] = _ImportedElements(inner)
        return found


class _Drg(dict[str, Any]):
    """The bottom scope of an evaluation: DRG elements by name, resolved on first use."""

    def __init__(self, evaluation: Evaluation) -> None:
        super().__init__()
        self.evaluation = evaluation

    def get(self, name: str, default: Any = None) -> Any:
        value = self.evaluation.lookup(name)
        return default if value is MISSING else value


class _ImportedElements(dict[str, Any]):
    """``prefix.name`` of an import: the imported model's decisions, functions and inputs."""

    def __init__(self, evaluation: Evaluation) -> None:
        super().__init__()
        self.evaluation = evaluation

    def get(self, name: str, default: Any = None) -> Any:
        if name in self.evaluation.inputs:
            return self.evaluation.inputs[name]
        value = self.evaluation.lookup(name)
        return default if value is MISSING else value


def run_logic(logic: Logic, scope: Scope, label: str, strict: bool
              ) -> tuple[list[dict[str, Any]], list[str | int], Any]:
    """(rows, matched rule refs, DMN value) of any decision logic."""
    if isinstance(logic, DecisionTable):
        outcome = evaluate_table(logic, scope, label, strict)
        return outcome.rows, outcome.matched, outcome.value
    if isinstance(logic, LiteralExpression):
        return [], [], logic.expression.evaluate_in(scope)
    return [], [], logic.node(scope)
