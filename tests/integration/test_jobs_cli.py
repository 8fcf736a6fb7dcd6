"""The models / snapshots / runtimes / jobs click groups through click's test runner."""

from __future__ import annotations

import json
from types import SimpleNamespace

import click
import pytest
from click.testing import CliRunner

import connectors.registry  # noqa: F401 - tables
from connectors.jobs.cli import jobs
from connectors.registry.cli import models, runtimes, snapshots
from connectors.samples import copy_sample_data
from mlc.cli import CommandLine
from mlc.settings import Settings
from tests.support.jobs import RecordingSignals


@click.group(cls=CommandLine)
def mlc() -> None:
    """Stands in for the lead's ``mlc`` group (its class applies the one-line error policy)."""


for group in (models, snapshots, runtimes, jobs):
    mlc.add_command(group)


@pytest.fixture
def run(sqlite_database, tmp_path):
    root = tmp_path / "data"
    paths = copy_sample_data(root / "sample")
    obj = SimpleNamespace(db=sqlite_database, settings=Settings(data_roots=[str(root)]),
                          engine=RecordingSignals())

    def invoke(*args: str):
        return CliRunner().invoke(mlc, list(args), obj=obj, catch_exceptions=False)

    invoke.paths, invoke.root, invoke.obj = paths, root, obj
    return invoke


def test_register_snapshot_run_metrics_and_score(run):
    result = run("models", "register", "churn", "--methodology", "classification", "--json")
    assert result.exit_code == 0, result.output
    model_id = json.loads(result.output)["id"]
    result = run("snapshots", "create", "churn", "--source", "sample:classifier", "--tag",
                 "run_test", "--meta", "threshold=0.7", "--test-data", str(run.paths["test"]),
                 "--json")
    assert result.exit_code == 0, result.output
    snapshot = json.loads(result.output)
    assert snapshot["model_id"] == model_id and snapshot["metadata"] == {"threshold": 0.7}
    assert run.obj.engine.sent[0][0] == "mlc.snapshot.created"
    result = run("jobs", "run-metrics", snapshot["id"], "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["metrics"]["accuracy"] > 0.5
    result = run("jobs", "run-scoring", snapshot["id"], str(run.paths["test"]),
                 str(run.root / "out"), "--no-progress")
    assert result.exit_code == 0, result.output
    assert (run.root / "out" / "test.csv").exists()
    listed = json.loads(run("jobs", "list", "--json").output)
    assert [j["job_type"] for j in listed] == ["scoring", "metrics"]
    shown = run("jobs", "show", listed[0]["id"])
    assert "succeeded" in shown.output
    assert "churn" in run("models", "list").output
    assert "v1" in run("models", "show", "churn").output
    assert snapshot["id"] in run("snapshots", "show", snapshot["id"], "--json").output


def test_failures_exit_non_zero_with_one_line_reason(run):
    result = run("models", "show", "nope")
    assert result.exit_code == 1 and result.stderr.strip() == "error: model 'nope' not found"
    run("models", "register", "m", "--methodology", "regression")
    snapshot_id = run("snapshots", "create", "m", "--source", "sample:classifier").output.strip()
    result = run("jobs", "run-scoring", snapshot_id, "../../etc/passwd", "out")
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "refused" in errors[0]


def test_runtimes_add_and_list(run):
    assert run("runtimes", "add", "batch-dev", "--stage", "DEV").exit_code == 0
    assert run("runtimes", "add", "web", "--stage", "PROD", "--endpoint", "http://x",
               "--service-tag", "svc").exit_code == 0
    listed = json.loads(run("runtimes", "list", "--json").output)
    assert [r["name"] for r in listed] == ["web", "batch-dev"]
    assert "online" in run("runtimes", "list").output
    dup = run("runtimes", "add", "web", "--stage", "DEV")
    assert dup.exit_code == 1 and "already exists" in dup.output
