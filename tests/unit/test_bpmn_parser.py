"""Deployment validation of BPMN (engine.bpmn.parser, engine.xmlsafe), without a database:
each problem carries the file, the line and the element id, and every problem of a file is
reported at once."""

import pytest

from engine import ValidationError
from engine.bpmn.parser import build_parser, validate_bpmn
from engine.bpmn.specs import DecisionTask, ExpressionTask, ExternalTask
from engine.expressions import compile_template
from engine.xmlsafe import parse_xml
from tests.bpmn import bpmn, chain, external, flow

START, END = '<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />'


def problems_of(data: bytes, *, allow_scripts: bool = False, filename: str = "p.bpmn"):
    root = parse_xml(data, filename)
    infos, problems = validate_bpmn(root, filename, allow_scripts=allow_scripts,
                                    compile_template=compile_template)
    return infos, problems


def only(problems, element_id: str):
    found = [p for p in problems if p.element_id == element_id]
    assert len(found) == 1, problems
    return found[0]


def line_of(data: bytes, fragment: str) -> int:
    return next(i for i, line in enumerate(data.decode().splitlines(), 1) if fragment in line)


def test_valid_file_has_no_problems_and_reports_its_starts():
    data = bpmn("p", START, external("t", "topic"), END, chain("s", "t", "e"))
    infos, problems = problems_of(data)
    assert problems == []
    assert [(i.key, i.none_start, i.file) for i in infos] == [("p", True, "p.bpmn")]


@pytest.mark.parametrize("body, element_id, words", [
    (flow("s", "nowhere", fid="bad_flow"), "bad_flow", "targetRef 'nowhere'"),
    ('<bpmn:sequenceFlow id="no_src" sourceRef="ghost" targetRef="e" />', "no_src",
     "sourceRef 'ghost'"),
    ('<bpmn:boundaryEvent id="b" attachedToRef="missing_task"><bpmn:timerEventDefinition>'
     '<bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>',
     "b", "attachedToRef 'missing_task'"),
    ('<bpmn:intermediateCatchEvent id="c"><bpmn:signalEventDefinition signalRef="NoSig" />'
     '</bpmn:intermediateCatchEvent>', "c", "signalRef 'NoSig'"),
    ('<bpmn:intermediateCatchEvent id="c"><bpmn:messageEventDefinition messageRef="NoMsg" />'
     '</bpmn:intermediateCatchEvent>', "c", "messageRef 'NoMsg'"),
    ('<bpmn:receiveTask id="r" messageRef="NoMsg" />', "r", "messageRef 'NoMsg'"),
    ('<bpmn:endEvent id="ee"><bpmn:errorEventDefinition errorRef="NoErr" /></bpmn:endEvent>',
     "ee", "errorRef 'NoErr'"),
    ('<bpmn:callActivity id="call" />', "call", "without calledElement"),
])
def test_unknown_references_and_missing_targets_are_located(body, element_id, words):
    data = bpmn("p", START, END, flow("s", "e"), body)
    _, problems = problems_of(data)
    problem = only(problems, element_id)
    assert words in problem.message
    assert problem.file == "p.bpmn"
    assert problem.line == line_of(data, f'id="{element_id}"')


@pytest.mark.parametrize("element, element_id", [
    ('<bpmn:complexGateway id="cx" />', "cx"),
    ('<bpmn:transaction id="tx" />', None),        # allowed container, nothing to report
    ('<bpmn:adHocSubProcess id="adhoc" />', "adhoc"),
])
def test_unsupported_elements_are_refused_by_name(element, element_id):
    _, problems = problems_of(bpmn("p", START, END, flow("s", "e"), element))
    if element_id is None:
        assert problems == []
    else:
        assert "unsupported element bpmn:" in only(problems, element_id).message


@pytest.mark.parametrize("definition", ["compensateEventDefinition", "conditionalEventDefinition",
                                        "linkEventDefinition", "cancelEventDefinition"])
def test_unsupported_event_definitions_name_their_event(definition):
    data = bpmn("p", START, f'<bpmn:intermediateCatchEvent id="ev"><bpmn:{definition} />'
                '</bpmn:intermediateCatchEvent>', END, chain("s", "ev", "e"))
    _, problems = problems_of(data)
    assert f"unsupported event definition bpmn:{definition}" in only(problems, "ev").message


