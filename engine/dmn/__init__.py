"""DMN decisions: load a DMN 1.1-1.5 file (safely), evaluate its decisions with FEEL.

Public API::

    defs = load_dmn(xml_bytes, filename="approval.dmn")  # ValidationError with Problems
    result = defs.evaluate("approve", {"score": 0.93})    # decision, decision service or BKM
    result.result, result.matched_rules, result.errors, result.value
    map_decision_result(result, "singleEntry")            # Camunda's result shapes
    load_dmn_files([(name, data), ...])                   # files that import each other
"""

from engine.dmn.definitions import DmnDefinitions
from engine.dmn.loader import DMN_NAMESPACES, load_dmn, load_dmn_files
from engine.dmn.model import (
    BoxedExpression,
    BusinessKnowledgeModel,
    Decision,
    DecisionResult,
    DecisionService,
    DecisionTable,
    InputData,
    LiteralExpression,
    Rule,
)
from engine.dmn.results import MODES as MAP_DECISION_RESULT_MODES
from engine.dmn.results import map_decision_result
from engine.xmlsafe import MAX_XML_BYTES as MAX_DMN_BYTES

__all__ = [
    "BoxedExpression", "BusinessKnowledgeModel", "DMN_NAMESPACES", "Decision",
    "DecisionResult", "DecisionService", "DecisionTable", "DmnDefinitions", "InputData",
    "LiteralExpression", "MAP_DECISION_RESULT_MODES", "MAX_DMN_BYTES", "Rule", "load_dmn",
    "load_dmn_files", "map_decision_result",
]
