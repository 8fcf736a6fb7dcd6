"""A loaded DMN file: find its decisions, decision services and knowledge models, and evaluate
them (see :mod:`engine.dmn.evaluation` for how one evaluation runs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.budget import EvaluationLimits
from engine.dmn.model import (
    BusinessKnowledgeModel,
    Decision,
    DecisionResult,
    DecisionService,
    Import,
    InputData,
)
from engine.errors import DecisionError, NotFoundError
from engine.feel.types import FeelType

Invocable = Decision | DecisionService | BusinessKnowledgeModel


@dataclass(frozen=True)
class DmnDefinitions:
    """Every decision, input, knowledge model and decision service of one DMN file, compiled."""

    id: str
    name: str
    namespace: str
    decisions: dict[str, Decision]
    inputs: dict[str, InputData] = field(default_factory=dict)
    knowledge: dict[str, BusinessKnowledgeModel] = field(default_factory=dict)
    services: dict[str, DecisionService] = field(default_factory=dict)
    types: dict[str, FeelType] = field(default_factory=dict)
    imports: tuple[Import, ...] = ()
    imported: dict[str, DmnDefinitions] = field(default_factory=dict)
    dmn_version: str = "1.3"
    filename: str = "<string>"
    names: frozenset[str] = frozenset()
    _by_name: dict[str, Invocable] = field(init=False, repr=False, compare=False)
    _inputs_by_name: dict[str, InputData] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, Invocable] = {}
        for pool in (self.services, self.knowledge, self.decisions):
            for element in pool.values():
                by_name[element.name] = element
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_inputs_by_name",
                           {data.name: data for data in self.inputs.values()})

    def element_named(self, name: str) -> Invocable | None:
        return self._by_name.get(name)

    def input_named(self, name: str) -> InputData | None:
        return self._inputs_by_name.get(name)

    def decision(self, key: str) -> Decision:
        """The decision with id ``key``, else the one named ``key``."""
        found = self.decisions.get(key)
        if found is None:
            found = next((d for d in self.decisions.values() if d.name == key), None)
        if found is None:
            known = ", ".join(sorted(self.decisions)) or "none"
            raise NotFoundError(f"{self.filename}: no decision {key!r} (decisions: {known})")
        return found

    def invocable(self, key: str) -> Invocable:
        """The decision, decision service or business knowledge model with id or name
        ``key`` (decisions first)."""
        for pool in (self.decisions, self.services, self.knowledge):
            if key in pool:
                return pool[key]
        found = self.element_named(key)
        if found is None:
            known = ", ".join(sorted({*self.decisions, *self.services, *self.knowledge}))
            raise NotFoundError(f"{self.filename}: no decision, decision service or business "
                                f"knowledge model {key!r} (known: {known or 'none'})")
        return found

    @property
    def invocables(self) -> dict[str, Invocable]:
        """Every element one can evaluate by id: decisions, decision services, BKMs."""
        return {**self.knowledge, **self.services, **self.decisions}

    def evaluate(self, key: str, context: Mapping[str, Any] | None = None, *,
                 strict: bool = True, limits: EvaluationLimits | None = None,
                 imported_inputs: Mapping[str, Mapping[str, Any]] | None = None
                 ) -> DecisionResult:
        """Evaluate a decision, a decision service or a BKM (by id or name).

        A decision is evaluated with its required decisions first; a decision service with
        ``context`` giving its input data and input decisions by name; a business knowledge
        model with ``context`` giving its parameters by name.

        Args:
            key: id or name.
            context: input values by name (Python values; ints/floats become Decimal).
            strict: raise DecisionError when a hit policy is violated (UNIQUE with several
                matching rules, ANY with differing outputs) or a decision has no logic. With
                ``strict=False`` the decision yields null and the problem is in ``errors``.
            limits: the evaluation budget (default: the configured one).
            imported_inputs: input values of imported models, by namespace then name.

        Raises:
            NotFoundError: nothing with that id or name.
            DecisionError: a hit-policy violation (strict mode), or a function or knowledge
                model that calls itself without end.
            EvaluationLimitError: the evaluation went past its budget.
        """
        from engine.dmn.evaluation import Evaluation

        target = self.invocable(key)
        evaluation = Evaluation(self, context or {}, strict, limits, imported_inputs or {})
        try:
            if isinstance(target, DecisionService):
                return evaluation.service_result(target)
            if isinstance(target, BusinessKnowledgeModel):
                return evaluation.knowledge_result(target, context or {})
            return evaluation.result_of(target)
        except RecursionError:
            raise DecisionError(f"{target.name!r}: recursion too deep (a function or "
                                "knowledge model that never stops calling itself?)") from None
