"""The loaded, compiled form of a DMN file. Immutable once built, so shared by threads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.feel import CompiledExpression, Scope, UnaryTests

#: A compiled boxed expression: evaluates in a scope to a FEEL value.
Node = Callable[[Scope], Any]


@dataclass(frozen=True)
class InputData:
    id: str
    name: str
    type_ref: str | None


@dataclass(frozen=True)
class InputClause:
    """A decision-table input column; ``input_variable`` names its value inside cells."""

    id: str | None
    label: str
    expression: CompiledExpression
    type_ref: str | None
    allowed_values: UnaryTests | None
    input_variable: str = "cellInput"


@dataclass(frozen=True)
class OutputClause:
    """A decision-table output column.

    ``allowed_values`` (from outputValues, or the type's allowed values) both checks outputs
    and gives the order used by the PRIORITY and OUTPUT ORDER hit policies.
    """

    id: str | None
    name: str
    type_ref: str | None
    allowed_values: UnaryTests | None = None
    default: CompiledExpression | None = None


@dataclass(frozen=True)
class Rule:
    """One row. ``ref`` is the rule's id, or its 1-based index when it has none.

    ``checks`` pairs each input column that is not ``-`` with its cell's test function.
    """

    ref: str | int
    inputs: tuple[UnaryTests, ...]
    outputs: tuple[CompiledExpression, ...]
    checks: tuple[tuple[int, Any], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "checks", tuple(
            (column, test.check) for column, test in enumerate(self.inputs)
            if not test.is_wildcard))


@dataclass(frozen=True)
class DecisionTable:
    """A decision table. ``scoped_columns`` are the input columns whose cells name variables
    (the column's input variable, ``?``): only they get a scope of their own per evaluation."""

    hit_policy: str  # UNIQUE, FIRST, PRIORITY, ANY, COLLECT, RULE ORDER, OUTPUT ORDER
    aggregation: str | None  # SUM, MIN, MAX, COUNT (COLLECT only)
    inputs: tuple[InputClause, ...]
    outputs: tuple[OutputClause, ...]
    rules: tuple[Rule, ...]
    output_label: str | None = None
    scoped_columns: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scoped_columns", frozenset(
            column for rule in self.rules for column, test in enumerate(rule.inputs)
            if test.needs_scope and not test.is_wildcard))

    @property
    def is_single_hit(self) -> bool:
        return self.hit_policy in ("UNIQUE", "FIRST", "PRIORITY", "ANY")


@dataclass(frozen=True)
class LiteralExpression:
    source: str
    expression: CompiledExpression


@dataclass(frozen=True)
class BoxedExpression:
    """Any other boxed expression (context, invocation, relation, list, conditional, filter,
    iterator, function definition), compiled to one node."""

    kind: str
    node: Node


Logic = DecisionTable | LiteralExpression | BoxedExpression


@dataclass(frozen=True)
class BusinessKnowledgeModel:
    """A reusable function (DMN BKM): parameters (name, typeRef) and a body."""

    id: str
    name: str
    parameters: tuple[tuple[str, str | None], ...]
    logic: BoxedExpression | None  # its function definition
    required_knowledge: tuple[str, ...] = ()
    result_type: str | None = None


@dataclass(frozen=True)
class DecisionService:
    """A function over part of the DRG: its inputs (input data, then input decisions) bound
    to the arguments, its output decisions' values as the result."""

    id: str
    name: str
    type_ref: str | None
    output_decisions: tuple[str, ...]
    encapsulated_decisions: tuple[str, ...]
    input_decisions: tuple[str, ...]
    input_data: tuple[str, ...]
    line: int | None = None


@dataclass(frozen=True)
class Decision:
    """A decision: its logic and what it requires (decision, input data, knowledge ids)."""

    id: str
    name: str
    type_ref: str | None
    logic: Logic | None
    required_decisions: tuple[str, ...] = ()
    required_inputs: tuple[str, ...] = ()
    required_knowledge: tuple[str, ...] = ()
    line: int | None = None

    @property
    def is_table(self) -> bool:
        return isinstance(self.logic, DecisionTable)


@dataclass(frozen=True)
class Import:
    """``<import name="prefix" namespace="...">``: another model's elements as ``prefix.x``."""

    name: str
    namespace: str


@dataclass
class DecisionResult:
    """The outcome of evaluating one decision (or decision service, or BKM).

    Attributes:
        decision_id / decision_name: which decision.
        result: for a decision table, the list of output-entry maps (one dict per matched
            rule, or one aggregated/default row); otherwise the value.
        matched_rules: ids of matched rules (1-based indexes for rules without an id).
        errors: runtime problems that yielded null (type mismatches, allowed-values
            violations, hit-policy violations when evaluated non-strictly).
        value: the decision's value as DMN defines it (single output -> the value,
            several outputs -> a dict, multi-hit -> a list); what dependent decisions see.
        output_name: the name a literal expression's value goes under in Camunda's
            result shape (the decision's variable name).
        outputs: for a decision service, the value of each output decision by name.
    """

    decision_id: str
    decision_name: str
    result: Any
    matched_rules: list[str | int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    value: Any = None
    output_name: str = ""
    is_table: bool = False
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The result as Camunda's list of entry maps (a literal becomes one 1-entry row)."""
        if self.is_table:
            return list(self.result)
        return [{self.output_name: self.result}]
