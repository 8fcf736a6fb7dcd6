"""Deployment validation of BPMN (engine.bpmn.parser, engine.xmlsafe), without a database:
each problem carries the file, the line and the element id, and every problem of a file is
reported at once."""

import pytest

from engine import ValidationError
from engine.bpmn.model import Kind
from engine.bpmn.parser import load_models, validate_bpmn
from engine.xmlsafe import parse_xml
from tests.support.bpmn import bpmn, chain, external, flow

START, END = '<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />'


def problems_of(data: bytes, *, allow_scripts: bool = False, filename: str = "p.bpmn"):
    root = parse_xml(data, filename)
    infos, problems = validate_bpmn(root, filename, allow_scripts=allow_scripts)
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


@pytest.mark.parametrize("element, element_id, why", [
    ('<bpmn:complexGateway id="cx" />', "cx", "not executable in Camunda 7"),
    ('<bpmn:adHocSubProcess id="adhoc" />', "adhoc", "not executable in Camunda 7"),
    ('<bpmn:choreographyTask id="ch" />', "ch", "choreographies"),
])
def test_what_camunda_does_not_run_is_refused_by_name_and_reason(element, element_id, why):
    _, problems = problems_of(bpmn("p", START, END, flow("s", "e"), element))
    message = only(problems, element_id).message
    assert "unsupported element bpmn:" in message and why in message


def test_a_transaction_is_a_sub_process_and_needs_its_start_event():
    empty = bpmn("p", START, END, flow("s", "e"), '<bpmn:transaction id="tx" />')
    assert "none start event" in only(problems_of(empty)[1], "tx").message
    full = bpmn("p", START, '<bpmn:transaction id="tx"><bpmn:startEvent id="ts" />'
                '<bpmn:endEvent id="te" />' + flow("ts", "te") + '</bpmn:transaction>', END,
                chain("s", "tx", "e"))
    assert problems_of(full)[1] == []


@pytest.mark.parametrize("definition, where", [
    ('<bpmn:cancelEventDefinition />', "intermediateCatchEvent"),
    ('<bpmn:errorEventDefinition />', "intermediateCatchEvent"),
    ('<bpmn:terminateEventDefinition />', "intermediateThrowEvent"),
])
def test_event_definitions_in_places_camunda_refuses_name_their_event(definition, where):
    data = bpmn("p", START, f'<bpmn:{where} id="ev">{definition}</bpmn:{where}>', END,
                chain("s", "ev", "e"))
    _, problems = problems_of(data)
    assert "unsupported event definition bpmn:" in only(problems, "ev").message


def test_events_with_several_definitions_are_refused():
    data = bpmn("p", START, '<bpmn:intermediateCatchEvent id="ev"><bpmn:timerEventDefinition>'
                '<bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition>'
                '<bpmn:signalEventDefinition signalRef="S" /></bpmn:intermediateCatchEvent>', END,
                chain("s", "ev", "e"), extra='<bpmn:signal id="S" name="s" />')
    assert "several event definitions" in only(problems_of(data)[1], "ev").message


SCRIPT = ('<bpmn:scriptTask id="script" scriptFormat="python"><bpmn:script>x = 1</bpmn:script>'
          '</bpmn:scriptTask>')


def test_script_tasks_are_refused_unless_the_operator_allows_them():
    data = bpmn("p", START, SCRIPT, END, chain("s", "script", "e"))
    _, refused = problems_of(data)
    assert "MLC_ALLOW_SCRIPTS=1" in only(refused, "script").message
    _, allowed = problems_of(data, allow_scripts=True)
    assert allowed == []


def test_javascript_and_groovy_are_refused_even_when_scripts_are_allowed():
    """A deliberate exclusion (docs/bpmn-coverage.md): no JavaScript or Groovy engine here."""
    data = bpmn("p", START, '<bpmn:scriptTask id="js" scriptFormat="javascript"><bpmn:script>'
                'x = 1</bpmn:script></bpmn:scriptTask>', '<bpmn:task id="t">'
                '<bpmn:extensionElements><camunda:executionListener event="start"><camunda:script '
                'scriptFormat="groovy">x</camunda:script></camunda:executionListener>'
                '</bpmn:extensionElements></bpmn:task>', END, chain("s", "js", "t", "e"))
    for allow, js_words, groovy_words in (
            (False, "script tasks are refused", "is a script: scripts are refused"),
            (True, "script format 'javascript' cannot run here",
             "script format 'groovy' cannot run here")):
        _, problems = problems_of(data, allow_scripts=allow)
        assert js_words in only(problems, "js").message
        assert groovy_words in only(problems, "t").message


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


