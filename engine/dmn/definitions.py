"""A loaded DMN file and the evaluation of its decisions (requirements first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from engine.dmn.model import BusinessKnowledgeModel, Decision, DecisionResult, DecisionTable, \
    InputData, ItemDefinition, LiteralExpression, Logic
from engine.dmn.tables import evaluate_table
from engine.dmn.types import conform
from engine.errors import DecisionError, NotFoundError
from engine.feel import FeelFunction, Scope, to_feel


@dataclass(frozen=True)
class DmnDefinitions:
    """Every decision, input and knowledge model of one DMN file, compiled."""

    id: str
    name: str
    namespace: str
    decisions: dict[str, Decision]
    inputs: dict[str, InputData] = field(default_factory=dict)
    knowledge: dict[str, BusinessKnowledgeModel] = field(default_factory=dict)
    item_definitions: dict[str, ItemDefinition] = field(default_factory=dict)
    dmn_version: str = "1.3"
    filename: str = "<string>"

    def decision(self, key: str) -> Decision:
        """The decision with id ``key``, else the one named ``key``."""
        found = self.decisions.get(key)
        if found is None:
            found = next((d for d in self.decisions.values() if d.name == key), None)
        if found is None:
            known = ", ".join(sorted(self.decisions)) or "none"
            raise NotFoundError(f"{self.filename}: no decision {key!r} (decisions: {known})")
        return found

    def evaluate(self, decision: str, context: Mapping[str, Any] | None = None, *,
                 strict: bool = True) -> DecisionResult:
        """Evaluate a decision (by id or name), its required decisions first.

        Args:
            decision: id or name.
            context: input values by name (Python values; ints/floats become Decimal).
            strict: raise DecisionError when a hit policy is violated (UNIQUE with several
                matching rules, ANY with differing outputs). With ``strict=False`` the
                decision yields null and the violation is listed in ``errors``.

        Raises:
            NotFoundError: no such decision.
            DecisionError: a hit-policy violation (strict mode), or a function or knowledge
                model that calls itself without end.
        """
        target = self.decision(decision)
        try:
            return _Evaluation(self, context or {}, strict).result_of(target)
        except RecursionError:
            raise DecisionError(f"decision {target.name!r}: recursion too deep (a function or "
                                "knowledge model that never stops calling itself?)") from None


class _Evaluation:
    """One evaluation request: memoises decision values so shared requirements run once."""

    def __init__(self, definitions: DmnDefinitions, context: Mapping[str, Any],
                 strict: bool) -> None:
        self.definitions = definitions
        self.strict = strict
        self.errors: list[str] = []
        variables = {str(k): to_feel(v) for k, v in context.items()}
        for data in definitions.inputs.values():
            if data.name in variables:
                variables[data.name] = conform(variables[data.name], data.type_ref,
                                               definitions.item_definitions, self.errors,
                                               f"input {data.name!r}")
        self.scope = Scope(variables, errors=self.errors)
        self.values: dict[str, Any] = {}
        for bkm in definitions.knowledge.values():
            variables.setdefault(bkm.name, self.function_of(bkm))

    def result_of(self, decision: Decision) -> DecisionResult:
        scope = self.scope_for(decision)
        outcome_rows, matched, value = self.run(decision, scope)
        return DecisionResult(
            decision_id=decision.id, decision_name=decision.name,
            result=outcome_rows if decision.is_table else value, matched_rules=matched,
            errors=list(self.errors), value=value, output_name=decision.name,
            is_table=decision.is_table)

    def scope_for(self, decision: Decision) -> Scope:
        """The caller's variables plus the values of every required decision."""
        required: dict[str, Any] = {}
        for required_id in decision.required_decisions:
            dependency = self.definitions.decisions[required_id]
            required[dependency.name] = self.value_of(dependency)
        return self.scope.child(required) if required else self.scope

    def value_of(self, decision: Decision) -> Any:
        if decision.id not in self.values:
            _, _, value = self.run(decision, self.scope_for(decision))
            self.values[decision.id] = value
        return self.values[decision.id]

    def run(self, decision: Decision, scope: Scope) -> tuple[list, list, Any]:
        if decision.logic is None:
            raise DecisionError(f"decision {decision.name!r} has no logic to evaluate")
        rows, matched, value = run_logic(decision.logic, scope, decision.name, self.strict)
        value = conform(value, decision.type_ref, self.definitions.item_definitions,
                        self.errors, f"decision {decision.name!r}")
        return rows, matched, value

    def function_of(self, bkm: BusinessKnowledgeModel) -> FeelFunction:
        """A BKM as a FEEL function, invocable from any expression of the file."""
        names = tuple(name for name, _ in bkm.parameters)

        def invoke(values: list[Any], caller: Scope | None) -> Any:
            if len(values) != len(names) or bkm.logic is None:
                self.errors.append(f"{bkm.name}() expects {len(names)} arguments")
                return None
            arguments = {name: conform(value, type_ref, self.definitions.item_definitions,
                                       self.errors, f"{bkm.name}() parameter {name!r}")
                         for (name, type_ref), value in zip(bkm.parameters, values)}
            _, _, value = run_logic(bkm.logic, self.scope.child(arguments), bkm.name,
                                    self.strict)
            return value

        return FeelFunction(bkm.name, names, invoke)


def run_logic(logic: Logic, scope: Scope, label: str, strict: bool
              ) -> tuple[list[dict[str, Any]], list[str | int], Any]:
    """(rows, matched rule refs, DMN value) of a decision table or literal expression."""
    if isinstance(logic, DecisionTable):
        outcome = evaluate_table(logic, scope, label, strict)
        return outcome.rows, outcome.matched, outcome.value
    assert isinstance(logic, LiteralExpression)
    return [], [], logic.expression.evaluate_in(scope)
