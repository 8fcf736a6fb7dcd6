"""Reading and running DMN TCK test cases (testCases.xsd), counted as the TCK counts them.

One ``<testCase>`` is one case; it passes when every one of its result nodes matches; a
result node marked ``errorResult="true"`` expects null. Cases that do not pass are listed,
with the reason, in ``level3-not-passing.txt`` (level 2 passes entirely).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

from engine.dmn import DmnDefinitions, load_dmn_files
from engine.errors import MlcError
from engine.feel import Range, temporal, temporal_parse

TCK_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "dmn-tck"
LEVELS = {2: TCK_ROOT / "compliance-level-2", 3: TCK_ROOT / "compliance-level-3"}
NOT_PASSING = Path(__file__).with_name("level3-not-passing.txt")
RELATIVE_TOLERANCE = Decimal("1e-12")
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_NUMBER_TYPES = {"decimal", "integer", "int", "long", "double", "float", "short"}


@dataclass
class ResultNode:
    name: str
    expected: Any
    error_result: bool = False


@dataclass
class TckCase:
    """One ``testCase`` of one file: inputs by name and the expected results."""

    case_id: str
    level: int
    model: Path
    inputs: dict[str, Any]
    results: list[ResultNode] = field(default_factory=list)
    kind: str = "decision"
    invocable: str | None = None
    imported_inputs: dict[str, dict[str, Any]] = field(default_factory=dict)


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def read_value(element: etree._Element | None) -> Any:
    """A valueType element (value | component* | list) as a FEEL value."""
    if element is None or element.get(f"{{{XSI}}}nil") == "true":
        return None
    children = [c for c in element if isinstance(c.tag, str) and _local(c) != "extensionElements"]
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
    text = (element.text or "").strip()
    kind = (element.get(f"{{{XSI}}}type") or "xsd:string").split(":")[-1]
    if kind in _NUMBER_TYPES:
        return Decimal(text)
    if kind == "boolean":
        return text == "true"
    parser = {"date": temporal_parse.parse_date, "dateTime": temporal_parse.parse_date_time,
              "time": temporal_parse.parse_time, "duration": temporal_parse.parse_duration,
              "dayTimeDuration": temporal_parse.parse_duration,
              "yearMonthDuration": temporal_parse.parse_duration}.get(kind)
    if parser is not None:
        value = parser(text)
        if value is None:
            raise ValueError(f"invalid xsd:{kind} {text!r}")
        return value
    return element.text or ""


def read_cases(test_file: Path, level: int) -> list[TckCase]:
    root = etree.parse(str(test_file)).getroot()
    ns = etree.QName(root).namespace
    model = test_file.parent / root.findtext(f"{{{ns}}}modelName").strip()
    suffix = "" if test_file.stem.endswith("-test-01") else "@" + test_file.stem.rsplit("-", 1)[-1]
    cases = []
    for element in root.findall(f"{{{ns}}}testCase"):
        inputs: dict[str, Any] = {}
        imported: dict[str, dict[str, Any]] = {}
        for node in element.findall(f"{{{ns}}}inputNode"):
            target = imported.setdefault(node.get("namespace"), {}) if node.get("namespace") \
                else inputs
            target[node.get("name")] = read_value(node)
        results = [ResultNode(node.get("name"), read_value(node.find(f"{{{ns}}}expected")),
                              node.get("errorResult") == "true")
                   for node in element.findall(f"{{{ns}}}resultNode")]
        case_id = f"{test_file.parent.name}/{element.get('id')}{suffix}"
        cases.append(TckCase(case_id, level, model, inputs, results,
                             element.get("type", "decision"), element.get("invocableName"),
                             imported))
    return cases


def all_cases(level: int) -> list[TckCase]:
    folder = LEVELS[level]
    if not folder.is_dir():
        return []
    cases = []
    for test_file in sorted(folder.glob("*/*-test-*.xml")):
        cases.extend(read_cases(test_file, level))
    return cases


@functools.cache
def models_in(folder: Path) -> dict[str, DmnDefinitions] | MlcError:
    """Every DMN file of one TCK folder, loaded together (they may import each other)."""
    files = [(p.name, p.read_bytes()) for p in sorted(folder.glob("*.dmn"))]
    try:
        return load_dmn_files(files)
    except MlcError as exc:
        return exc


def run_case(case: TckCase, require_errors: bool = False) -> str | None:
    """None when the case passes, else why not (one line).

    Args:
        require_errors: an error result must also come with a reported error (what the
            level-2 suite has always asked), not just null.
    """
    models = models_in(case.model.parent)
    if isinstance(models, MlcError):
        return f"model refused: {models.message[:300]}"
    definitions = models[case.model.name]
    if case.kind == "decisionService":
        try:
            outcome = definitions.evaluate(case.invocable, case.inputs, strict=False,
                                           imported_inputs=case.imported_inputs)
        except MlcError as exc:
            return f"{case.invocable}: {exc.message[:200]}"
        actual_of = lambda node: outcome.outputs.get(node.name)  # noqa: E731
        errors = outcome.errors
    else:
        results = {}
        errors = []
        for node in case.results:
            try:
                result = definitions.evaluate(node.name, case.inputs, strict=False,
                                              imported_inputs=case.imported_inputs)
            except MlcError as exc:
                return f"{node.name}: {exc.message[:200]}"
            results[node.name] = result.value
            errors.extend(result.errors)
        actual_of = lambda node: results[node.name]  # noqa: E731
    for node in case.results:
        actual = actual_of(node)
        expected = None if node.error_result else node.expected
        if not same_value(actual, expected):
            detail = f" (errors: {'; '.join(errors)[:200]})" if errors else ""
            return f"{node.name}: expected {show(expected)}, got {show(actual)}{detail}"
        if node.error_result and require_errors and not errors:
            return f"{node.name}: null as expected, but no error was reported"
    return None


def show(value: Any) -> str:
    text = repr(value) if not isinstance(value, (list, dict)) else str(value)
    return text if len(text) <= 120 else text[:117] + "..."


def same_value(actual: Any, expected: Any) -> bool:
    """TCK comparison: lists item by item, contexts component by component, nil as None,
    dates, times and durations by type and canonical text (so the zone must match too),
    numbers by decimal value within a relative 1e-12.

    The tolerance is needed because some expected numbers were produced in binary floating
    point: 0008-LX-arithmetic/002 expects 562.707359373292 while the exact decimal result is
    562.7073593732659... (IEEE double gives 562.7073593732719). Expected numbers written with
    8 or more decimals are compared to the precision written (0052-feel-exp-function expects
    exp(4) as 54.59815003)."""
    if expected is None:
        return actual is None
    if isinstance(expected, Decimal):
        if type(actual) is not Decimal:
            return False
        if actual == expected:
            return True
        difference = abs(actual - expected)
        if difference <= RELATIVE_TOLERANCE * max(abs(expected), Decimal(1)):
            return True
        places = -expected.as_tuple().exponent
        return places >= 8 and difference < Decimal(1).scaleb(-places)
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and \
            all(same_value(a, e) for a, e in zip(actual, expected))
    if isinstance(expected, dict):
        return isinstance(actual, dict) and set(actual) == set(expected) and \
            all(same_value(actual[k], v) for k, v in expected.items())
    if isinstance(expected, temporal.TEMPORAL_TYPES):
        return type(actual) is type(expected) and str(actual) == str(expected)
    if isinstance(actual, Range):
        return False
    return type(actual) is type(expected) and actual == expected


def not_passing_list() -> dict[str, str]:
    """{case id: reason} of the level-3 cases known not to pass (the listed file)."""
    if not NOT_PASSING.is_file():
        return {}
    listed = {}
    for line in NOT_PASSING.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            case_id, _, reason = line.partition("  ")
            listed[case_id.strip()] = reason.strip()
    return listed