SCRIPT = ('<bpmn:scriptTask id="script" scriptFormat="python"><bpmn:script>x = 1</bpmn:script>'
          '</bpmn:scriptTask>')


def test_script_tasks_are_refused_unless_the_operator_allows_them():
    data = bpmn("p", START, SCRIPT, END, chain("s", "script", "e"))
    _, refused = problems_of(data)
    assert "MLC_ALLOW_SCRIPTS=1" in only(refused, "script").message
    _, allowed = problems_of(data, allow_scripts=True)
    assert allowed == []


@pytest.mark.parametrize("body, element_id, what", [
    (flow("g", "e", "${a >>> 1}", fid="cond"), "cond", "bad condition"),
    (external("svc", "t", '<bpmn:extensionElements><camunda:inputOutput>'
              '<camunda:inputParameter name="x">${(}</camunda:inputParameter>'
              '</camunda:inputOutput></bpmn:extensionElements>'), "svc", "bad parameter 'x'"),
    ('<bpmn:serviceTask id="expr" camunda:expression="${a +}" />', "expr", "bad expression"),
])
def test_bad_expressions_are_reported_with_their_element(body, element_id, what):
    data = bpmn("p", START, '<bpmn:exclusiveGateway id="g" />', END, flow("s", "g"), body)
    _, problems = problems_of(data)
    problem = only(problems, element_id)
    assert problem.message.startswith(what)
    fragment = "${(}" if element_id == "svc" else f'id="{element_id}"'
    assert problem.line == line_of(data, fragment)


def test_service_task_without_implementation_is_refused():
    data = bpmn("p", START, '<bpmn:serviceTask id="svc" />', END, chain("s", "svc", "e"))
    _, problems = problems_of(data)
    assert "no implementation" in only(problems, "svc").message


@pytest.mark.parametrize("kind, value", [("timeDuration", "PT5X"), ("timeDate", "yesterday"),
                                         ("timeCycle", "R3/PT1Q"), ("timeCycle", "61 * * * *"),
                                         ("timeDuration", "")])
def test_bad_timer_values_are_refused(kind, value):
    data = bpmn("p", START, f'<bpmn:intermediateCatchEvent id="t"><bpmn:timerEventDefinition>'
                f'<bpmn:{kind}>{value}</bpmn:{kind}></bpmn:timerEventDefinition>'
                '</bpmn:intermediateCatchEvent>', END, chain("s", "t", "e"))
    _, problems = problems_of(data)
    problem = only(problems, "t")
    assert (value in problem.message) if value else ("without a time value" in problem.message)


def test_every_problem_of_a_file_is_reported_together():
    data = bpmn("p", START, SCRIPT, '<bpmn:complexGateway id="cx" />', END,
                flow("s", "script"), flow("script", "nowhere", fid="dangling"))
    _, problems = problems_of(data)
    assert {"script", "cx", "dangling"} <= {p.element_id for p in problems}
    assert all(p.file == "p.bpmn" and p.line for p in problems)


def test_not_bpmn_and_not_executable_are_reported():
    _, problems = problems_of(b'<definitions xmlns="urn:other"/>')
    assert "not a BPMN 2.0 definitions document" in problems[0].message
    data = bpmn("p", START).replace(b'isExecutable="true"', b'isExecutable="false"')
    _, problems = problems_of(data)
    assert "no executable process" in problems[0].message


def test_timer_signal_and_message_starts_are_collected():
    data = bpmn(
        "p", '<bpmn:startEvent id="by_signal"><bpmn:signalEventDefinition signalRef="S" />'
        '</bpmn:startEvent>', '<bpmn:startEvent id="by_message"><bpmn:messageEventDefinition '
        'messageRef="M" /></bpmn:startEvent>', '<bpmn:startEvent id="by_timer">'
        '<bpmn:timerEventDefinition><bpmn:timeCycle>0 0 9 * * ?</bpmn:timeCycle>'
        '</bpmn:timerEventDefinition></bpmn:startEvent>', END,
        flow("by_signal", "e"), flow("by_message", "e"), flow("by_timer", "e"),
        extra='<bpmn:signal id="S" name="go" /><bpmn:message id="M" name="hello" />')
    [info], problems = problems_of(data)
    assert problems == []
    assert info.signal_starts == ["go"] and info.message_starts == ["hello"]
    assert info.timer_starts == [("by_timer", "cycle", "0 0 9 * * ?")]
    assert info.none_start is False


