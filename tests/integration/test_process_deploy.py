"""processes/deploy_with_test_and_jira.bpmn, every path, with the real connectors and jobs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.processes_support import mlc  # noqa: F401 - fixture

KEY = "deploy_with_test_and_jira"


def test_happy_path_test_review_done_with_expiration_then_monitors_and_batch_deploy(mlc):
    snap, instance = mlc.snapshot(tags=["run_test", "jira"], schedules=[])
    assert instance["status"] == "waiting"
    assert instance["active_activities"] == ["Event_review_resolved"]
    variables = instance["variables"]
    assert variables["DECISION_PASSED"] is True
    assert 0.8 < variables["TEST_RESULTS"]["roc_auc"] <= 1
    review = mlc.ticket(variables["REVIEW_TICKET"])
    assert review.kind == "review" and review.status == "Open"
    assert "roc_auc" in review.description and "What changed" in review.description
    assert mlc.registry.get_snapshot(snap.id).test_results["roc_auc"] == variables[
        "TEST_RESULTS"]["roc_auc"]

    mlc.decide(review.key, "Done", {"Expiration Date": "2027-06-30"})
    done = mlc.refresh(instance)
    assert done["status"] == "completed", done
    assert done["variables"]["OUTCOME"] == "deployed"
    assert done["variables"]["DEPLOYMENT_MODE"] == "batch"
    stored = mlc.registry.get_snapshot(snap.id)
    assert stored.expiration_date.date().isoformat() == "2027-06-30"
    assert "Performance Monitor: Classification" in stored.monitors and len(stored.monitors) == 4
    [deployment] = mlc.registry.list_deployments(model_id=mlc.sample.model_id)
    assert deployment.snapshot_id == snap.id and deployment.mode == "batch"
    assert deployment.runtime_id == mlc.sample.batch_runtime_id
    assert "End_deployed" in mlc.completed_activities(done)
