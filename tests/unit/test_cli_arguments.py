"""``mlc`` argument handling: typed ``-v NAME=VALUE`` values, and bad input that ends in a
non-zero exit with a one-line reason instead of a traceback. No database is opened: every
case here fails (or is parsed) before one would be."""

import click
import pytest
from click.testing import CliRunner

from mlc.cli import main, parse_assignments

BAD_URL = "nosuchdialect://nowhere"


@pytest.mark.parametrize("raw, expected", [
    ("n=3", 3),
    ("n=-2.5", -2.5),
    ("n=true", True),
    ("n=false", False),
    ("n=null", None),
    ('n="3"', "3"),                      # JSON string: stays text
    ("n=hello", "hello"),                # not JSON: text
    ("n=", ""),                          # empty value is the empty string
    ('n={"a": [1, 2]}', {"a": [1, 2]}),
    ("n=[1, \"x\"]", [1, "x"]),
    ("n=a=b", "a=b"),                    # only the first '=' separates
    ("n={broken", "{broken"),
    ("n= 7 ", 7),
])
def test_values_are_json_when_they_parse_as_json(raw, expected):
    assert parse_assignments((raw,)) == {"n": expected}


def test_later_assignment_of_a_name_wins_and_names_keep_spaces():
    assert parse_assignments(("a=1", "a=2", "Test Score=0.9")) == {"a": 2, "Test Score": 0.9}


@pytest.mark.parametrize("raw, reason", [("novalue", "is not NAME=VALUE"),
                                         ("=3", "has an empty name")])
def test_bad_assignment_raises_bad_parameter(raw, reason):
    with pytest.raises(click.BadParameter, match=reason):
        parse_assignments((raw,))


def _run(*args: str):
    result = CliRunner().invoke(main, ["--database", BAD_URL, *args])
    return result, result.output  # stdout and stderr, as a terminal shows them


@pytest.mark.parametrize("args", [
    ("start", "k", "-v", "novalue"),
    ("signal", "s", "-v", "=1"),
    ("message", "m", "-c", "broken"),
    ("message", "m", "-v", "x"),
])
def test_bad_variables_are_usage_errors_before_the_database_is_touched(args):
    result, output = _run(*args)
    assert result.exit_code == 2
    assert f"Invalid value for {args[2]}" in output
    assert "Traceback" not in output and "database" not in output


@pytest.mark.parametrize("args", [("instances",), ("start", "k", "-v", "n=1"), ("db", "upgrade"),
                                  ("incidents", "--json")])
def test_an_unusable_database_url_is_one_line_not_a_traceback(args):
    result, output = _run(*args)
    assert result.exit_code == 1
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: database:"), output
    assert "nosuchdialect" in lines[0]
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_missing_deploy_path_is_one_line():
    result, output = _run("deploy", "/definitely/not/here.bpmn")
    assert result.exit_code == 1
    assert output.strip() == "error: /definitely/not/here.bpmn: no such file or directory"


@pytest.mark.parametrize("args", [("start",), ("instances", "--status", "sleeping"),
                                  ("instances", "--limit", "many"), ("nosuchcommand",),
                                  ("models", "register"), ("--bogus", "instances")])
def test_click_usage_errors_exit_2_in_one_line(args):
    result, output = _run(*args)
    assert result.exit_code == 2
    assert output.startswith("error: ") and output.count("\n") == 1, output
    assert "--help)" in output and "Traceback" not in output


def test_a_refused_deployment_names_each_problem_once(tmp_path):
    bad = tmp_path / "bad.bpmn"
    bad.write_text(
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
        'targetNamespace="x"><bpmn:process id="p" isExecutable="true">'
        '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="nowhere"/>'
        '<bpmn:exclusiveGateway id="g"/><bpmn:endEvent id="e"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="e">'
        '<bpmn:conditionExpression>${a ==}</bpmn:conditionExpression></bpmn:sequenceFlow>'
        '</bpmn:process></bpmn:definitions>')
    result = CliRunner().invoke(main, ["--database", f"sqlite:///{tmp_path / 'm.db'}",
                                       "deploy", str(bad)])
    assert result.exit_code == 1 and result.output.startswith("error: deployment refused")
    assert result.output.count("[f1]") == 1 and result.output.count("[f2]") == 1, result.output
