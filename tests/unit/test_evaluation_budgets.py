"""Evaluation budgets (engine.budget): FEEL and JUEL stop with EvaluationLimitError (a 4xx)
instead of running or growing without end. Limits are set small so that each test is exact."""

from __future__ import annotations

import pytest

from engine import budget
from engine.budget import EvaluationLimits, Meter
from engine.dmn import load_dmn
from engine.errors import EvaluationLimitError, MlcError
from engine.expressions import compile_expression as compile_juel
from engine.expressions import compile_template
from engine.feel import compile_expression
from mlc.settings import Settings

SMALL = EvaluationLimits(max_steps=1_000, max_items=500, max_seconds=30)


def feel(text: str, limits: EvaluationLimits = SMALL):
    return compile_expression(text).evaluate({}, limits=limits)


def test_the_error_is_a_client_error_of_the_one_hierarchy():
    assert issubclass(EvaluationLimitError, MlcError) and 400 <= EvaluationLimitError.status < 500


def test_a_huge_range_is_refused_before_it_is_expanded():
    with pytest.raises(EvaluationLimitError, match="range to iterate over of 100,000,000"):
        feel("for i in 1..100000000 return i", EvaluationLimits())


@pytest.mark.parametrize("text", [
    "count(for i in 1..100, j in 1..100 return i)",
    "some i in 1..400, j in 1..400 satisfies false",
    "count(for i in 1..400 return for j in 1..400 return j)",
    "count((for i in 1..400 return i)[item > 0][item > 0][item > 0])",
])
def test_steps_are_counted_in_loops(text):
    with pytest.raises(EvaluationLimitError, match="after 1,000 steps"):
        feel(text)


def test_function_calls_are_steps():
    assert feel("{f: function(n) if n = 0 then 0 else 1 + f(n - 1), r: f(60)}.r") == 60
    text = "{f: function(n) if n = 0 then 0 else 1 + f(n - 1), r: [f(60), f(60)]}.r"
    with pytest.raises(EvaluationLimitError, match="steps"):
        feel(text, EvaluationLimits(max_steps=100))


def test_strings_that_double_are_stopped():
    text = '{f: function(s) f(s + s), r: f("abcdefgh")}.r'
    with pytest.raises(EvaluationLimitError, match="a string"):
        feel(text, EvaluationLimits(max_items=100_000))


def test_lists_that_double_are_stopped():
    text = "{f: function(l) f(concatenate(l, l)), r: f([1, 2, 3])}.r"
    with pytest.raises(EvaluationLimitError, match="a list"):
        feel(text, EvaluationLimits(max_items=10_000))


def test_quadratic_builtins_count_their_comparisons():
    with pytest.raises(EvaluationLimitError, match="steps"):
        feel("distinct values(for i in 1..200 return i)", EvaluationLimits(max_steps=5_000))


def test_the_total_built_is_bounded_too():
    meter = Meter(EvaluationLimits(max_items=100))
    for _ in range(10):
        meter.size(100, "a list")
    with pytest.raises(EvaluationLimitError, match="in all"):
        meter.size(1, "a list")


def test_a_backtracking_pattern_runs_out_of_time():
    with pytest.raises(EvaluationLimitError, match="regular expression"):
        feel('matches("' + "a" * 60 + 'b", "(a|aa)+$")', EvaluationLimits(max_seconds=0.05))


def test_work_within_the_budget_is_not_disturbed():
    assert len(feel("for i in 1..400 return i")) == 400


def test_decisions_take_the_limits_given_or_the_configured_ones():
    xml = ('<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" namespace="n">'
           '<decision id="d" name="d"><literalExpression><text>for i in 1..n return i</text>'
           "</literalExpression></decision></definitions>")
    definitions = load_dmn(xml)
    with pytest.raises(EvaluationLimitError):
        definitions.evaluate("d", {"n": 2_000}, limits=SMALL)
    before = budget.current_limits()
    budget.configure(SMALL)
    try:
        with pytest.raises(EvaluationLimitError):
            definitions.evaluate("d", {"n": 2_000})
    finally:
        budget.configure(before)
    assert len(definitions.evaluate("d", {"n": 2_000}).value) == 2_000


def test_juel_products_of_huge_integers_are_refused_before_they_are_computed():
    expression = compile_juel("${x * x * x * x}", element_id="Flow_1")
    before = budget.current_limits()
    budget.configure(EvaluationLimits(max_items=5_000))
    try:
        with pytest.raises(EvaluationLimitError, match="Flow_1"):
            expression.evaluate({"x": 10 ** 2_000})
        assert expression.evaluate({"x": 10 ** 10}) == 10 ** 40
    finally:
        budget.configure(before)


def test_juel_templates_of_huge_strings_are_refused():
    template = compile_template("${a}${a}${a}${a}${a}${a}${a}${a}${a}", element_id="Task_1")
    before = budget.current_limits()
    budget.configure(EvaluationLimits(max_items=100_000))
    try:
        with pytest.raises(EvaluationLimitError, match="a string"):
            template.evaluate({"a": "x" * 20_000})
        assert len(template.evaluate({"a": "x" * 1_000})) == 9_000
    finally:
        budget.configure(before)


def test_settings_read_the_limits_from_the_environment():
    settings = Settings.from_env({"MLC_EVAL_MAX_STEPS": "500", "MLC_EVAL_MAX_ITEMS": "20",
                                  "MLC_EVAL_MAX_SECONDS": "0.5"}, toml_path="/nonexistent")
    assert settings.evaluation_limits() == EvaluationLimits(500, 20, 0.5)
    for bad in ({"MLC_EVAL_MAX_STEPS": "many"}, {"MLC_EVAL_MAX_SECONDS": "0"}):
        with pytest.raises(MlcError, match="MLC_EVAL_MAX"):
            Settings.from_env(bad, toml_path="/nonexistent")
