"""DMN evaluation speed: our FEEL engine vs SpiffWorkflow's DMN engine, same table, same run;
what the evaluation budget costs; and the DMN TCK compliance levels (cases passed, time).

The table has 20 rules and 4 inputs (score, latency, drift, environment). Ours is written
in FEEL with hit policy FIRST; SpiffWorkflow's copy uses Python-syntax cells and UNIQUE
(the policies it implements). Rules do not overlap, so first match == unique match and both
engines must give identical answers, which the benchmark checks before timing.

The budget's cost is measured against the same code with a meter that counts nothing
(swapped in for the run), on the table and on a loop of 1,000 FEEL iterations.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from lxml import etree

from engine.dmn import evaluation as dmn_evaluation
from engine.dmn import load_dmn
from engine.feel import compile_expression
from engine.feel import scope as feel_scope

DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"
RULES = 20
TARGET_RATIO = 10.0


def _table(cells: Callable[[int], list[str]], hit_policy: str) -> str:
    inputs = "".join(
        f'<input id="in_{n}" label="{n}"><inputExpression id="ie_{n}" typeRef="{t}">'
        f"<text>{n}</text></inputExpression></input>"
        for n, t in (("score", "number"), ("latency", "number"), ("drift", "number"),
                     ("environment", "string")))
    rules = "".join(
        f'<rule id="rule_{i}">'
        + "".join(f'<inputEntry id="e_{i}_{c}"><text>{_xml(text)}</text></inputEntry>'
                  for c, text in enumerate(cells(i)))
        + f'<outputEntry id="o_{i}"><text>"band {i}"</text></outputEntry></rule>'
        for i in range(RULES))
    return (f'<definitions xmlns="{DMN13}" id="bench" name="bench" namespace="bench">'
            f'<decision id="band" name="band"><decisionTable id="t" hitPolicy="{hit_policy}">'
            f'{inputs}<output id="out" name="band" typeRef="string"/>{rules}'
            "</decisionTable></decision></definitions>")


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _feel_cells(i: int) -> list[str]:
    return [f"[{i * 5}..{i * 5 + 5}[", "< 500", "<= 0.5", '"prod","uat"']


def _python_cells(i: int) -> list[str]:
    return [f"{i * 5} <= ? < {i * 5 + 5}", "< 500", "<= 0.5", '? in ("prod", "uat")']


def _contexts() -> list[dict[str, Any]]:
    return [{"score": (k * 7) % 100, "latency": 120 + k, "drift": 0.2,
             "environment": ("prod", "uat")[k % 2]} for k in range(100)]


def _ours() -> Callable[[dict[str, Any]], Any]:
    definitions = load_dmn(_table(_feel_cells, "FIRST"), "bench.dmn")
    return lambda ctx: definitions.evaluate("band", ctx).value


def _spiff() -> Callable[[dict[str, Any]], Any]:
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
    from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
    from SpiffWorkflow.dmn.parser.DMNParser import DMNParser

    root = etree.fromstring(_table(_python_cells, "UNIQUE").encode())
    parser = DMNParser(None, root, {"dmn": DMN13}, filename="bench.dmn")
    parser.parse()
    engine = DMNEngine(parser.decision.decisionTables[0])
    workflow = SimpleNamespace(script_engine=PythonScriptEngine())

    def evaluate(ctx: dict[str, Any]) -> Any:
        task = SimpleNamespace(data=dict(ctx), workflow=workflow)
        return engine.result(task).get("band")

    return evaluate


def _rates(engines: list[Callable[[dict[str, Any]], Any]], contexts: list[dict[str, Any]],
           seconds: float) -> list[float]:
    """Evaluations per second of each engine, best of three rounds of about ``seconds``;
    the engines' rounds alternate, so that load from elsewhere on the machine hits all."""
    best = [0.0] * len(engines)
    for _ in range(3):
        for index, evaluate in enumerate(engines):
            best[index] = max(best[index], _once(evaluate, contexts, seconds))
    return best


def _once(evaluate: Callable[[dict[str, Any]], Any], contexts: list[dict[str, Any]],
          seconds: float) -> float:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for ctx in contexts:
            evaluate(ctx)
        count += len(contexts)
    return count / (time.perf_counter() - start)


class _UncountedMeter:
    """A meter that checks nothing: the baseline of what the budget costs."""

    def __init__(self, limits: Any = None) -> None:
        pass

    def step(self, count: int = 1) -> None:
        pass

    def size(self, count: int, what: str) -> None:
        pass


def _without_budget(measure: Callable[[], float]) -> float:
    real = dmn_evaluation.Meter, feel_scope.Meter
    dmn_evaluation.Meter = feel_scope.Meter = _UncountedMeter  # type: ignore[misc]
    try:
        return measure()
    finally:
        dmn_evaluation.Meter, feel_scope.Meter = real


