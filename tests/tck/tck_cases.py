"""Reading DMN TCK test-case files (testCases.xsd) into Python values to run and compare."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

from engine.feel import temporal

TCK_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "dmn-tck"
LEVEL_2 = TCK_ROOT / "compliance-level-2"
RELATIVE_TOLERANCE = Decimal("1e-12")
XSI = "http://www.w3.org/2001/XMLSchema-instance"


@dataclass
class ResultNode:
    name: str
    expected: Any
    error_result: bool = False


@dataclass
class TckCase:
    """One ``testCase`` of one file: inputs by name and the expected decision results."""

    case_id: str
    model: Path
    inputs: dict[str, Any]
    results: list[ResultNode] = field(default_factory=list)
    kind: str = "decision"


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def read_value(element: etree._Element | None) -> Any:
    """A valueType element (value | component* | list) as a Python/FEEL value."""
    if element is None:
        return None
    children = [c for c in element if isinstance(c.tag, str) and _local(c) != "extensionElements"]
    if element.get(f"{{{XSI}}}nil") == "true":
        return None
    if not children:
        return None
    first = children[0]
    name = _local(first)
    if name == "value":
        return _scalar(first)
    if name == "list":
        if first.get(f"{{{XSI}}}nil") == "true":
            return None
        return [read_value(item) for item in first if isinstance(item.tag, str)]
    if name == "component":
        return {c.get("name"): read_value(c) for c in children if _local(c) == "component"}
    raise ValueError(f"unexpected value element {name!r}")


def _scalar(element: etree._Element) -> Any:
    if element.get(f"{{{XSI}}}nil") == "true":
        return None
    text = element.text or ""
    kind = (element.get(f"{{{XSI}}}type") or "xsd:string").split(":")[-1]
    if kind in ("decimal", "integer", "int", "long", "double", "float", "short"):
        return Decimal(text.strip())
    if kind == "boolean":
        return text.strip() == "true"
    if kind == "date":
        return temporal.parse_date(text.strip())
    if kind == "dateTime":
        return temporal.parse_date_time(text.strip())
    if kind == "time":
        return temporal.parse_time(text.strip())
    if kind in ("duration", "dayTimeDuration", "yearMonthDuration"):
        return temporal.parse_duration(text.strip())
    return text


def read_cases(test_file: Path) -> list[TckCase]:
    root = etree.parse(str(test_file)).getroot()
    ns = etree.QName(root).namespace
    model = test_file.parent / root.findtext(f"{{{ns}}}modelName").strip()
    cases = []
    for element in root.findall(f"{{{ns}}}testCase"):
        inputs = {node.get("name"): read_value(node)
                  for node in element.findall(f"{{{ns}}}inputNode")}
        results = [ResultNode(node.get("name"), read_value(node.find(f"{{{ns}}}expected")),
                              node.get("errorResult") == "true")
                   for node in element.findall(f"{{{ns}}}resultNode")]
        case_id = f"{test_file.parent.name}/{element.get('id')}"
        cases.append(TckCase(case_id, model, inputs, results, element.get("type", "decision")))
    return cases


def all_cases() -> list[TckCase]:
    if not LEVEL_2.is_dir():
        return []
    cases = []
    for test_file in sorted(LEVEL_2.glob("*/*-test-*.xml")):
        cases.extend(read_cases(test_file))
    return cases


def same_value(actual: Any, expected: Any) -> bool:
    """TCK comparison: lists item by item, contexts component by component, nil as None,
    numbers by decimal value within a relative 1e-12.

    The tolerance is needed because some expected numbers were produced in binary floating
    point: 0008-LX-arithmetic/002 expects 562.707359373292 while the exact decimal result is
    562.7073593732659... (IEEE double gives 562.7073593732719). 1e-12 is still a thousand
    times tighter than double precision errors on such formulas are allowed to matter."""
    if expected is None:
        return actual is None
    if isinstance(expected, Decimal):
        if not isinstance(actual, Decimal) or isinstance(actual, bool):
            return False
        if actual == expected:
            return True
        return abs(actual - expected) <= RELATIVE_TOLERANCE * max(abs(expected), Decimal(1))
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and \
            all(same_value(a, e) for a, e in zip(actual, expected))
    if isinstance(expected, dict):
        return isinstance(actual, dict) and set(actual) == set(expected) and \
            all(same_value(actual[k], v) for k, v in expected.items())
    return type(actual) is type(expected) and actual == expected