# ------------------------------------------------------------------ models built by the parser


def test_camunda_task_styles_become_engine_nodes():
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
    model = load_models(data, "p.bpmn")["p"]
    ext, cls, dlg = (model.nodes[i] for i in ("ext", "cls", "dlg"))
    assert ext.kind is Kind.EXTERNAL and (ext.topic, ext.retry_cycle) == ("t.ext", "R5/PT1M")
    assert (cls.topic, cls.implementation) == ("org.example.Delegate", "class")
    assert (dlg.topic, dlg.implementation) == ("notifier", "delegateExpression")
    assert model.nodes["expr"].kind is Kind.EXPRESSION
    rule = model.nodes["rule"]
    assert rule.kind is Kind.DECISION
    assert (rule.decision_ref.source, rule.map_decision_result, rule.result_variable,
            rule.decision_binding, rule.decision_version.source) == (
        "approve", "singleEntry", "ok", "version", "3")


def test_unknown_map_decision_result_is_a_located_problem():
    data = bpmn("p", START, '<bpmn:businessRuleTask id="rule" camunda:decisionRef="d" '
                'camunda:mapDecisionResult="everything" />', END, chain("s", "rule", "e"))
    problem = only(problems_of(data)[1], "rule")
    assert "everything" in problem.message and problem.line == line_of(data, 'id="rule"')


REFUSALS = [
    ('<bpmn:subProcess id="esp" triggeredByEvent="true"><bpmn:startEvent id="c">'
     '<bpmn:compensateEventDefinition /></bpmn:startEvent></bpmn:subProcess>', "c",
     "only inside an embedded sub-process"),
    ('<bpmn:task id="loop"><bpmn:standardLoopCharacteristics /></bpmn:task>', "loop",
     "standard loops"),
    ('<bpmn:userTask id="u"><bpmn:extensionElements><camunda:taskListener event="timeout" '
     'expression="${x}" /></bpmn:extensionElements></bpmn:userTask>', "u", "needs an id"),
    ('<bpmn:userTask id="u"><bpmn:extensionElements><camunda:taskListener id="t" '
     'event="timeout" expression="${x}" /></bpmn:extensionElements></bpmn:userTask>', "u",
     "needs a bpmn:timerEventDefinition"),
    ('<bpmn:userTask id="u"><bpmn:extensionElements>' + 2 * (
        '<camunda:taskListener id="t" event="timeout" expression="${x}"><bpmn:timerEventDefinition>'
        '<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>'
        '</camunda:taskListener>') + '</bpmn:extensionElements></bpmn:userTask>', "u",
     "two timeout task listeners with the id 't'"),
    ('<bpmn:task id="io"><bpmn:extensionElements><camunda:inputOutput><camunda:inputParameter '
     'name="x"><camunda:script scriptFormat="groovy">1</camunda:script></camunda:inputParameter>'
     '</camunda:inputOutput></bpmn:extensionElements></bpmn:task>', "io", "script input/output"),
    ('<bpmn:callActivity id="call" calledElement="p" camunda:calledElementBinding="versionTag" />',
     "call", "needs camunda:calledElementVersionTag"),
    ('<bpmn:businessRuleTask id="rule" camunda:decisionRef="d" '
     'camunda:decisionRefBinding="versionTag" />', "rule", "needs camunda:decisionRefVersionTag"),
    ('<bpmn:sequenceFlow id="js_flow" sourceRef="s" targetRef="e"><bpmn:conditionExpression '
     'language="javascript">x &gt; 1</bpmn:conditionExpression></bpmn:sequenceFlow>', "js_flow",
     "condition language 'javascript' cannot run here"),
    ('<bpmn:callActivity id="case" camunda:caseRef="c" />', "case", "camunda:caseRef (CMMN)"),
    ('<bpmn:callActivity id="call" calledElement="p" camunda:variableMappingClass="a.B" />',
     "call", "camunda:variableMappingClass cannot run here (no Java)"),
    ('<bpmn:scriptTask id="js" scriptFormat="javascript"><bpmn:script>x = 1</bpmn:script>'
     '</bpmn:scriptTask>', "js", "script tasks are refused"),
    ('<bpmn:task id="listen"><bpmn:extensionElements><camunda:executionListener event="start" />'
     '</bpmn:extensionElements></bpmn:task>', "listen", "has no implementation"),
    ('<bpmn:task id="mi"><bpmn:multiInstanceLoopCharacteristics /></bpmn:task>', "mi",
     "loopCardinality or camunda:collection"),
]


