"""Reading a ``decisionTable`` element: hit policy, clauses and rules, every cell compiled."""

from __future__ import annotations

from lxml import etree

from engine.dmn.model import DecisionTable, InputClause, OutputClause, Rule
from engine.dmn.reader import Reader

CAMUNDA_NS = "http://camunda.org/schema/1.0/dmn"
HIT_POLICIES = {"UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE ORDER", "OUTPUT ORDER"}
AGGREGATIONS = {"SUM", "MIN", "MAX", "COUNT"}


def read_table(reader: Reader, table: etree._Element, owner: str) -> DecisionTable | None:
    """The decision table, or None when it has problems (recorded on ``reader``)."""
    hit_policy = (table.get("hitPolicy") or "UNIQUE").upper()
    aggregation = table.get("aggregation")
    if hit_policy not in HIT_POLICIES:
        reader.problem(f"unknown hit policy {hit_policy!r}", table)
    if aggregation is not None:
        aggregation = aggregation.upper()
        if aggregation not in AGGREGATIONS or hit_policy != "COLLECT":
            reader.problem(f"aggregation {aggregation!r} needs hit policy COLLECT and one of "
                           f"{sorted(AGGREGATIONS)}", table)
    inputs = tuple(_input_clause(reader, e, i)
                   for i, e in enumerate(reader.children(table, "input"), 1))
    output_elements = reader.children(table, "output")
    outputs = tuple(_output_clause(reader, e, owner, len(output_elements))
                    for e in output_elements)
    if not outputs:
        reader.problem(f"decision table of {owner!r} has no output", table)
    if aggregation and len(outputs) > 1:
        reader.problem("a COLLECT aggregation needs exactly one output", table)
    rules = tuple(_rule(reader, e, index, inputs, outputs)
                  for index, e in enumerate(reader.children(table, "rule"), 1))
    read_inputs = tuple(i for i in inputs if i is not None)
    read_rules = tuple(r for r in rules if r is not None)
    if len(read_inputs) < len(inputs) or len(read_rules) < len(rules):
        return None
    return DecisionTable(hit_policy, aggregation, read_inputs, outputs, read_rules,
                         table.get("outputLabel"))


def _input_clause(reader: Reader, element: etree._Element, index: int) -> InputClause | None:
    label = element.get("label") or element.get("id") or f"input {index}"
    expression_element = element.find(reader.q("inputExpression"))
    if expression_element is None:
        reader.problem(f"input {label!r} has no inputExpression", element)
        return None
    reader.check_language(expression_element, f"input {label!r}")
    text = reader.text_of(expression_element) or ""
    expression = reader.expression(text or "null", expression_element,
                                   f"input expression of {label!r}", element.get("id"))
    allowed_text = reader.text_of(element.find(reader.q("inputValues")))
    allowed = None
    if allowed_text is not None and allowed_text.strip():
        allowed = reader.unary_tests(allowed_text, element, f"input values of {label!r}")
    if expression is None:
        return None
    return InputClause(element.get("id"), label, expression, expression_element.get("typeRef"),
                       allowed, element.get(f"{{{CAMUNDA_NS}}}inputVariable") or "cellInput")


def _output_clause(reader: Reader, element: etree._Element, owner: str,
                   count: int) -> OutputClause:
    name = element.get("name") or (owner if count == 1 else element.get("label")) or \
        element.get("id") or owner
    allowed_text = reader.text_of(element.find(reader.q("outputValues")))
    allowed = None
    if allowed_text is not None and allowed_text.strip():
        allowed = reader.unary_tests(allowed_text, element, f"output values of {name!r}")
    default = None
    default_text = reader.text_of(element.find(reader.q("defaultOutputEntry")))
    if default_text is not None and default_text.strip():
        default = reader.expression(default_text, element, f"default output of {name!r}")
    return OutputClause(element.get("id"), name, element.get("typeRef"), allowed, default)


def _rule(reader: Reader, element: etree._Element, index: int,
          inputs: tuple[InputClause | None, ...],
          outputs: tuple[OutputClause, ...]) -> Rule | None:
    ref: str | int = element.get("id") or index
    entries = reader.children(element, "inputEntry")
    results = reader.children(element, "outputEntry")
    rule_id = element.get("id")
    if len(entries) != len(inputs) or len(results) != len(outputs):
        reader.problem(f"rule {ref} has {len(entries)} input and {len(results)} output "
                       f"entries, the table has {len(inputs)} and {len(outputs)}", element)
        return None
    tests = []
    for column, (entry, clause) in enumerate(zip(entries, inputs), 1):
        label = clause.label if clause else f"column {column}"
        tests.append(reader.unary_tests(reader.text_of(entry) or "", entry,
                                        f"rule {ref}, input column {column} ({label!r})",
                                        rule_id))
    values = []
    for column, (entry, output) in enumerate(zip(results, outputs), 1):
        reader.check_language(entry, f"rule {ref}, output column {column}")
        text = (reader.text_of(entry) or "").strip() or "null"
        values.append(reader.expression(text, entry, f"rule {ref}, output column {column} "
                                                      f"({output.name!r})", rule_id))
    valid_tests = [t for t in tests if t is not None]
    valid_values = [v for v in values if v is not None]
    if len(valid_tests) < len(tests) or len(valid_values) < len(values):
        return None
    return Rule(ref, tuple(valid_tests), tuple(valid_values))
