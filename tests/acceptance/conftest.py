"""Acceptance fixtures: one real ``mlc serve`` per test module and database back end, driven
only through its REST API (``mlc.client``), with the shipped processes and the sample model's
files. Tests register their own model (and service tag) so they do not see each other."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from mlc.demo import SHIPPED, ServedMlc, drifted_copy
from mlc.sample import SAMPLE_DECISION, sample_data
from tests.conftest import BACKENDS, _fresh_database

BATCH_TAG = "sample-classifier"
ONLINE_TAG = "sample-classifier-online"


class World:
    """A served MLC plus the sample files under its data root."""

    def __init__(self, served: ServedMlc) -> None:
        self.served = served
        self.client = served.client
        self.data_root = served.data_root
        paths = sample_data(self.data_root)
        self.files = {"test": str(paths["test"]), "train": str(paths["train"]),
                      "drifted": drifted_copy(paths["test"], paths["test"].parent / "drifted.csv")}

    def model(self, prefix: str = "model") -> dict[str, Any]:
        return self.client.create_model(f"{prefix}-{uuid.uuid4().hex[:8]}", "classification")

    def snapshot_body(self, *, tags=("run_test", "jira"), test_file: str | None = None,
                      **overrides) -> dict[str, Any]:
        assets = [{"role": "TRAINING_DATA", "uri": self.files["train"], "format": "csv"}]
        if test_file != "":
            assets.append({"role": "TEST_DATA", "uri": test_file or self.files["test"],
                           "format": "csv"})
        body = {"source": "sample:classifier", "tags": list(tags), "stage": "DEV",
                "service_tag": BATCH_TAG, "dmn_decision_key": SAMPLE_DECISION,
                "assets": assets}
        body.update(overrides)
        return body

    def submit(self, model_id: str, **kwargs) -> tuple[dict, dict]:
        """Create a snapshot; return it and the deploy instance its signal started."""
        snapshot = self.client.create_snapshot(model_id, **self.snapshot_body(**kwargs))
        return snapshot, self.client.started_by_snapshot(snapshot["id"])

    def path(self, name: str) -> Path:
        return self.data_root / "sample" / name


def serve_world(request, tmp_path_factory, env: dict[str, str] | None = None):
    backend = request.param
    workdir = tmp_path_factory.mktemp(f"served-{backend}")
    db_url, cleanup = None, None
    if backend != "sqlite":
        db, db_url, cleanup = _fresh_database(backend, workdir)
        db.dispose()
    served = ServedMlc(workdir, database_url=db_url, env=env, workers=3)
    try:
        served.client.deploy(SHIPPED, "acceptance")
        client = served.client
        client.create_runtime(f"batch-{uuid.uuid4().hex[:6]}", "DEV", service_tags=[BATCH_TAG])
        client.create_runtime(f"online-{uuid.uuid4().hex[:6]}", "DEV", service_tags=[ONLINE_TAG],
                              endpoints=["http://127.0.0.1:9/predict"])
        yield World(served)
    finally:
        served.stop()
        if cleanup is not None:
            cleanup()


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory):
    """A served MLC with local tickets (one per module and back end)."""
    yield from serve_world(request, tmp_path_factory)
