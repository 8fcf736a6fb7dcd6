"""The facade's values: attribute access for callers, and the JSON the REST API and the CLI
have always written (``to_json``), read back unchanged from an idempotent replay."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from engine import (
    DecisionDefinitionRecord,
    DeploymentResult,
    HistoryRecord,
    IncidentRecord,
    IncidentStatus,
    InstanceRecord,
    InstanceStatus,
    ProcessDefinitionRecord,
    ResourceDeploymentRecord,
    SignalResult,
    UserTaskRecord,
)


def _instance(**overrides) -> InstanceRecord:
    values = dict(id="i-1", definition_id="p:1:abc", key="p", business_key=None,
                  status=InstanceStatus.WAITING, outcome=None, variables={"x": 1},
                  active_activities=["task"], error=None,
                  created_at=datetime(2026, 5, 1, 14, 3, 7, 123456, tzinfo=UTC), ended_at=None,
                  incidents=[])
    return InstanceRecord(**{**values, **overrides})


def test_instance_json_has_the_keys_in_order_with_iso_times_and_state_text():
    data = _instance(ended_at=datetime(2026, 5, 1, 15, 0)).to_json()
    assert list(data) == ["id", "definition_id", "key", "business_key", "status", "outcome",
                          "variables", "active_activities", "error", "created_at", "ended_at",
                          "incidents"]
    assert data["status"] == "waiting" and type(data["status"]) is str
    assert data["created_at"] == "2026-05-01T14:03:07.123456+00:00"
    assert data["ended_at"] == "2026-05-01T15:00:00"


def test_an_instance_read_back_from_its_json_is_the_same_value():
    for record in (_instance(), _instance(ended_at=datetime(2026, 5, 2, tzinfo=UTC),
                                          status=InstanceStatus.COMPLETED, outcome="ok")):
        again = InstanceRecord.from_json(json.loads(json.dumps(record.to_json())))
        assert again == record and isinstance(again.status, InstanceStatus)


def test_a_signal_result_writes_the_answer_the_signal_routes_give():
    result = SignalResult(started=["a"], resumed=[], unheard=False)
    assert json.dumps(result.to_json()) == '{"started": ["a"], "resumed": [], "unheard": false}'


def test_an_instance_with_an_incident_writes_it_nested_and_reads_it_back():
    incident = IncidentRecord(id="n-1", instance_id="i-1", activity_id="call",
                              external_task_id="t-1", job_id=None, kind="failedExternalTask",
                              message="unreachable", status=IncidentStatus.OPEN,
                              created_at=datetime(2026, 5, 1, 14, 5), resolved_at=None)
    record = _instance(status=InstanceStatus.INCIDENT, incidents=[incident])
    data = json.loads(json.dumps(record.to_json()))
    assert data["incidents"] == [{"id": "n-1", "instance_id": "i-1", "activity_id": "call",
                                  "external_task_id": "t-1", "job_id": None,
                                  "kind": "failedExternalTask", "message": "unreachable",
                                  "status": "open", "created_at": "2026-05-01T14:05:00",
                                  "resolved_at": None}]
    assert InstanceRecord.from_json(data) == record


def test_a_history_entry_writes_its_time_as_iso_text():
    entry = HistoryRecord(id=7, at=datetime(2026, 5, 1, 14, 5, tzinfo=UTC), kind="instance.started",
                          activity_id=None, name="p", data={"trigger": "api"})
    assert entry.to_json() == {"id": 7, "at": "2026-05-01T14:05:00+00:00",
                               "kind": "instance.started", "activity_id": None, "name": "p",
                               "data": {"trigger": "api"}}


def test_a_deployment_result_writes_the_answer_post_deployments_gives():
    process = ProcessDefinitionRecord(id="p:2:abc", key="p", name="P", version=2,
                                      deployment_id="d-1", resource="p.bpmn", version_tag="r1")
    decision = DecisionDefinitionRecord(id="grade:1:def", key="grade", name=None, version=1,
                                        deployment_id="d-1")
    result = DeploymentResult(id="d-1", name="ship", created_at=datetime(2026, 5, 1, tzinfo=UTC),
                              processes=[process], decisions=[decision], filtered=["grade"])
    assert json.loads(json.dumps(result.to_json())) == {
        "id": "d-1", "name": "ship", "created_at": "2026-05-01T00:00:00+00:00",
        "processes": [{"id": "p:2:abc", "key": "p", "name": "P", "version": 2,
                       "deployment_id": "d-1", "resource": "p.bpmn", "version_tag": "r1"}],
        "decisions": [{"id": "grade:1:def", "key": "grade", "name": None, "version": 1,
                       "deployment_id": "d-1"}],
        "filtered": ["grade"]}


def test_a_stored_deployment_lists_with_its_source_and_tenant():
    record = ResourceDeploymentRecord(id="d-1", name="ship", source="mlc deploy", tenant_id=None,
                                      created_at=datetime(2026, 5, 1, 9, 30))
    assert record.to_json() == {"id": "d-1", "name": "ship", "source": "mlc deploy",
                                "tenant_id": None, "created_at": "2026-05-01T09:30:00"}


def test_a_user_task_writes_the_keys_the_native_task_api_has_always_answered():
    task = UserTaskRecord(
        id="t-1", name="Approve", instance_id="i-1", definition_id="p:1:abc", process_key="p",
        business_key="bk", activity_id="approve", assignee=None, candidate_users=[],
        candidate_groups=["risk"], due_date="2027-01-01T00:00:00Z", follow_up_date=None,
        priority=80, form_key="embedded:app:approve.html", form={"fields": []},
        created_at=datetime(2026, 5, 1, 8, 0, tzinfo=UTC))
    data = task.to_json()
    assert list(data) == ["id", "name", "instance_id", "definition_id", "process_key",
                          "business_key", "activity_id", "assignee", "candidate_users",
                          "candidate_groups", "due_date", "follow_up_date", "priority",
                          "form_key", "form", "created_at"]
    assert data["created_at"] == "2026-05-01T08:00:00+00:00"
