"""The shipped BPMN / DMN files: valid against the BPMN 2.0 XSD (the OMG schema files that
SpiffWorkflow ships), diagram interchange for every flow node and flow, Camunda dialect, and
deployable as one set (that part: tests/integration/test_process_*.py,
whose fixture deploys processes/ and dmn/ together)."""

from __future__ import annotations

from pathlib import Path

import pytest
import SpiffWorkflow
from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ["deploy_with_test_and_jira.bpmn", "run_back_test.bpmn", "run_batch_job.bpmn"]
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC",
      "di": "http://www.omg.org/spec/DD/20100524/DI",
      "camunda": "http://camunda.org/schema/1.0/bpmn"}
FLOW_NODES = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
              "boundaryEvent", "task", "serviceTask", "sendTask", "receiveTask", "userTask",
              "businessRuleTask", "scriptTask", "subProcess", "callActivity",
              "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway")


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    folder = Path(SpiffWorkflow.__file__).parent / "bpmn" / "parser" / "schema"
    return etree.XMLSchema(etree.parse(str(folder / "BPMN20.xsd")))


@pytest.mark.parametrize("name", SHIPPED)
def test_valid_against_bpmn20_xsd(schema, name):
    doc = etree.parse(str(ROOT / "processes" / name))
    assert schema.validate(doc), [f"{e.line}: {e.message}" for e in schema.error_log]


@pytest.mark.parametrize("name", SHIPPED)
def test_every_flow_node_has_a_shape_and_every_flow_an_edge(name):
    root = etree.parse(str(ROOT / "processes" / name)).getroot()
    nodes = {el.get("id") for tag in FLOW_NODES for el in root.iter(f"{{{NS['bpmn']}}}{tag}")}
    flows = {el.get("id") for el in root.iter(f"{{{NS['bpmn']}}}sequenceFlow")}
    shapes = {s.get("bpmnElement"): s for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    assert nodes and nodes <= set(shapes), sorted(nodes - set(shapes))
    assert flows and flows <= set(edges), sorted(flows - set(edges))
    planes = root.findall(".//bpmndi:BPMNPlane", NS)
    process_ids = {p.get("id") for p in root.findall("bpmn:process", NS)}
    assert len(planes) == 1 and planes[0].get("bpmnElement") in process_ids
    for element, shape in shapes.items():
        bounds = shape.find("dc:Bounds", NS)
        assert bounds is not None and float(bounds.get("width")) > 0, element
        assert float(bounds.get("x")) >= 0 and float(bounds.get("y")) >= 0, element
    for element, edge in edges.items():
        assert len(edge.findall("di:waypoint", NS)) >= 2, element


@pytest.mark.parametrize("name", SHIPPED)
def test_written_in_the_camunda_dialect(name):
    root = etree.parse(str(ROOT / "processes" / name)).getroot()
    for task in root.iter(f"{{{NS['bpmn']}}}serviceTask"):
        assert task.get(f"{{{NS['camunda']}}}type") == "external", task.get("id")
        assert task.get(f"{{{NS['camunda']}}}topic"), task.get("id")
    [process] = root.findall("bpmn:process", NS)
    assert process.get("isExecutable") == "true"
    ids = [el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")]
    assert len(ids) == len(set(ids))


def test_boundary_events_sit_on_their_task_border():
    for name in SHIPPED:
        root = etree.parse(str(ROOT / "processes" / name)).getroot()
        bounds = {s.get("bpmnElement"): s.find("dc:Bounds", NS)
                  for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
        for event in root.iter(f"{{{NS['bpmn']}}}boundaryEvent"):
            host, own = bounds[event.get("attachedToRef")], bounds[event.get("id")]
            hx, hy = float(host.get("x")), float(host.get("y"))
            hw, hh = float(host.get("width")), float(host.get("height"))
            cx = float(own.get("x")) + float(own.get("width")) / 2
            cy = float(own.get("y")) + float(own.get("height")) / 2
            assert hx <= cx <= hx + hw and cy in (hy, hy + hh), (name, event.get("id"))

