"""`mlc decide`: evaluates a DMN file from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from mlc.cli import main
from mlc.decide import decide, parse_assignment

APPROVAL = str(Path(__file__).resolve().parents[1] / "fixtures" / "dmn" / "approval.dmn")


def test_values_are_feel_literals_when_they_parse():
    from decimal import Decimal

    from engine.feel import FeelDate

    assert parse_assignment("score=0.93") == ("score", Decimal("0.93"))
    assert parse_assignment('env="prod"') == ("env", "prod")
    assert parse_assignment("env=prod") == ("env", "prod")
    assert parse_assignment("ok=true") == ("ok", True)
    assert parse_assignment('day=date("2026-01-01")') == ("day", FeelDate(2026, 1, 1))


def test_prints_table_and_matched_rule():
    result = CliRunner().invoke(decide, [APPROVAL, "--decision", "approve",
                                         "-v", "Test Score=0.91", "-v", "environment=prod",
                                         "-v", "drift=0.1"])
    assert result.exit_code == 0, result.output
    assert "r_high_prod" in result.output and "score 0.91 in prod" in result.output


def test_json_output():
    result = CliRunner().invoke(decide, [APPROVAL, "--decision", "approve", "--json",
                                         "-v", "Test Score=0.5", "-v", "environment=dev",
                                         "-v", "drift=0"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["matched_rules"] == ["r_other"]
    assert data["result"] == [{"approved": False, "reason": "rejected"}]


def test_errors_exit_non_zero_with_one_line():
    # errors are turned into one line by the root ``mlc`` group, as for every command
    result = CliRunner().invoke(main, ["decide", APPROVAL, "--decision", "nope"])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "'nope'" in result.output
    assert len(result.output.strip().splitlines()) == 1
    ambiguous = CliRunner().invoke(main, ["decide", APPROVAL])
    assert ambiguous.exit_code == 1 and "--decision" in ambiguous.output


def test_json_output_of_ranges_and_functions(tmp_path):
    dmn = tmp_path / "literal.dmn"
    dmn.write_text('<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/">'
                   '<decision id="d" name="d"><literalExpression>'
                   '<text>{span: [1..2], days: duration("P1D"), f: function(x) x}</text>'
                   '</literalExpression></decision></definitions>')
    result = CliRunner().invoke(decide, [str(dmn), "--json"])
    assert result.exit_code == 0, result.output
    value = json.loads(result.output)["value"]
    assert value["days"] == "P1D"
    assert isinstance(value["span"], str) and isinstance(value["f"], str)


def test_decision_service_bkm_and_imports_from_the_command_line():
    fixtures = Path(APPROVAL).parent

    def run(*args):
        result = CliRunner().invoke(decide, [*args, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    service = run(str(fixtures / "greeter_service.dmn"), "--decision", "Greeter Service",
                  "-v", "Who=Ada", "-v", "Greeting=Hi")
    assert service["value"] == "Hi Ada" and service["outputs"] == {"Message": "Hi Ada"}
    assert run(str(fixtures / "greeter_service.dmn"), "--decision", "Twice",
               "-v", "v=4")["value"] == 8
    # user.dmn imports lib.dmn, read from the same folder
    assert run(str(fixtures / "imports" / "user.dmn"), "-v", "n=1")["value"] == 2


SHIPPED = str(Path(__file__).resolve().parents[2] / "dmn" / "classification_approval.dmn")


def _decide(*args: str):
    return CliRunner().invoke(main, ["decide", SHIPPED, *args])


def test_a_missing_input_is_an_error_naming_it():
    result = _decide("-v", "roc_auc=0.91", "-v", "f1=0.85")
    assert result.exit_code == 1
    assert result.output == "error: input STAGE (Stage) is missing\n"


def test_a_value_outside_the_input_values_is_an_error_naming_them():
    result = _decide("-v", "roc_auc=0.9", "-v", "f1=0.85", "-v", "STAGE=prod")
    assert result.exit_code == 1
    assert result.output == ('error: input STAGE (Stage) = "prod" is not one of '
                             '"DEV","SIT","UAT","PROD"\n')


def test_a_value_of_the_wrong_type_is_an_error_naming_the_input():
    result = _decide("-v", "roc_auc=abc", "-v", "f1=0.85", "-v", "STAGE=PROD")
    assert result.exit_code == 1
    assert result.output.startswith('error: input roc_auc (AUC) = "abc": ')
    assert "type number" in result.output and len(result.output.splitlines()) == 1


def test_every_bad_input_is_named_on_one_line():
    result = _decide("-v", "roc_auc=abc")
    assert result.exit_code == 1 and len(result.output.splitlines()) == 1
    assert "STAGE (Stage) is missing" in result.output and "f1 (F1) is missing" in result.output
    assert "roc_auc (AUC)" in result.output


def test_an_item_definition_types_an_input(tmp_path):
    dmn = tmp_path / "typed.dmn"
    dmn.write_text(
        '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="t" name="t" '
        'namespace="x"><itemDefinition name="tStage"><typeRef>string</typeRef>'
        '<allowedValues><text>"DEV","PROD"</text></allowedValues></itemDefinition>'
        '<inputData id="i_stage" name="stage"><variable name="stage" typeRef="tStage"/>'
        '</inputData><decision id="d" name="d"><informationRequirement>'
        '<requiredInput href="#i_stage"/></informationRequirement>'
        '<literalExpression><text>stage = "PROD"</text></literalExpression></decision>'
        '</definitions>')
    bad = CliRunner().invoke(main, ["decide", str(dmn), "-v", "stage=QA"])
    assert bad.exit_code == 1 and "input stage" in bad.output and "QA" in bad.output
    assert CliRunner().invoke(main, ["decide", str(dmn), "-v", "stage=PROD"]).exit_code == 0


def test_the_reason_comes_from_the_rule_that_decided():
    failed = _decide("--json", "-v", "roc_auc=0.91", "-v", "f1=0.5", "-v", "STAGE=PROD")
    assert failed.exit_code == 0, failed.output
    data = json.loads(failed.output)
    assert data["matched_rules"] == ["Rule_prod_below"]
    [row] = data["result"]
    assert row == {"passed": False, "reason": "below the PROD thresholds: F1 0.5 < 0.80"}
    assert data["why"] == ['rule Rule_prod_below (row 4) decided: Stage "PROD" is "PROD"',
                           "rule Rule_prod (row 3) did not match: F1 0.5 is not >= 0.80"]
    passed = _decide("-v", "roc_auc=0.912345", "-v", "f1=0.85", "-v", "STAGE=UAT")
    assert "AUC 0.912 / F1 0.85 meet the UAT thresholds (0.80 / 0.75)" in passed.output
    assert "rule Rule_uat (row 5) decided" in passed.output


def test_an_explicit_null_metric_is_judged_by_the_table():
    result = _decide("-v", "roc_auc=null", "-v", "f1=0.85", "-v", "STAGE=DEV")
    assert result.exit_code == 0, result.output
    assert "no AUC (roc_auc) in the test results" in result.output
