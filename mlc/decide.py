"""``mlc decide FILE [--decision ID] -v name=value ... [--json]``: evaluate a DMN decision,
decision service or business knowledge model, within the configured evaluation budget."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from engine.budget import EvaluationLimits
from engine.dmn import DecisionResult, DmnDefinitions, load_dmn, load_dmn_files
from engine.dmn.explain import explain, trace
from engine.dmn.inputs import input_problems
from engine.errors import MlcError, ValidationError
from engine.feel import FeelError, compile_expression
from engine.feel.builtins import feel_string


def parse_assignment(text: str) -> tuple[str, Any]:
    """``name=value``: the value is read as a FEEL literal when it is one, else as a string.

    ``score=0.93`` -> Decimal, ``env="prod"`` -> "prod", ``ok=true`` -> True,
    ``day=date("2026-01-01")`` -> a date, ``env=prod`` -> "prod".
    """
    if "=" not in text:
        raise click.BadParameter(f"{text!r} is not name=value", param_hint="-v")
    name, raw = text.split("=", 1)
    name = name.strip()
    if not name:
        raise click.BadParameter(f"{text!r} has no name", param_hint="-v")
    try:
        errors: list[str] = []
        value = compile_expression(raw).evaluate({}, errors)
        if errors or (value is None and raw.strip() != "null"):
            return name, raw
        return name, value
    except FeelError:
        return name, raw


def _plain(value: Any) -> Any:
    """A JSON-ready value: numbers stay numbers, any other non-JSON value (temporals,
    ranges, functions) becomes its FEEL string."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return feel_string(value)


def _cell(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    return feel_string(value) or str(value)


def _table(result: DecisionResult) -> str:
    rows = result.rows
    columns = ["rule"] + list(dict.fromkeys(k for row in rows for k in row))
    refs = [str(r) for r in result.matched_rules] if result.is_table else ["-"]
    lines = [[ref if i < len(refs) else "(default)"] + [_cell(row.get(c)) for c in columns[1:]]
             for i, (ref, row) in enumerate(zip(refs + ["(default)"] * len(rows), rows))]
    widths = [max(len(c), *(len(line[i]) for line in lines)) if lines else len(c)
              for i, c in enumerate(columns)]
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(line, widths)) for line in lines]
    if not lines:
        out.append("(no rule matched)")
    return "\n".join(out)


@click.command("decide")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--decision", "decision_id", help="Id or name of a decision, decision service "
              "or business knowledge model (default: the only decision, or the one no other "
              "decision requires).")
@click.option("-v", "--var", "variables", multiple=True, metavar="NAME=VALUE",
              help="An input value; read as a FEEL literal (0.8, \"x\", true, "
                   "date(\"2026-01-01\")) when it is one, else as a string.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def decide(file: Path, decision_id: str | None, variables: tuple[str, ...],
           as_json: bool) -> None:
    """Evaluate a decision of a DMN FILE and print its result table and matched rules.

    A file that imports other models is read with the other .dmn files of its folder. Every
    input a decision reads must be given, of its type and among its allowed values (the DMN's
    typeRef, item definitions and input values); otherwise nothing is evaluated and the
    command exits 1 naming the inputs."""
    context = dict(parse_assignment(v) for v in variables)
    definitions = _load(file)
    target = decision_id or _default_decision(definitions)
    problems = input_problems(definitions, target, context)
    if problems:
        raise ValidationError("; ".join(problems))
    result = definitions.evaluate(target, context, limits=_limits())
    traces = trace(definitions, target, context)
    why = explain(traces, result.matched_rules)
    if as_json:
        out = {"decision": result.decision_id, "name": result.decision_name,
               "result": _plain(result.result), "matched_rules": result.matched_rules,
               "value": _plain(result.value), "errors": result.errors, "why": why,
               "rules": [t.to_dict() for t in traces]}
        if result.outputs:
            out["outputs"] = _plain(result.outputs)
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(f"decision {result.decision_name} ({result.decision_id})")
    click.echo(_table(result))
    for line in why:
        click.echo(line)
    for error in result.errors:
        click.echo(f"warning: {error}", err=True)


def _load(file: Path) -> DmnDefinitions:
    data = file.read_bytes()
    if b"<import" not in data and b":import" not in data:
        return load_dmn(data, str(file))
    siblings = [(str(p), p.read_bytes()) for p in sorted(file.parent.glob("*.dmn"))]
    return load_dmn_files(siblings)[str(file)]


def _limits() -> EvaluationLimits:
    """The configured evaluation budget (MLC_EVAL_*), read as every command reads settings."""
    from mlc.cli import LazyApplication
    from mlc.settings import Settings

    root = click.get_current_context().find_root().obj
    settings = root.read_settings() if isinstance(root, LazyApplication) else Settings.from_env()
    return settings.evaluation_limits()


def _default_decision(definitions: DmnDefinitions) -> str:
    """The only decision, or the single top decision that no other decision requires."""
    decisions = definitions.decisions
    required = {r for d in decisions.values() for r in d.required_decisions}
    tops = [d for d in decisions if d not in required]
    if len(decisions) == 1 or len(tops) == 1:
        return (list(decisions) if len(decisions) == 1 else tops)[0]
    raise MlcError(f"{definitions.filename} has {len(decisions)} decisions; choose one with "
                   f"--decision ({', '.join(sorted(decisions))})")
