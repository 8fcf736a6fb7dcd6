"""Why a decision table decided as it did: for each rule, the input entries that held and
those that did not, and a short account of the rule that decided (for ``mlc decide``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.dmn.definitions import DmnDefinitions
from engine.dmn.model import Decision, DecisionTable
from engine.feel import Scope, to_feel
from engine.feel.builtins import feel_string


def shown(value: Any) -> str:
    """A value as FEEL writes it (strings quoted), for messages."""
    if value is None:
        return "null"
    return f'"{value}"' if isinstance(value, str) else feel_string(value) or "null"


@dataclass(frozen=True)
class EntryCheck:
    """One non-wildcard input entry of a rule, against the value the input had."""

    label: str
    value: Any
    test: str
    held: bool

    def __str__(self) -> str:
        verb = "is" if self.held else "is not"
        return f"{self.label} {shown(self.value)} {verb} {self.test}"


@dataclass(frozen=True)
class RuleTrace:
    """A rule of a table: its place (1-based), whether it matched, and its entries."""

    ref: str | int
    row: int
    matched: bool
    checks: tuple[EntryCheck, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.ref, "row": self.row, "matched": self.matched,
                "entries": [{"input": c.label, "value": _plain(c.value), "test": c.test,
                             "held": c.held} for c in self.checks]}


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, bool)) else feel_string(value)


def trace(definitions: DmnDefinitions, key: str, context: Mapping[str, Any]
          ) -> list[RuleTrace]:
    """Every rule of decision ``key``'s table with the entries that held and those that did
    not (empty for a literal expression). Required decisions are evaluated first."""
    decision = definitions.invocable(key)
    table = getattr(decision, "logic", None)
    if not isinstance(decision, Decision) or not isinstance(table, DecisionTable):
        return []
    variables = {str(k): to_feel(v) for k, v in context.items()}
    for required in decision.required_decisions:
        dependency = definitions.decisions[required]
        variables[dependency.name] = to_feel(definitions.evaluate(dependency.id, context).value)
    scope = Scope(variables, errors=[])
    values = [clause.expression.evaluate_in(scope) for clause in table.inputs]
    cells = [scope.child({clause.input_variable: value})
             for clause, value in zip(table.inputs, values)]
    traces = []
    for row, rule in enumerate(table.rules, start=1):
        checks = tuple(
            EntryCheck(clause.label or clause.expression.source.strip(), value,
                       test.source.strip(), test.test(value, cell) is True)
            for clause, test, value, cell in zip(table.inputs, rule.inputs, values, cells)
            if not test.is_wildcard)
        traces.append(RuleTrace(rule.ref, row, all(c.held for c in checks), checks))
    return traces


def explain(traces: list[RuleTrace], matched: list[str | int]) -> list[str]:
    """Why the table decided as it did, in a few lines a reviewer can read.

    For each matched rule: the entries it held on. Then the near misses: earlier rules that
    test the same inputs the matched rule tests, hold on all of them, and failed elsewhere
    (with FIRST, the "passes" row of the same stage that the failing row came after).
    """
    lines = []
    by_ref = {t.ref: t for t in traces}
    for ref in matched:
        hit = by_ref.get(ref)
        if hit is None:
            continue
        held = "; ".join(str(c) for c in hit.checks) or "every entry is '-'"
        lines.append(f"rule {hit.ref} (row {hit.row}) decided: {held}")
        tested = {c.label for c in hit.checks}
        for earlier in traces[:hit.row - 1]:
            same_case = [c for c in earlier.checks if c.label in tested]
            failed = [c for c in earlier.checks if not c.held]
            if same_case and all(c.held for c in same_case) and failed:
                lines.append(f"rule {earlier.ref} (row {earlier.row}) did not match: "
                             + "; ".join(str(c) for c in failed))
    return lines
