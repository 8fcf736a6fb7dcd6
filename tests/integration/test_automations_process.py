"""The shipped processes/build_and_deploy.bpmn: deployable, and a complete diagram for the
Modeler (a shape for every node, an edge for every flow)."""

from __future__ import annotations

from connectors.automations._service import PROCESS_FILE
from tests.support.automations import automation_runtime
from tests.unit.test_automation_declarations import diagram_gaps


def test_build_and_deploy_has_complete_diagram_interchange():
    data = PROCESS_FILE.read_bytes()
    assert diagram_gaps(data) == set()
    for topic in (b"automation.build", b"automation.evaluate-condition", b"automation.deploy",
                  b"automation.notify"):
        assert topic in data


def test_build_and_deploy_deploys_once(sqlite_database, tmp_path):
    rt = automation_runtime(sqlite_database, tmp_path)
    rt.automations.ensure_process()
    again = rt.engine.deploy([(PROCESS_FILE.name, PROCESS_FILE.read_bytes())])
    assert again.filtered == ["build_and_deploy"]
    [definition] = rt.engine.list_definitions("build_and_deploy")
    assert definition["version"] == 1
