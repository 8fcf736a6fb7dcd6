"""Instances stored by the SpiffWorkflow-based engine keep running after the upgrade.

``tests/fixtures/legacy/spiff_instances.json`` holds the rows (deployments, definitions,
instances in SpiffWorkflow's serialized form, subscriptions, external tasks) that the engine
as of main 9d1edc3 wrote for seven instances stopped at different wait states. Loaded into a
fresh database, each one must go on from exactly where it stood: the same external task ids
and idempotency keys, its subscriptions re-pointed, its variables kept.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from engine import clock
from engine.db import Base
from engine.persistence import EventSubscription, ExternalTaskRow, ProcessInstance

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "legacy" / "spiff_instances.json"
TABLES = ["mlc_deployments", "mlc_resources", "mlc_process_definitions", "mlc_process_instances",
          "mlc_instance_variables", "mlc_event_subscriptions", "mlc_external_tasks"]


def _value(column, value):
    if value is None:
        return None
    kind = column.type.__class__.__name__
    if kind == "LargeBinary":
        return bytes.fromhex(value)
    if kind == "UTCDateTime":
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if kind == "JSON" and isinstance(value, str):
        return json.loads(value)
    return value


@pytest.fixture
def legacy(harness):
    data = json.loads(FIXTURE.read_text())
    with harness.db.engine.begin() as conn:
        for name in TABLES:
            table = Base.metadata.tables[name]
            rows = [{c.name: _value(c, row[c.name]) for c in table.columns if c.name in row}
                    for row in data[name]]
            if rows:
                conn.execute(insert(table), rows)
    return harness, data["_ids"]


@pytest.fixture
def upgraded(legacy):
    """The stored instances after the upgrade step (``mlc db upgrade`` / ``mlc serve``)."""
    harness, ids = legacy
    assert harness.engine.convert_stored_instances() == 7
    assert harness.engine.convert_stored_instances() == 0
    return harness, ids


def _task(harness, instance_id, topic):
    [task] = [t for t in harness.tasks.list(topic=topic) if t.instance_id == instance_id]
    return task


def _finish(harness, instance_id, topic, variables=None):
    task = _task(harness, instance_id, topic)
    [locked] = [t for t in harness.tasks.fetch_and_lock("w", [topic], 10) if t.id == task.id]
    harness.tasks.complete(locked.id, "w", variables or {})
    return task


def test_message_wait_after_a_completed_sub_process(legacy):
    harness, ids = legacy
    instance = ids["sub_then_message"]
    assert harness.engine.correlate_message("go", business_key="bk-sub") == [instance]
    done = harness.engine.get_instance(instance)
    assert done.status == "completed" and done.variables["route"] == "normal"
    assert done.variables["a_done"] is True and done.variables["n"] == 1


def test_external_task_inside_a_sub_process_keeps_its_id_and_idempotency_key(legacy):
    harness, ids = legacy
    instance = ids["sub_then_message_2"]
    before = _task(harness, instance, "legacy.b")
    task = _finish(harness, instance, "legacy.b", {"b_done": True})
    assert (task.id, task.idempotency_key) == (before.id, before.idempotency_key)
    assert harness.engine.get_instance(instance).active_activities == ["wait_go"]
    harness.engine.correlate_message("go", business_key="bk-sub2")
    done = harness.engine.get_instance(instance)
    assert done.status == "completed" and done.variables["b_done"] is True


def test_an_overdue_boundary_timer_of_a_stored_instance_fires_once(legacy):
    harness, ids = legacy
    instance = ids["timers"]
    clock.advance(timedelta(hours=1, minutes=1))  # the fixture's boundary is due 1 h after it
    assert harness.engine.fire_due_timers() == 1
    assert harness.engine.fire_due_timers() == 0
    done = harness.engine.get_instance(instance)
    assert done.status == "completed" and done.variables["route"] == "late"
    assert harness.tasks.list(instance_id=instance) == []


def test_a_join_with_one_branch_arrived_waits_for_the_other(legacy):
    harness, ids = legacy
    instance = ids["parallel"]
    _finish(harness, instance, "legacy.pb", {"pb_done": True})
    done = harness.engine.get_instance(instance)
    assert done.status == "completed"
    assert done.variables["pa_done"] is True and done.variables["pb_done"] is True


def test_an_event_based_gateway_still_waits_for_its_message(legacy):
    harness, ids = legacy
    instance = ids["event_gateway"]
    assert harness.engine.correlate_message("go", business_key="bk-gw") == [instance]
    done = harness.engine.get_instance(instance)
    assert done.status == "completed" and done.variables["route"] == "message"
    with harness.db.session() as s:  # the gateway's timer went with it
        assert s.scalars(select(EventSubscription).where(
            EventSubscription.instance_id == instance)).all() == []


def test_a_called_process_returns_to_its_caller(legacy):
    harness, ids = legacy
    instance = ids["call_activity"]
    _finish(harness, instance, "legacy.child")
    done = harness.engine.get_instance(instance)
    assert done.status == "completed" and done.variables["route"] == "returned"


def test_an_event_sub_process_subscription_is_indexed_by_the_upgrade(upgraded):
    harness, ids = upgraded
    instance = ids["event_subprocess"]
    assert harness.engine.signal("poke").resumed == [instance]
    running = harness.engine.get_instance(instance)
    assert running.status == "waiting" and running.variables["poked"] is True
    _finish(harness, instance, "legacy.main")
    assert harness.engine.get_instance(instance).status == "completed"


def test_the_upgrade_stores_the_current_format_and_keeps_waiting_tasks(upgraded):
    harness, ids = upgraded
    with harness.db.session() as s:
        assert all(r.state.startswith('{"v":2') for r in s.scalars(select(ProcessInstance)))
    assert harness.engine.get_instance(ids["call_activity"]).active_activities == ["call", "ct"]
    assert len(harness.tasks.list()) == 5


def test_the_first_write_stores_the_current_format(legacy):
    harness, ids = legacy
    instance = ids["parallel"]
    _finish(harness, instance, "legacy.pb")
    with harness.db.session() as s:
        state = s.get(ProcessInstance, instance).state
        assert state.startswith('{"v":2')
        assert s.scalars(select(ExternalTaskRow).where(
            ExternalTaskRow.instance_id == instance)).all() == []