# ------------------------------------------------------------------ safe XML


def test_doctype_entities_and_external_entities_are_refused():
    bomb = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
            b'<definitions>&lol2;</definitions>')
    xxe = b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    for data in (bomb, xxe):
        with pytest.raises(ValidationError, match="DOCTYPE/ENTITY") as info:
            parse_xml(data, "evil.bpmn")
        assert info.value.problems[0].file == "evil.bpmn"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_doctype_in_another_encoding_is_refused_too(encoding):
    """The byte check finds b"<!DOCTYPE" in UTF-8 only; the parsed document is checked too."""
    text = (f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n'
            '<!DOCTYPE d SYSTEM "file:///etc/passwd"><definitions id="d"/>')
    data = text.encode(encoding)
    assert b"<!DOCTYPE" not in data
    with pytest.raises(ValidationError, match="DOCTYPE/ENTITY") as info:
        parse_xml(data, "utf16.bpmn")
    assert info.value.problems[0].file == "utf16.bpmn"
    plain = '<?xml version="1.0" encoding="UTF-16"?><definitions id="d"/>'.encode("utf-16")
    assert parse_xml(plain, "fine.bpmn").get("id") == "d"


def test_oversized_input_is_refused_before_parsing():
    with pytest.raises(ValidationError, match="more than the limit of 100") as info:
        parse_xml(b"<a>" + b"x" * 200 + b"</a>", "big.bpmn", max_bytes=100)
    assert info.value.problems[0].file == "big.bpmn"


def test_malformed_xml_names_file_and_line():
    with pytest.raises(ValidationError) as info:
        parse_xml(b'<?xml version="1.0"?>\n<a>\n<b>\n</a>\n', "broken.bpmn")
    problem = info.value.problems[0]
    assert (problem.file, problem.line) == ("broken.bpmn", 4)
    assert info.value.message.startswith("broken.bpmn:4: malformed XML")


# ------------------------------------------------------------------ specs built by the parser


def test_camunda_task_styles_become_engine_specs():
    data = bpmn(
        "p", START,
        external("ext", "t.ext", '<bpmn:extensionElements><camunda:failedJobRetryTimeCycle>'
                 'R5/PT1M</camunda:failedJobRetryTimeCycle></bpmn:extensionElements>'),
        '<bpmn:serviceTask id="cls" camunda:class="org.example.Delegate" />',
        '<bpmn:serviceTask id="dlg" camunda:delegateExpression="${notifier}" />',
        '<bpmn:serviceTask id="expr" camunda:expression="${1 + 1}" camunda:resultVariable="two" />',
        '<bpmn:businessRuleTask id="rule" camunda:decisionRef="approve" '
        'camunda:mapDecisionResult="singleEntry" camunda:resultVariable="ok" '
        'camunda:decisionRefBinding="version" camunda:decisionRefVersion="3" />',
        END, chain("s", "ext", "cls", "dlg", "expr", "rule", "e"))
    spec = build_parser([("p.bpmn", data)]).get_spec("p")
    ext, cls, dlg = (spec.task_specs[i] for i in ("ext", "cls", "dlg"))
    assert isinstance(ext, ExternalTask) and (ext.topic, ext.retry_cycle) == ("t.ext", "R5/PT1M")
    assert (cls.topic, cls.implementation) == ("org.example.Delegate", "class")
    assert (dlg.topic, dlg.implementation) == ("notifier", "delegateExpression")
    assert isinstance(spec.task_specs["expr"], ExpressionTask)
    rule = spec.task_specs["rule"]
    assert isinstance(rule, DecisionTask)
    assert (rule.decision_ref, rule.map_decision_result, rule.result_variable, rule.binding,
            rule.version) == ("approve", "singleEntry", "ok", "version", "3")


def test_unknown_map_decision_result_is_a_located_parse_error():
    data = bpmn("p", START, '<bpmn:businessRuleTask id="rule" camunda:decisionRef="d" '
                'camunda:mapDecisionResult="everything" />', END, chain("s", "rule", "e"))
    from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

    with pytest.raises(ValidationException) as info:
        build_parser([("p.bpmn", data)]).get_spec("p")
    assert "everything" in str(info.value) and info.value.id == "rule"
