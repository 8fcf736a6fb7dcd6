"""Instance summaries carry the process's outcome next to the engine's status, and lists
filter on it (SQLite and PostgreSQL)."""

from __future__ import annotations

from engine import Engine
from tests.support.bpmn import bpmn, chain

STRAIGHT = bpmn("straight", '<bpmn:startEvent id="s"/>', '<bpmn:endEvent id="e"/>',
                chain("s", "e"))


def test_a_failed_instance_says_so_next_to_completed(harness):
    harness.deploy("straight.bpmn", STRAIGHT)
    failed = harness.engine.start("straight", {"OUTCOME": "failed"})
    deployed = harness.engine.start("straight", {"OUTCOME": "deployed"})
    silent = harness.engine.start("straight", {})
    assert (failed.status, failed.outcome) == ("completed", "failed")
    assert harness.engine.get_instance(silent.id).outcome is None
    listed = {i.id: i.outcome for i in harness.engine.list_instances()}
    assert listed == {failed.id: "failed", deployed.id: "deployed", silent.id: None}
    assert [i.id for i in harness.engine.list_instances(outcome="failed")] == [failed.id]
    assert harness.engine.list_instances(outcome="fail") == []


def test_the_outcome_variable_is_an_engine_setting(harness):
    engine = Engine(harness.db, outcome_variable="RESULT")
    engine.deploy([("straight.bpmn", STRAIGHT)])
    instance = engine.start("straight", {"RESULT": "scored", "OUTCOME": "ignored"})
    assert instance.outcome == "scored"
    assert [i.id for i in engine.list_instances(outcome="scored")] == [instance.id]
