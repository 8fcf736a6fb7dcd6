"""Read a DMN 1.1-1.5 file (as Camunda Modeler and other tools write it) into the model.

Every FEEL text is compiled here, so a cell that does not parse is a load error naming the
file, line, rule and column, never a surprise during a process run.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Callable, TypeVar

from lxml import etree

from engine.dmn.definitions import DmnDefinitions
from engine.dmn.model import BusinessKnowledgeModel, Decision, DecisionTable, InputClause, \
    InputData, ItemDefinition, LiteralExpression, Logic, OutputClause, Rule
from engine.errors import Problem, ValidationError
from engine.feel import FeelError, compile_expression, compile_unary_tests
from engine.xmlsafe import parse_xml

DMN_NAMESPACES = {
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "1.1",
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "1.2",
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "1.3",
    "https://www.omg.org/spec/DMN/20211108/MODEL/": "1.4",
    "https://www.omg.org/spec/DMN/20230324/MODEL/": "1.5",
}
CAMUNDA_NS = "http://camunda.org/schema/1.0/dmn"
HIT_POLICIES = {"UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE ORDER", "OUTPUT ORDER"}
AGGREGATIONS = {"SUM", "MIN", "MAX", "COUNT"}
_FEEL_LANGUAGES = {"feel", "http://www.omg.org/spec/feel/20140401"}

T = TypeVar("T")
_CACHE: "OrderedDict[tuple[str, str], DmnDefinitions]" = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 256


def load_dmn(source: bytes | str, filename: str = "<string>") -> DmnDefinitions:
    """Load and compile a DMN file; identical content is compiled only once (cached).

    Raises:
        ValidationError: with one Problem(file, line, element_id) per defect found.
    """
    data = source.encode("utf-8") if isinstance(source, str) else bytes(source)
    key = (hashlib.sha256(data).hexdigest(), filename)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            _CACHE.move_to_end(key)
            return cached
    definitions = _Reader(filename).read(parse_xml(data, filename))
    with _CACHE_LOCK:
        _CACHE[key] = definitions
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return definitions


class _Reader:
    """One load: walks the XML, collects every problem, then builds the definitions."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[Problem] = []
        self.ns = ""

    # ---- helpers
    def problem(self, message: str, element: etree._Element | None,
                element_id: str | None = None) -> None:
        line = element.sourceline if element is not None else None
        if element_id is None and element is not None:
            element_id = element.get("id")
        self.problems.append(Problem(message, file=self.filename, line=line,
                                     element_id=element_id))

    def q(self, tag: str) -> str:
        return f"{{{self.ns}}}{tag}"

    def text_of(self, element: etree._Element | None, child: str = "text") -> str | None:
        if element is None:
            return None
        node = element.find(self.q(child))
        return node.text if node is not None and node.text is not None else None

    def compile(self, fn: Callable[[str], T], text: str, element: etree._Element,
                where: str, element_id: str | None = None) -> T | None:
        try:
            return fn(text)
        except FeelError as exc:
            self.problem(f"{where}: {exc.message}", element, element_id)
            return None

    def check_language(self, element: etree._Element, where: str) -> None:
        language = element.get("expressionLanguage")
        if language and language.lower() not in _FEEL_LANGUAGES and "/feel/" not in \
                language.lower():
            self.problem(f"{where}: expression language {language!r} is not supported "
                         "(only FEEL)", element)

    @staticmethod
    def href_id(element: etree._Element | None) -> str | None:
        if element is None:
            return None
        href = element.get("href") or ""
        return href.rsplit("#", 1)[-1] or None

    # ---- document
    def read(self, root: etree._Element) -> DmnDefinitions:
        qname = etree.QName(root)
        if qname.localname != "definitions" or qname.namespace not in DMN_NAMESPACES:
            self.problem(f"root element is {{{qname.namespace}}}{qname.localname}, not a DMN "
                         "1.1-1.5 definitions element", root)
            raise ValidationError(f"{self.filename}: not a DMN file:", self.problems)
        self.ns = qname.namespace
        item_definitions = {}
        for element in root.findall(self.q("itemDefinition")):
            item = self.item_definition(element)
            item_definitions[item.name] = item
        inputs = {e.get("id"): InputData(e.get("id"), e.get("name") or e.get("id"),
                                         self.variable_type(e))
                  for e in root.findall(self.q("inputData"))}
        knowledge = {}
        for element in root.findall(self.q("businessKnowledgeModel")):
            bkm = self.knowledge_model(element)
            knowledge[bkm.id] = bkm
        decisions = {}
        for element in root.findall(self.q("decision")):
            decision = self.decision(element)
            if decision.id in decisions:
                self.problem(f"duplicate decision id {decision.id!r}", element)
            decisions[decision.id] = decision
        self.check_references(decisions, inputs, knowledge, root)
        if self.problems:
            raise ValidationError(f"{self.filename}: invalid DMN:", self.problems)
        return DmnDefinitions(id=root.get("id") or "", name=root.get("name") or "",
                              namespace=root.get("namespace") or "", decisions=decisions,
                              inputs=inputs, knowledge=knowledge,
                              item_definitions=item_definitions, dmn_version=
                              DMN_NAMESPACES[self.ns], filename=self.filename)

    def variable_type(self, element: etree._Element) -> str | None:
        variable = element.find(self.q("variable"))
        return variable.get("typeRef") if variable is not None else None

    def item_definition(self, element: etree._Element) -> ItemDefinition:
        name = element.get("name") or element.get("id") or ""
        type_ref = self.text_of(element, "typeRef") or element.get("typeRef")
        allowed = None
        allowed_text = self.text_of(element.find(self.q("allowedValues")))
        if allowed_text is not None:
            allowed = self.compile(compile_unary_tests, allowed_text, element,
                                   f"allowed values of type {name!r}")
        components = {}
        for child in element.findall(self.q("itemComponent")):
            component = self.item_definition(child)
            components[component.name] = component
        return ItemDefinition(name, type_ref, allowed,
                              element.get("isCollection") == "true", components)

    def check_references(self, decisions, inputs, knowledge, root) -> None:
        for decision in decisions.values():
            for ref, pool, kind in ((decision.required_decisions, decisions, "decision"),
                                    (decision.required_inputs, inputs, "input data"),
                                    (decision.required_knowledge, knowledge, "knowledge")):
                for target in ref:
                    if target not in pool:
                        self.problems.append(Problem(
                            f"decision {decision.name!r} requires unknown {kind} {target!r}",
                            file=self.filename, line=decision.line, element_id=decision.id))
        # a cycle would recurse forever at evaluation time
        state: dict[str, int] = {}

        def visit(decision_id: str, path: list[str]) -> None:
            if state.get(decision_id) == 2 or decision_id not in decisions:
                return
            if state.get(decision_id) == 1:
                cycle = " -> ".join(path[path.index(decision_id):] + [decision_id])
                self.problems.append(Problem(f"decision requirements form a cycle: {cycle}",
                                             file=self.filename, element_id=decision_id,
                                             line=decisions[decision_id].line))
                return
            state[decision_id] = 1
            for required in decisions[decision_id].required_decisions:
                visit(required, path + [decision_id])
            state[decision_id] = 2

        for decision_id in decisions:
            visit(decision_id, [])

    # ---- decisions and knowledge
    def requirements(self, element: etree._Element, tag: str, child: str) -> tuple[str, ...]:
        refs = []
        for requirement in element.findall(self.q(tag)):
            target = self.href_id(requirement.find(self.q(child)))
            if target:
                refs.append(target)
        return tuple(refs)

    def decision(self, element: etree._Element) -> Decision:
        decision_id = element.get("id") or element.get("name") or ""
        name = element.get("name") or decision_id
        if not element.get("id"):
            self.problem(f"decision {name!r} has no id", element)
        return Decision(
            id=decision_id, name=name, type_ref=self.variable_type(element),
            logic=self.logic(element, name),
            required_decisions=self.requirements(element, "informationRequirement",
                                                 "requiredDecision"),
            required_inputs=self.requirements(element, "informationRequirement",
                                              "requiredInput"),
            required_knowledge=self.requirements(element, "knowledgeRequirement",
                                                 "requiredKnowledge"),
            line=element.sourceline)

    def knowledge_model(self, element: etree._Element) -> BusinessKnowledgeModel:
        name = element.get("name") or element.get("id") or ""
        logic_holder = element.find(self.q("encapsulatedLogic"))
        parameters: tuple[tuple[str, str | None], ...] = ()
        logic = None
        if logic_holder is not None:
            parameters = tuple((p.get("name") or "", p.get("typeRef"))
                               for p in logic_holder.findall(self.q("formalParameter")))
            logic = self.logic(logic_holder, name)
        return BusinessKnowledgeModel(element.get("id") or name, name, parameters, logic,
                                      self.requirements(element, "knowledgeRequirement",
                                                        "requiredKnowledge"))

    def logic(self, holder: etree._Element, owner: str) -> Logic | None:
        table = holder.find(self.q("decisionTable"))
        if table is not None:
            return self.decision_table(table, owner)
        literal = holder.find(self.q("literalExpression"))
        if literal is not None:
            self.check_language(literal, f"literal expression of {owner!r}")
            text = self.text_of(literal) or ""
            compiled = self.compile(compile_expression, text or "null", literal,
                                    f"literal expression of {owner!r}",
                                    holder.get("id"))
            return LiteralExpression(text, compiled) if compiled else None
        if holder.tag == self.q("decision"):
            self.problem(f"decision {owner!r} has neither a decision table nor a literal "
                         "expression (other boxed expressions are not supported)", holder)
        return None

    def decision_table(self, table: etree._Element, owner: str) -> DecisionTable | None:
        hit_policy = (table.get("hitPolicy") or "UNIQUE").upper()
        aggregation = table.get("aggregation")
        if hit_policy not in HIT_POLICIES:
            self.problem(f"unknown hit policy {hit_policy!r}", table)
        if aggregation is not None:
            aggregation = aggregation.upper()
            if aggregation not in AGGREGATIONS or hit_policy != "COLLECT":
                self.problem(f"aggregation {aggregation!r} needs hit policy COLLECT and one of "
                             f"{sorted(AGGREGATIONS)}", table)
        inputs = tuple(self.input_clause(e, i) for i, e in
                       enumerate(table.findall(self.q("input")), 1))
        outputs = tuple(self.output_clause(e, owner, len(table.findall(self.q("output"))))
                        for e in table.findall(self.q("output")))
        if not outputs:
            self.problem(f"decision table of {owner!r} has no output", table)
        if aggregation and len(outputs) > 1:
            self.problem("a COLLECT aggregation needs exactly one output", table)
        rules = tuple(self.rule(e, index, inputs, outputs)
                      for index, e in enumerate(table.findall(self.q("rule")), 1))
        if any(i is None for i in inputs) or any(r is None for r in rules):
            return None
        return DecisionTable(hit_policy, aggregation, inputs, outputs, rules)  # type: ignore

    def input_clause(self, element: etree._Element, index: int) -> InputClause | None:
        label = element.get("label") or element.get("id") or f"input {index}"
        expression_element = element.find(self.q("inputExpression"))
        if expression_element is None:
            self.problem(f"input {label!r} has no inputExpression", element)
            return None
        self.check_language(expression_element, f"input {label!r}")
        text = self.text_of(expression_element) or ""
        expression = self.compile(compile_expression, text or "null", expression_element,
                                  f"input expression of {label!r}", element.get("id"))
        allowed_text = self.text_of(element.find(self.q("inputValues")))
        allowed = None
        if allowed_text is not None and allowed_text.strip():
            allowed = self.compile(compile_unary_tests, allowed_text, element,
                                   f"input values of {label!r}")
        if expression is None:
            return None
        return InputClause(element.get("id"), label, expression,
                           expression_element.get("typeRef"), allowed,
                           element.get(f"{{{CAMUNDA_NS}}}inputVariable") or "cellInput")

    def output_clause(self, element: etree._Element, owner: str, count: int) -> OutputClause:
        name = element.get("name") or (owner if count == 1 else element.get("label")) or \
            element.get("id") or owner
        allowed_text = self.text_of(element.find(self.q("outputValues")))
        allowed = None
        if allowed_text is not None and allowed_text.strip():
            allowed = self.compile(compile_unary_tests, allowed_text, element,
                                   f"output values of {name!r}")
        default = None
        default_text = self.text_of(element.find(self.q("defaultOutputEntry")))
        if default_text is not None and default_text.strip():
            default = self.compile(compile_expression, default_text, element,
                                   f"default output of {name!r}")
        return OutputClause(element.get("id"), name, element.get("typeRef"), allowed, default)

    def rule(self, element: etree._Element, index: int, inputs, outputs) -> Rule | None:
        ref: str | int = element.get("id") or index
        entries = element.findall(self.q("inputEntry"))
        results = element.findall(self.q("outputEntry"))
        rule_id = element.get("id")
        if len(entries) != len(inputs) or len(results) != len(outputs):
            self.problem(f"rule {ref} has {len(entries)} input and {len(results)} output "
                         f"entries, the table has {len(inputs)} and {len(outputs)}", element)
            return None
        tests = []
        for column, (entry, clause) in enumerate(zip(entries, inputs), 1):
            label = clause.label if clause else f"column {column}"
            tests.append(self.compile(compile_unary_tests, self.text_of(entry) or "", entry,
                                      f"rule {ref}, input column {column} ({label!r})",
                                      rule_id))
        values = []
        for column, (entry, clause) in enumerate(zip(results, outputs), 1):
            self.check_language(entry, f"rule {ref}, output column {column}")
            text = (self.text_of(entry) or "").strip() or "null"
            values.append(self.compile(compile_expression, text, entry,
                                       f"rule {ref}, output column {column} "
                                       f"({clause.name!r})", rule_id))
        if any(t is None for t in tests) or any(v is None for v in values):
            return None
        return Rule(ref, tuple(tests), tuple(values))
