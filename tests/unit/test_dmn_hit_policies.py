"""Decision tables: every hit policy, aggregations, multiple outputs, defaults, allowed values."""

from __future__ import annotations

from decimal import Decimal
from xml.sax.saxutils import escape

import pytest

from engine.dmn import load_dmn
from engine.errors import DecisionError

D = Decimal
DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def table_dmn(rules: list[tuple[list[str], list[str]]], hit_policy: str = "UNIQUE",
              outputs: tuple[str, ...] = ("result",), aggregation: str | None = None,
              output_values: dict[str, str] | None = None,
              defaults: dict[str, str] | None = None, input_values: str | None = None) -> str:
    """A one-input (`x`) decision table named `d`, rules as ([cells], [outputs])."""
    output_values, defaults = output_values or {}, defaults or {}
    agg = f' aggregation="{aggregation}"' if aggregation else ""
    out_xml = ""
    for name in outputs:
        values = (f"<outputValues><text>{escape(output_values[name])}</text></outputValues>"
                  if name in output_values else "")
        default = (f"<defaultOutputEntry><text>{escape(defaults[name])}</text>"
                   "</defaultOutputEntry>" if name in defaults else "")
        out_xml += f'<output id="o_{name}" name="{name}">{values}{default}</output>'
    in_values = (f"<inputValues><text>{escape(input_values)}</text></inputValues>"
                 if input_values else "")
    rule_xml = ""
    for index, (cells, results) in enumerate(rules, 1):
        rule_xml += f'<rule id="r{index}">' + "".join(
            f"<inputEntry><text>{escape(c)}</text></inputEntry>" for c in cells) + "".join(
            f"<outputEntry><text>{escape(o)}</text></outputEntry>" for o in results) + "</rule>"
    return (f'<definitions xmlns="{DMN13}" id="defs" name="t" namespace="n">'
            f'<decision id="d" name="D"><decisionTable hitPolicy="{hit_policy}"{agg}>'
            f'<input id="i_x" label="x"><inputExpression><text>x</text></inputExpression>'
            f"{in_values}</input>{out_xml}{rule_xml}</decisionTable></decision></definitions>")


def run(xml: str, x, strict: bool = True):
    return load_dmn(xml).evaluate("d", {"x": x}, strict=strict)


OVERLAP = [([">= 10"], ['"big"']), ([">= 5"], ['"medium"']), (["-"], ['"any"'])]


def test_unique_single_match():
    result = run(table_dmn([(["< 5"], ['"low"']), ([">= 5"], ['"high"'])]), 7)
    assert result.result == [{"result": "high"}]
    assert result.matched_rules == ["r2"]
    assert result.value == "high"


def test_unique_with_two_matches_is_an_error():
    xml = table_dmn(OVERLAP)
    with pytest.raises(DecisionError, match="UNIQUE"):
        run(xml, 12)
    lenient = run(xml, 12, strict=False)
    assert lenient.value is None and lenient.result == []
    assert any("UNIQUE" in e for e in lenient.errors)


def test_no_match_gives_empty_result():
    result = run(table_dmn([(["< 5"], ['"low"'])]), 7)
    assert result.result == [] and result.value is None and result.matched_rules == []


def test_first_takes_the_first_matching_rule():
    result = run(table_dmn(OVERLAP, "FIRST"), 7)
    assert result.result == [{"result": "medium"}] and result.matched_rules == ["r2"]


def test_any_with_equal_outputs():
    rules = [([">= 10"], ['"yes"']), ([">= 5"], ['"yes"']), (["< 5"], ['"no"'])]
    result = run(table_dmn(rules, "ANY"), 12)
    assert result.value == "yes"


def test_any_with_differing_outputs_is_an_error():
    with pytest.raises(DecisionError, match="ANY"):
        run(table_dmn(OVERLAP, "ANY"), 12)
    assert run(table_dmn(OVERLAP, "ANY"), 12, strict=False).value is None


def test_priority_follows_output_values_order():
    xml = table_dmn(OVERLAP, "PRIORITY",
                    output_values={"result": '"any", "medium", "big"'})
    result = run(xml, 12)
    assert result.value == "any" and result.matched_rules == ["r3"]
    xml = table_dmn(OVERLAP, "PRIORITY",
                    output_values={"result": '"medium", "big", "any"'})
    assert run(xml, 12).value == "medium"


def test_output_order_sorts_all_matches_by_priority():
    xml = table_dmn(OVERLAP, "OUTPUT ORDER",
                    output_values={"result": '"any", "medium", "big"'})
    result = run(xml, 12)
    assert result.value == ["any", "medium", "big"]
    assert result.matched_rules == ["r3", "r2", "r1"]


def test_rule_order_keeps_rule_order():
    result = run(table_dmn(OVERLAP, "RULE ORDER"), 12)
    assert result.value == ["big", "medium", "any"]
    assert result.result == [{"result": "big"}, {"result": "medium"}, {"result": "any"}]


def test_collect_without_aggregation():
    result = run(table_dmn(OVERLAP, "COLLECT"), 7)
    assert result.value == ["medium", "any"] and result.matched_rules == ["r2", "r3"]


@pytest.mark.parametrize("aggregation, expected", [
    ("SUM", D(35)), ("MIN", D(5)), ("MAX", D(20)), ("COUNT", D(3))])
def test_collect_aggregations(aggregation, expected):
    rules = [([">= 1"], ["10"]), ([">= 2"], ["20"]), ([">= 3"], ["5"]), ([">= 100"], ["7"])]
    result = run(table_dmn(rules, "COLLECT", aggregation=aggregation), 50)
    assert result.value == expected
    assert result.result == [{"result": expected}]
    assert result.matched_rules == ["r1", "r2", "r3"]


def test_collect_aggregation_without_matches():
    rules = [([">= 100"], ["7"])]
    assert run(table_dmn(rules, "COLLECT", aggregation="SUM"), 1).value is None
    assert run(table_dmn(rules, "COLLECT", aggregation="COUNT"), 1).value == D(0)


def test_multiple_outputs_make_a_context():
    rules = [(["< 5"], ['"low"', "1"]), ([">= 5"], ['"high"', "2"])]
    result = run(table_dmn(rules, outputs=("level", "code")), 9)
    assert result.result == [{"level": "high", "code": D(2)}]
    assert result.value == {"level": "high", "code": D(2)}


def test_default_output_values_when_nothing_matches():
    rules = [(["< 5"], ['"low"', "1"])]
    xml = table_dmn(rules, outputs=("level", "code"), defaults={"level": '"none"'})
    result = run(xml, 9)
    assert result.result == [{"level": "none", "code": None}]
    assert result.matched_rules == []


def test_output_not_in_output_values_is_null_and_reported():
    xml = table_dmn([(["-"], ['"maybe"'])], output_values={"result": '"yes", "no"'})
    result = run(xml, 1)
    assert result.value is None
    assert any("maybe" in e for e in result.errors)


def test_input_not_in_input_values_is_reported():
    xml = table_dmn([(["-"], ['"ok"'])], input_values='"a", "b"')
    result = run(xml, "c")
    assert any("input values" in e for e in result.errors)
    assert not run(xml, "a").errors


def test_type_mismatch_in_a_cell_does_not_match_and_is_reported():
    result = run(table_dmn([([">= 5"], ['"num"']), (['"five"'], ['"text"'])], "FIRST"),
                 "five")
    assert result.value == "text"
    assert any("string" in e and "number" in e for e in result.errors)
