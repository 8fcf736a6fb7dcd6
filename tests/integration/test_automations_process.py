"""The shipped processes/build_and_deploy.bpmn: deployable, and a complete diagram for the
Modeler (a shape for every node, an edge for every flow)."""

from __future__ import annotations

from connectors.automations._service import PROCESS_FILE
from tests.support.automations import automation_application
from tests.unit.test_automation_declarations import diagram_gaps


def test_build_and_deploy_has_complete_diagram_interchange():
    data = PROCESS_FILE.read_bytes()
    assert diagram_gaps(data) == set()
    for topic in (b"automation.build", b"automation.evaluate-condition", b"automation.deploy",
                  b"automation.notify"):
        assert topic in data


def test_build_and_deploy_deploys_once(sqlite_database, tmp_path):
    application = automation_application(sqlite_database, tmp_path)
    application.automations.ensure_process()
    again = application.engine.deploy([(PROCESS_FILE.name, PROCESS_FILE.read_bytes())])
    assert again.filtered == ["build_and_deploy"]
    [definition] = application.engine.list_definitions("build_and_deploy")
    assert definition.version == 1