def _budget_cost(ours: Callable[[dict[str, Any]], Any], contexts: list[dict[str, Any]],
                 pairs: int = 21) -> list[tuple[str, float, float, float]]:
    """(what, with budget/s, without/s, median cost) for the table and a FEEL loop.

    Short rounds with and without the budget alternate, so that load from elsewhere on the
    machine hits both alike; the cost is the median of the pairs' ratios."""
    loop = compile_expression("sum(for i in 1..1000 return i * 2)")
    cases = [("20-rule table", lambda: _once(ours, contexts, 0.2)),
             ("1,000-iteration `for` loop",
              lambda: _once(lambda ctx: loop.evaluate(ctx), contexts[:1], 0.2))]
    rows = []
    for label, measure in cases:
        counted, uncounted = [], []
        for _ in range(pairs):
            counted.append(measure())
            uncounted.append(_without_budget(measure))
        costs = sorted(1 - c / u for c, u in zip(counted, uncounted))
        rows.append((label, max(counted), max(uncounted), costs[len(costs) // 2]))
    return rows


def _tck_section() -> str:
    try:
        from tests.tck.run import run_level
        from tests.tck.tck_cases import LEVELS
    except ImportError:  # pragma: no cover - benchmarks run from the source tree
        return ""
    lines = []
    for level in LEVELS:
        passed, total, elapsed, _ = run_level(level)
        if total:
            print(f"DMN TCK level {level}: {passed} of {total} cases pass, {elapsed:.1f} s")
            lines.append(f"| {level} | {passed:,} of {total:,} | {elapsed:.1f} s |")
    if not lines:
        return ""
    return ("\n### DMN TCK compliance\n\n"
            "Every test case of `../shared/dmn-tck`, counted as the TCK counts (one `testCase` = "
            "one case, passing when all its result nodes match; an error result expects null); "
            "time for the whole level, models loaded and compiled included "
            "(`python -m tests.tck.run`).\n\n"
            "| level | cases passed | time |\n|---|---:|---:|\n" + "\n".join(lines) + "\n")


def run(seconds: float = 1.0) -> str:
    contexts = _contexts()
    ours, spiff = _ours(), _spiff()
    for ctx in contexts:  # same answers, or the comparison means nothing
        mine, theirs = ours(ctx), spiff(ctx)
        if mine != theirs:
            raise AssertionError(f"engines disagree on {ctx}: {mine!r} vs {theirs!r}")
    our_rate, spiff_rate = _rates([ours, spiff], contexts, seconds)
    ratio = our_rate / spiff_rate
    verdict = "meets" if ratio >= TARGET_RATIO else "misses"
    print(f"engine.dmn (FEEL, FIRST):            {our_rate:12,.0f} evaluations/s")
    print(f"SpiffWorkflow DMN (Python, UNIQUE):  {spiff_rate:12,.0f} evaluations/s")
    print(f"ratio: {ratio:.1f}x ({verdict} the {TARGET_RATIO:.0f}x target)")
    budget_rows = _budget_cost(ours, contexts)
    for label, counted, uncounted, cost in budget_rows:
        print(f"budget cost, {label}: {counted:,.0f}/s with, {uncounted:,.0f}/s without "
              f"(median cost {cost:+.1%})")
    budget = ("\n### What the evaluation budget costs\n\n"
              "Evaluations/s with the budget (steps, time and sizes counted) and with a meter "
              "that counts nothing, in 21 pairs of 0.2 s rounds alternating in the same "
              "process (best rate of each; cost = median of the pairs' ratios).\n\n"
              "| evaluation | with budget | without | cost |\n|---|---:|---:|---:|\n"
              + "".join(f"| {label} | {counted:,.0f} | {uncounted:,.0f} | {cost:+.1%} |\n"
                        for label, counted, uncounted, cost in budget_rows))
    return (
        "## DMN decision table evaluation\n\n"
        f"A {RULES}-rule, 4-input decision table (numeric range, two comparisons, a string "
        "list), 100 input rows cycled, best of 3 rounds of 1 s alternating between the "
        "engines; both engines checked to give the same answers first.\n\n"
        "| engine | table | evaluations/s |\n|---|---|---:|\n"
        f"| engine.dmn (FEEL) | FIRST | {our_rate:,.0f} |\n"
        f"| SpiffWorkflow DMN (Python cells) | UNIQUE | {spiff_rate:,.0f} |\n\n"
        f"Ratio: **{ratio:.1f}x** (target >= {TARGET_RATIO:.0f}x: {verdict}).\n"
        + budget + _tck_section())


if __name__ == "__main__":
    run()
