"""Loading DMN files: namespaces, requirements, BKMs, located load errors, safe XML."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from engine.dmn import DMN_NAMESPACES, MAX_DMN_BYTES, load_dmn
from engine.errors import DecisionError, NotFoundError, ValidationError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dmn"
D = Decimal


def approval():
    return load_dmn((FIXTURES / "approval.dmn").read_bytes(), "approval.dmn")


def test_camunda_modeler_file_with_several_decisions():
    defs = approval()
    assert defs.id == "model_approval" and defs.name == "Model approval"
    assert set(defs.decisions) == {"approve", "risk_band", "checks_failed"}
    assert defs.decisions["approve"].name == "Approve model"


def test_required_decision_is_evaluated_first():
    defs = approval()
    ok = defs.evaluate("approve", {"Test Score": 0.9, "environment": "prod", "drift": 0.1})
    assert ok.result == [{"approved": True, "reason": "score 0.9 in prod"}]
    assert ok.matched_rules == ["r_high_prod"]
    risky = defs.evaluate("Approve model", {"Test Score": 0.9, "environment": "prod",
                                            "drift": 0.5})
    assert risky.matched_rules == ["r_other"]  # "high" risk band blocks rule 1


def test_camunda_input_variable_names_the_cell_input():
    defs = approval()
    review = defs.evaluate("approve", {"Test Score": 0.7, "environment": "uat", "drift": 0})
    dev = defs.evaluate("approve", {"Test Score": 0.7, "environment": "dev", "drift": 0})
    assert review.matched_rules == ["r_mid"] and dev.matched_rules == ["r_other"]


def test_literal_expression_decision():
    result = approval().evaluate("risk_band", {"drift": None})
    assert result.result == "unknown" and not result.is_table
    assert result.rows == [{"Risk band": "unknown"}]


def test_unknown_decision():
    with pytest.raises(NotFoundError):
        approval().evaluate("nope", {})


def _literal_file(namespace: str, text: str = "1 + 1") -> str:
    return (f'<definitions xmlns="{namespace}" id="x" name="x" namespace="n">'
            f'<decision id="d" name="d"><literalExpression><text>{text}</text>'
            "</literalExpression></decision></definitions>")


@pytest.mark.parametrize("namespace", sorted(DMN_NAMESPACES))
def test_every_dmn_version_loads(namespace):
    assert load_dmn(_literal_file(namespace)).evaluate("d", {}).result == D(2)


def test_unknown_namespace_is_refused():
    with pytest.raises(ValidationError, match="not a DMN"):
        load_dmn(_literal_file("http://example.com/not-dmn"))


def test_bad_cell_names_file_line_rule_and_column():
    text = (FIXTURES / "approval.dmn").read_text()
    broken = text.replace("<text>[0.6..0.8[</text>", "<text>[0.6..</text>")
    with pytest.raises(ValidationError) as caught:
        load_dmn(broken, "broken.dmn")
    problem = caught.value.problems[0]
    expected_line = next(i for i, line in enumerate(broken.splitlines(), 1)
                         if "[0.6..</text>" in line)
    assert problem.file == "broken.dmn" and problem.line == expected_line
    assert problem.element_id == "r_mid"
    assert "input column 1" in problem.message and "column" in problem.message


def test_malformed_xml_names_the_line():
    with pytest.raises(ValidationError) as caught:
        load_dmn("<definitions>\n<decision>\n</definitions>", "bad.dmn")
    assert caught.value.problems[0].line is not None


def test_missing_requirement_and_cycles_are_load_errors():
    ns = "https://www.omg.org/spec/DMN/20191111/MODEL/"
    cyclic = (f'<definitions xmlns="{ns}" id="x" name="x" namespace="n">'
              '<decision id="a" name="a"><informationRequirement><requiredDecision href="#b"/>'
              "</informationRequirement><literalExpression><text>b</text></literalExpression>"
              '</decision><decision id="b" name="b"><informationRequirement>'
              '<requiredDecision href="#a"/></informationRequirement><literalExpression>'
              "<text>a</text></literalExpression></decision></definitions>")
    with pytest.raises(ValidationError, match="cycle"):
        load_dmn(cyclic)
    with pytest.raises(ValidationError, match="unknown decision"):
        load_dmn(cyclic.replace('href="#a"', 'href="#zzz"'))


def test_business_knowledge_model_invocation():
    ns = "https://www.omg.org/spec/DMN/20191111/MODEL/"
    xml = (f'<definitions xmlns="{ns}" id="x" name="x" namespace="n">'
           '<decision id="d" name="d"><knowledgeRequirement><requiredKnowledge href="#b"/>'
           "</knowledgeRequirement><literalExpression><text>Double(n) + 1</text>"
           '</literalExpression></decision><businessKnowledgeModel id="b" name="Double">'
           '<encapsulatedLogic><formalParameter name="v" typeRef="number"/>'
           "<literalExpression><text>v * 2</text></literalExpression></encapsulatedLogic>"
           "</businessKnowledgeModel></definitions>")
    assert load_dmn(xml).evaluate("d", {"n": 4}).result == D(9)


def test_endless_recursion_is_a_decision_error():
    ns = "https://www.omg.org/spec/DMN/20191111/MODEL/"
    xml = (f'<definitions xmlns="{ns}" id="x" name="x" namespace="n">'
           '<decision id="d" name="d"><knowledgeRequirement><requiredKnowledge href="#b"/>'
           "</knowledgeRequirement><literalExpression><text>Loop(1)</text>"
           '</literalExpression></decision><businessKnowledgeModel id="b" name="Loop">'
           '<encapsulatedLogic><formalParameter name="v"/>'
           "<literalExpression><text>Loop(v)</text></literalExpression></encapsulatedLogic>"
           "</businessKnowledgeModel></definitions>")
    with pytest.raises(DecisionError, match="recursion too deep"):
        load_dmn(xml).evaluate("d")


def test_allowed_values_of_input_data_are_checked():
    ns = "https://www.omg.org/spec/DMN/20191111/MODEL/"
    xml = (f'<definitions xmlns="{ns}" id="x" name="x" namespace="n">'
           '<itemDefinition name="tEnv"><typeRef>string</typeRef><allowedValues>'
           '<text>"prod","dev"</text></allowedValues></itemDefinition>'
           '<inputData id="i" name="env"><variable name="env" typeRef="tEnv"/></inputData>'
           '<decision id="d" name="d"><informationRequirement><requiredInput href="#i"/>'
           '</informationRequirement><literalExpression><text>"in " + env</text>'
           "</literalExpression></decision></definitions>")
    defs = load_dmn(xml)
    assert defs.evaluate("d", {"env": "prod"}).result == "in prod"
    wrong = defs.evaluate("d", {"env": "staging"})
    assert wrong.result is None and "allowed values" in wrong.errors[0]


def test_xxe_entity_is_not_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    ns = "https://www.omg.org/spec/DMN/20191111/MODEL/"
    xml = (f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{secret}">]>'
           f'<definitions xmlns="{ns}" id="x" name="x" namespace="n">'
           '<decision id="d" name="d"><literalExpression><text>"&xxe;"</text>'
           "</literalExpression></decision></definitions>")
    try:
        result = load_dmn(xml).evaluate("d", {}).result
    except ValidationError:
        return  # refusing the file outright is just as safe
    assert "TOP-SECRET" not in str(result)


def test_oversized_file_is_refused():
    padding = "<!--" + "x" * (MAX_DMN_BYTES + 10) + "-->"
    with pytest.raises(ValidationError, match="more than the limit"):
        load_dmn(_literal_file(sorted(DMN_NAMESPACES)[0]) + padding, "big.dmn")


def test_loading_is_cached_by_content():
    text = (FIXTURES / "approval.dmn").read_bytes()
    assert load_dmn(text, "a.dmn") is load_dmn(text, "a.dmn")
