"""What a decision asks of its caller, checked before it runs.

A decision evaluated with a missing or mistyped input does not fail: FEEL turns the problem
into null and some catch-all rule decides. That is right inside a process (missing test
results must reject a model) but wrong for a person trying a table by hand, who needs to hear
which input is missing or invalid. :func:`input_problems` says so from the DMN itself: the
input data and table inputs, their ``typeRef`` (or item definition) and their allowed values
(``inputValues``). :mod:`engine.dmn.explain` then says which rule decided.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.dmn.definitions import DmnDefinitions
from engine.dmn.explain import shown
from engine.dmn.model import Decision, DecisionTable
from engine.dmn.types import conform
from engine.feel import Scope, UnaryTests, to_feel

_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class DecisionInput:
    """A value the caller supplies: its variable name, label, type and allowed values."""

    name: str
    label: str
    type_ref: str | None = None
    allowed_values: UnaryTests | None = None

    @property
    def title(self) -> str:
        return self.name if self.label in ("", self.name) else f"{self.name} ({self.label})"


def _requirements(definitions: DmnDefinitions, decision: Decision) -> list[Decision]:
    """The decision and every decision it requires, each once."""
    seen: dict[str, Decision] = {}
    pending = [decision]
    while pending:
        current = pending.pop()
        if current.id in seen:
            continue
        seen[current.id] = current
        pending += [definitions.decisions[r] for r in current.required_decisions
                    if r in definitions.decisions]
    return list(seen.values())


def decision_inputs(definitions: DmnDefinitions, key: str) -> list[DecisionInput]:
    """The values decision ``key`` (and what it requires) reads from the caller.

    Input data elements count, and so do decision-table inputs whose expression is a plain
    variable name that is not another decision or knowledge model of the file. Decision
    services and knowledge models take their inputs by name, as their signature says: none
    are listed for them.
    """
    target = definitions.invocable(key)
    if not isinstance(target, Decision):
        return []
    decisions = _requirements(definitions, target)
    internal = {d.name for d in definitions.decisions.values()}
    internal |= {k.name for k in definitions.knowledge.values()}
    found: dict[str, DecisionInput] = {}
    for decision in decisions:
        for input_id in decision.required_inputs:
            data = definitions.inputs.get(input_id)
            if data is not None and data.name not in found:
                found[data.name] = DecisionInput(data.name, data.name, data.type_ref)
        if not isinstance(decision.logic, DecisionTable):
            continue
        for clause in decision.logic.inputs:
            name = clause.expression.source.strip()
            if not _PLAIN_NAME.match(name) or name in internal:
                continue
            known = found.get(name)
            found[name] = DecisionInput(
                name, clause.label or name, clause.type_ref or (known.type_ref if known else None),
                clause.allowed_values or (known.allowed_values if known else None))
    return list(found.values())


def input_problems(definitions: DmnDefinitions, key: str,
                   context: Mapping[str, Any]) -> list[str]:
    """One line per missing input, per value of the wrong type and per value not allowed.

    An input given as null is accepted: null is a value a table may test for.
    """
    problems: list[str] = []
    for wanted in decision_inputs(definitions, key):
        if wanted.name not in context:
            problems.append(f"input {wanted.title} is missing")
            continue
        value = to_feel(context[wanted.name])
        if value is None:
            continue
        errors: list[str] = []
        conform(value, wanted.type_ref, definitions.types, errors,
                f"input {wanted.title} = {shown(value)}")
        problems += errors
        if not errors and wanted.allowed_values is not None and \
                wanted.allowed_values.test(value, Scope({})) is not True:
            problems.append(f"input {wanted.title} = {shown(value)} is not one of "
                            f"{wanted.allowed_values.source.strip()}")
    return problems
