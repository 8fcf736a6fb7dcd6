"""Fixtures and helpers shared by the registry / jobs / scoring tests.

Test modules import the fixtures by name; the model-process pool is shared by the session and
keeps warm spares so each job does not pay for a cold Python start.
"""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

import connectors.registry  # noqa: F401 - registers the tables on Base.metadata
from connectors.jobs import DataStore, JobService, ProcessPool
from connectors.registry import JobStore, SqlModelRegistry
from connectors.samples import CLASSIFIER_SOURCE, copy_sample_data
from engine.handlers import TaskContext


class RecordingSignals:
    """Stands in for the engine facade: records every broadcast signal."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def signal(self, name: str, variables: dict[str, Any]) -> object:
        self.sent.append((name, dict(variables)))
        return {"started": [], "resumed": []}


@pytest.fixture(scope="session")
def model_pool():
    pool = ProcessPool(spares=2)
    yield pool
    pool.close()


@pytest.fixture
def data_root(tmp_path) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    return root


@pytest.fixture
def signals() -> RecordingSignals:
    return RecordingSignals()


@pytest.fixture
def registry(database, signals) -> SqlModelRegistry:
    return SqlModelRegistry(database, signals)


@pytest.fixture
def jobs(database, registry, data_root, model_pool) -> JobService:
    return JobService(registry, JobStore(database), DataStore([str(data_root)]),
                      pool=model_pool)


@pytest.fixture
def sample(registry, data_root):
    """A classification model with one sample snapshot holding TEST_DATA and TRAINING_DATA."""
    paths = copy_sample_data(data_root / "sample")
    model = registry.register_model("churn", "classification", owner="ds-team")
    snapshot = registry.create_snapshot(
        model.id, CLASSIFIER_SOURCE, tags=["train", "run_test"], stage="DEV",
        service_tag="churn-svc", dmn_decision_key="approve_model",
        assets=[{"role": "TEST_DATA", "uri": str(paths["test"]), "format": "csv"},
                {"role": "TRAINING_DATA", "uri": str(paths["train"]), "format": "csv"}])
    return model, snapshot, paths


def context(topic: str, variables: dict[str, Any], key: str | None = None) -> TaskContext:
    """A TaskContext as the engine would build it for one external task."""
    return TaskContext(task_id=str(uuid.uuid4()), topic=topic, instance_id="inst-1",
                       process_key="test", activity_id="task", variables=dict(variables),
                       idempotency_key=key or str(uuid.uuid4()))


def write_model(folder: Path, body: str) -> str:
    """A model folder whose model.py is ``body``; returns it as a snapshot source."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.py").write_text(textwrap.dedent(body))
    return str(folder)


IDENTITY_MODEL = """
    import pandas as pd

    def predict(df):
        return pd.DataFrame({"prediction": df.iloc[:, 0]})
"""