@pytest.mark.parametrize("body, element_id, words", REFUSALS)
def test_what_cannot_run_here_is_refused_with_its_reason(body, element_id, words):
    _, problems = problems_of(bpmn("p", START, END, flow("s", "e"), body))
    problem = next(p for p in problems if p.element_id == element_id)
    assert words in problem.message and problem.line


def test_a_compensation_event_sub_process_compensates_its_sub_process_as_camunda_allows():
    esp = ('<bpmn:subProcess id="{id}" triggeredByEvent="true"><bpmn:startEvent id="{id}_s">'
           '<bpmn:compensateEventDefinition /></bpmn:startEvent><bpmn:endEvent id="{id}_e" />'
           + flow("{id}_s", "{id}_e") + '</bpmn:subProcess>')
    sub = ('<bpmn:subProcess id="sub"><bpmn:startEvent id="ss" /><bpmn:endEvent id="se" />'
           + flow("ss", "se") + "{esps}</bpmn:subProcess>")
    ok = bpmn("p", START, sub.format(esps=esp.format(id="c1")), END, chain("s", "sub", "e"))
    assert load_models(ok, "p.bpmn")["p"].nodes["sub"].compensation_handler == "c1"
    two = bpmn("p", START, sub.format(esps=esp.format(id="c1") + esp.format(id="c2")), END,
               chain("s", "sub", "e"))
    assert "only one event sub-process" in only(problems_of(two)[1], "c2_s").message
    both = bpmn("p", START, sub.format(esps=esp.format(id="c1")), END, chain("s", "sub", "e"),
                '<bpmn:boundaryEvent id="cb" attachedToRef="sub"><bpmn:compensateEventDefinition />'
                '</bpmn:boundaryEvent><bpmn:task id="undo" isForCompensation="true" />'
                '<bpmn:association id="a" sourceRef="cb" targetRef="undo" />')
    assert "cannot both compensate 'sub'" in only(problems_of(both)[1], "cb").message


def test_signal_names_may_be_expressions_except_on_start_events():
    data = bpmn("p", START, '<bpmn:intermediateCatchEvent id="c"><bpmn:signalEventDefinition '
                'signalRef="S" /></bpmn:intermediateCatchEvent>', END, chain("s", "c", "e"),
                extra='<bpmn:signal id="S" name="done-${model}" />')
    assert problems_of(data)[1] == []
    start = bpmn("q", '<bpmn:startEvent id="s"><bpmn:signalEventDefinition signalRef="S" />'
                 '</bpmn:startEvent>', END, flow("s", "e"),
                 extra='<bpmn:signal id="S" name="done-${model}" />')
    assert "fixed signal name" in only(problems_of(start)[1], "s").message


def test_messages_never_carry_a_python_repr_or_an_exception_class_name():
    broken = [bpmn("p", START, body, END, flow("s", "e")) for body, _, _ in REFUSALS] + [
        bpmn("p", START, '<bpmn:boundaryEvent id="b" attachedToRef="s" />', END, flow("s", "e")),
        bpmn("p", START, '<bpmn:task id="t"><bpmn:dataOutputAssociation id="d">'
             '<bpmn:targetRef>nothing</bpmn:targetRef></bpmn:dataOutputAssociation></bpmn:task>',
             END, chain("s", "t", "e"))]
    for data in broken:
        for problem in problems_of(data)[1]:
            assert "<" not in problem.message and "Error(" not in problem.message, problem
            assert problem.file == "p.bpmn" and problem.line, problem
