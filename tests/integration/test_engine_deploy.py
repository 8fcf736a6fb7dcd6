"""Deployment: versioning, duplicate filtering, and located errors that store nothing."""

import pytest

from engine import ValidationError
from tests.support.bpmn import bpmn, chain, external, flow

SIMPLE = bpmn("simple", '<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />', chain("s", "e"))


def test_identical_redeploy_is_filtered_and_changed_content_gets_next_version(harness):
    first = harness.deploy("simple.bpmn", SIMPLE)
    again = harness.deploy("simple.bpmn", SIMPLE)
    changed = harness.deploy("simple.bpmn", SIMPLE.replace(b'id="e"', b'id="end2"')
                             .replace(b'targetRef="e"', b'targetRef="end2"'))
    assert first.processes[0].version == 1
    assert again.filtered == ["simple"] and again.processes[0].version == 1
    assert changed.processes[0].version == 2
    versions = [d.version for d in harness.engine.list_definitions("simple")]
    assert versions == [1, 2]
    instance = harness.engine.start("simple")
    assert instance.definition_id == changed.processes[0].id


def _refused(harness, data: bytes, name: str = "bad.bpmn") -> ValidationError:
    with pytest.raises(ValidationError) as info:
        harness.deploy(name, data)
    assert harness.engine.list_definitions() == []  # nothing half-written
    return info.value


def test_malformed_xml_reports_file_and_line(harness):
    error = _refused(harness, b'<?xml version="1.0"?>\n<bpmn:definitions xmlns:bpmn="x">\n<oops>\n')
    problem = error.problems[0]
    assert problem.file == "bad.bpmn" and problem.line is not None
    assert "malformed XML" in error.message


def test_unknown_flow_target_is_located(harness):
    data = bpmn("p", '<bpmn:startEvent id="s" />', flow("s", "nowhere"))
    error = _refused(harness, data)
    problem = error.problems[0]
    expected_line = data.decode().splitlines().index(flow("s", "nowhere")) + 1
    assert problem.element_id == "f_s_nowhere"
    assert "nowhere" in problem.message and problem.line == expected_line


def test_script_task_refused_unless_allowed(harness):
    data = bpmn("p", '<bpmn:startEvent id="s" />',
                '<bpmn:scriptTask id="script" scriptFormat="python"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>',
                '<bpmn:endEvent id="e" />', chain("s", "script", "e"))
    error = _refused(harness, data)
    assert error.problems[0].element_id == "script"
    assert "MLC_ALLOW_SCRIPTS" in error.problems[0].message


def test_bad_expression_and_unsupported_element_both_reported(harness):
    data = bpmn("p", '<bpmn:startEvent id="s" />', '<bpmn:exclusiveGateway id="g" />',
                '<bpmn:complexGateway id="cx" />', '<bpmn:endEvent id="e" />',
                flow("s", "g"), flow("g", "e", "${a >>> 1}", fid="bad_cond"), flow("g", "cx"))
    error = _refused(harness, data)
    ids = {p.element_id for p in error.problems}
    assert {"bad_cond", "cx"} <= ids


def test_service_task_without_implementation_refused(harness):
    data = bpmn("p", '<bpmn:startEvent id="s" />', '<bpmn:serviceTask id="svc" />',
                '<bpmn:endEvent id="e" />', chain("s", "svc", "e"))
    error = _refused(harness, data)
    assert error.problems[0].element_id == "svc" and "implementation" in error.problems[0].message


def test_bad_timer_value_refused(harness):
    data = bpmn("p", '<bpmn:startEvent id="s" />',
                '<bpmn:intermediateCatchEvent id="t"><bpmn:timerEventDefinition>'
                '<bpmn:timeDuration>PT5X</bpmn:timeDuration></bpmn:timerEventDefinition>'
                '</bpmn:intermediateCatchEvent>', '<bpmn:endEvent id="e" />', chain("s", "t", "e"))
    error = _refused(harness, data)
    assert error.problems[0].element_id == "t" and "PT5X" in error.problems[0].message


def test_xxe_entity_is_refused(harness):
    data = (b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
            + SIMPLE.split(b"\n", 1)[1].replace(b'id="simple"', b'id="simple" name="&x;"'))
    error = _refused(harness, data)
    assert "DOCTYPE" in error.message


def test_oversized_and_wrong_type_files_refused(harness):
    with pytest.raises(ValidationError, match="only .bpmn and .dmn"):
        harness.engine.deploy([("notes.txt", b"hello")])
    _refused(harness, SIMPLE + b" " * (6 * 1024 * 1024))


def test_unknown_called_element_refused(harness):
    data = bpmn("parent", '<bpmn:startEvent id="s" />',
                '<bpmn:callActivity id="call" calledElement="missing_child" />',
                '<bpmn:endEvent id="e" />', chain("s", "call", "e"))
    error = _refused(harness, data)
    assert "missing_child" in error.message


def test_camunda_attributes_survive_into_external_task(harness):
    data = bpmn("p", '<bpmn:startEvent id="s" />',
                external("svc", "t.one",
                         '<bpmn:extensionElements><camunda:properties>'
                         '<camunda:property name="kind" value="review" /></camunda:properties>'
                         '<camunda:inputOutput><camunda:inputParameter name="greeting">hello ${who}'
                         '</camunda:inputParameter><camunda:inputParameter name="items"><camunda:list>'
                         '<camunda:value>${who}</camunda:value><camunda:value>b</camunda:value>'
                         '</camunda:list></camunda:inputParameter></camunda:inputOutput>'
                         '<camunda:failedJobRetryTimeCycle>R5/PT1M</camunda:failedJobRetryTimeCycle>'
                         '</bpmn:extensionElements>'),
                '<bpmn:endEvent id="e" />', chain("s", "svc", "e"))
    harness.deploy("p.bpmn", data)
    harness.engine.start("p", {"who": "world"})
    [task] = harness.tasks.list()
    assert task.topic == "t.one"
    assert task.properties == {"kind": "review"}
    assert task.variables["greeting"] == "hello world"
    assert task.variables["items"] == ["world", "b"]
