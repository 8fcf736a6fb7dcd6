"""DMN level 3 beyond tables: boxed expressions, knowledge models, decision services,
imports, typed values, and what is still refused at load."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.dmn import load_dmn, load_dmn_files
from engine.errors import DecisionError, ValidationError

D = Decimal
NS = "https://www.omg.org/spec/DMN/20230324/MODEL/"


def model(body: str, namespace: str = "urn:test", extra: str = "") -> str:
    return f'<definitions xmlns="{NS}" id="m" name="m" namespace="{namespace}" {extra}>' \
           f"{body}</definitions>"


def literal(text: str, type_ref: str = "") -> str:
    attribute = f' typeRef="{type_ref}"' if type_ref else ""
    return f"<literalExpression{attribute}><text>{text}</text></literalExpression>"


def decision(name: str, logic: str, type_ref: str = "", requires: str = "") -> str:
    variable = f'<variable name="{name}"' + (f' typeRef="{type_ref}"' if type_ref else "") + "/>"
    return f'<decision id="{name}" name="{name}">{variable}{requires}{logic}</decision>'


def value_of(body: str, name: str = "d", context: dict | None = None):
    return load_dmn(model(body)).evaluate(name, context or {}, strict=False).value


def test_context_with_typed_entries_and_a_result_entry():
    logic = ("<context>"
             '<contextEntry><variable name="a" typeRef="number"/>' + literal("1 + 1") +
             "</contextEntry>"
             '<contextEntry><variable name="b"/>' + literal("a * 10") + "</contextEntry>"
             "<contextEntry>" + literal("b + a") + "</contextEntry></context>")
    assert value_of(decision("d", logic)) == D(22)


def test_context_without_a_result_entry_is_the_context():
    logic = ('<context><contextEntry><variable name="x"/>' + literal('"y"') +
             "</contextEntry></context>")
    assert value_of(decision("d", logic)) == {"x": "y"}


def test_invocation_binds_parameters_by_name():
    bkm = ('<businessKnowledgeModel id="k" name="Greet"><encapsulatedLogic>'
           '<formalParameter name="who" typeRef="string"/>'
           + literal('"Hello " + who') + "</encapsulatedLogic></businessKnowledgeModel>")
    logic = ("<invocation>" + literal("Greet") + '<binding><parameter name="who"/>'
             + literal('"Ada"') + "</binding></invocation>")
    assert value_of(bkm + decision("d", logic)) == "Hello Ada"


def test_relation_list_conditional_filter_and_iterators():
    relation = ('<relation><column name="a"/><column name="b"/><row>' + literal("1") +
                literal('"x"') + "</row><row>" + literal("2") + literal('"y"') +
                "</row></relation>")
    listing = "<list>" + literal("1") + literal("2") + "</list>"
    conditional = ("<conditional><if>" + literal("n > 1") + "</if><then>" + literal('"big"') +
                   "</then><else>" + literal('"small"') + "</else></conditional>")
    filtering = ("<filter><in>" + literal("[1, 2, 3]") + "</in><match>" + literal("item > 1") +
                 "</match></filter>")
    loop = ('<for iteratorVariable="x"><in>' + literal("[1, 2]") + "</in><return>" +
            literal("x * 10") + "</return></for>")
    every = ('<every iteratorVariable="x"><in>' + literal("[1, 2]") + "</in><satisfies>" +
             literal("x > 0") + "</satisfies></every>")
    body = "".join(decision(n, logic) for n, logic in (
        ("relation", relation), ("list", listing), ("conditional", conditional),
        ("filter", filtering), ("for", loop), ("every", every)))
    definitions = load_dmn(model(body))

    def evaluate(name: str):
        return definitions.evaluate(name, {"n": 5}).value

    assert evaluate("relation") == [{"a": D(1), "b": "x"}, {"a": D(2), "b": "y"}]
    assert evaluate("list") == [D(1), D(2)]
    assert evaluate("conditional") == "big"
    assert evaluate("filter") == [D(2), D(3)]
    assert evaluate("for") == [D(10), D(20)]
    assert evaluate("every") is True


def test_boxed_conditions_must_be_booleans():
    conditional = ("<conditional><if>" + literal('"abc"') + "</if><then>" + literal("1") +
                   "</then><else>" + literal("2") + "</else></conditional>")
    some = ('<some iteratorVariable="x"><in>' + literal("[1, 2]") + "</in><satisfies>" +
            literal('if x = 2 then true else "no"') + "</satisfies></some>")
    definitions = load_dmn(model(decision("c", conditional) + decision("s", some)))
    for name in ("c", "s"):
        result = definitions.evaluate(name, {}, strict=False)
        assert result.value is None and "not a boolean" in result.errors[0]


def test_function_definitions_feel_and_java():
    feel = ('<context><contextEntry><variable name="f"/><functionDefinition>'
            '<formalParameter name="x" typeRef="number"/>' + literal("x * 2") +
            "</functionDefinition></contextEntry><contextEntry>" + literal("f(21)") +
            "</contextEntry></context>")
    java = ('<context><contextEntry><variable name="max"/><functionDefinition kind="Java">'
            '<formalParameter name="a"/><formalParameter name="b"/><context>'
            '<contextEntry><variable name="class"/>' + literal('"java.lang.Math"') +
            '</contextEntry><contextEntry><variable name="method signature"/>' +
            literal('"max(double, double)"') + "</contextEntry></context>"
            "</functionDefinition></contextEntry><contextEntry>" + literal("max(1, 2)") +
            "</contextEntry></context>")
    definitions = load_dmn(model(decision("feel", feel) + decision("java", java)))
    assert definitions.evaluate("feel").value == D(42)
    assert definitions.evaluate("java").value == D(2)


def test_decision_without_logic_is_null_or_a_decision_error():
    definitions = load_dmn(model(decision("d", "")))
    result = definitions.evaluate("d", {}, strict=False)
    assert result.value is None and "no logic" in result.errors[0]
    with pytest.raises(DecisionError, match="no logic"):
        definitions.evaluate("d", {})


def test_decision_without_an_id_is_found_by_name():
    xml = model('<decision name="Plain"><variable name="Plain"/>' + literal("7") + "</decision>")
    assert load_dmn(xml).evaluate("Plain").value == D(7)


def _service_model() -> str:
    return model(
        '<inputData id="i" name="who"><variable name="who" typeRef="string"/></inputData>'
        + decision("greeting", literal('"Hello"'), "string")
        + decision("out", literal('greeting + " " + who'), "string")
        + decision("caller", literal('Greeter("Ada", "Hi")'))
        + '<decisionService id="ds" name="Greeter"><variable name="Greeter"/>'
        '<outputDecision href="#out"/><inputDecision href="#greeting"/>'
        '<inputData href="#i"/></decisionService>')


def test_decision_service_as_a_function_takes_input_data_then_input_decisions():
    assert load_dmn(_service_model()).evaluate("caller").value == "Hi Ada"


def test_decision_service_evaluated_directly():
    definitions = load_dmn(_service_model())
    result = definitions.evaluate("Greeter", {"who": "Bob", "greeting": "Yo"})
    assert result.value == "Yo Bob" and result.outputs == {"out": "Yo Bob"}
    missing = definitions.evaluate("ds", {"who": "Bob"}, strict=False)
    assert missing.value is None and "was not given" in missing.errors[0]


def test_business_knowledge_model_evaluated_by_name():
    bkm = ('<businessKnowledgeModel id="k" name="Double"><encapsulatedLogic>'
           '<formalParameter name="v" typeRef="number"/>' + literal("v * 2") +
           "</encapsulatedLogic></businessKnowledgeModel>")
    definitions = load_dmn(model(bkm))
    assert definitions.evaluate("Double", {"v": 4}).value == D(8)
    assert definitions.evaluate("k", {"v": "x"}, strict=False).value is None


def test_import_of_another_model():
    imported = model('<itemDefinition name="tPerson"><itemComponent name="name">'
                     "<typeRef>string</typeRef></itemComponent></itemDefinition>"
                     '<businessKnowledgeModel id="k" name="Say Hello"><encapsulatedLogic>'
                     '<formalParameter name="p" typeRef="tPerson"/>'
                     + literal('"Hello " + p.name') + "</encapsulatedLogic>"
                     "</businessKnowledgeModel>", namespace="urn:people")
    main = model(f'<import name="people" namespace="urn:people" importType="{NS}"/>'
                 '<inputData id="i" name="Someone"><variable name="Someone" '
                 'typeRef="people.tPerson"/></inputData>'
                 + decision("d", literal("people.Say Hello(Someone)")))
    loaded = load_dmn_files([("main.dmn", main.encode()), ("people.dmn", imported.encode())])
    assert loaded["main.dmn"].evaluate("d", {"Someone": {"name": "Ada"}}).value == "Hello Ada"
    with pytest.raises(ValidationError, match="not among the files loaded"):
        load_dmn(main, "main.dmn")


def test_values_are_converted_to_their_type():
    types = ('<itemDefinition name="tSmall"><typeRef>number</typeRef><allowedValues>'
             "<text>[0..10]</text></allowedValues></itemDefinition>")
    definitions = load_dmn(model(types + decision("one", literal('["a"]'), "string")
                                 + decision("big", literal("11"), "tSmall")
                                 + decision("list", literal("1"), "list&lt;number&gt;")))
    assert definitions.evaluate("one").value == "a"           # singleton list -> item
    assert definitions.evaluate("list").value == [D(1)]       # item -> singleton list
    big = definitions.evaluate("big", {}, strict=False)
    assert big.value is None and "allowed values" in big.errors[0]


@pytest.mark.parametrize("logic, construct", [
    ('<literalExpression expressionLanguage="python"><text>1</text></literalExpression>',
     "expression language 'python'"),
    ('<functionDefinition kind="PMML">' + literal("1") + "</functionDefinition>",
     "function kind 'PMML'"),
    ("<unknownExpression/>", "'unknownExpression' is not supported"),
])
def test_what_cannot_be_evaluated_is_refused_with_its_location(logic, construct):
    with pytest.raises(ValidationError) as caught:
        load_dmn(model(decision("d", logic)), "bad.dmn")
    problem = caught.value.problems[0]
    assert construct in problem.message and problem.file == "bad.dmn" and problem.line
