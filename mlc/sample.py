"""The first-run content: the shipped processes and decisions, and the sample model.

``make run`` and ``mlc demo`` call :func:`deploy_shipped` and :func:`install_sample`; the
sample is registered only into an empty registry, so a restart never adds a second copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.registry import ModelRegistry, SnapshotRecord
    from engine import DeploymentResult, Engine

ROOT = Path(__file__).resolve().parent.parent
PROCESSES_DIR = ROOT / "processes"
DMN_DIR = ROOT / "dmn"

SAMPLE_MODEL = "sample-classifier"
SAMPLE_SERVICE_TAG = "sample-classifier"
SAMPLE_ONLINE_TAG = "sample-classifier-online"
SAMPLE_DECISION = "classification_approval"
BATCH_RUNTIME = "batch-dev"
ONLINE_RUNTIME = "online-dev"


def shipped_files(folders: Iterable[Path] = (PROCESSES_DIR, DMN_DIR)) -> list[tuple[str, bytes]]:
    """(name, bytes) of every ``.bpmn`` and ``.dmn`` file in the shipped folders."""
    files = []
    for folder in folders:
        for path in sorted(Path(folder).glob("*")):
            if path.suffix in (".bpmn", ".dmn"):
                files.append((path.name, path.read_bytes()))
    return files


def deploy_shipped(engine: Engine, name: str = "mlc-shipped") -> DeploymentResult:
    """Deploy processes/ and dmn/ (unchanged files are filtered out by the engine)."""
    return engine.deploy(shipped_files(), name, source="mlc")


@dataclass
class SampleIds:
    model_id: str
    snapshot_id: str | None
    batch_runtime_id: str
    online_runtime_id: str
    test_file: str
    train_file: str


def sample_data(data_root: str | Path) -> dict[str, Path]:
    """Copy the sample CSVs under ``data_root/sample`` (where jobs may read them)."""
    from connectors.samples import copy_sample_data

    return copy_sample_data(Path(data_root) / "sample")


def install_sample(registry: ModelRegistry, data_root: str | Path, *, tags: Iterable[str] = ("run_test", "jira"),
                   stage: str = "DEV", snapshot: bool = True, only_if_empty: bool = True
                   ) -> SampleIds | None:
    """Register the sample model, a batch and an online runtime, and (optionally) a snapshot.

    Creating the snapshot broadcasts ``mlc.snapshot.created``, which starts the deploy
    process. Returns None (and does nothing) when ``only_if_empty`` and models exist.
    """
    if only_if_empty and registry.list_models():
        return None
    paths = sample_data(data_root)
    model = registry.register_model(SAMPLE_MODEL, "classification", owner="data-science",
                                    description="Binary classifier shipped with MLC Engine")
    batch = registry.add_runtime(BATCH_RUNTIME, stage, service_tags=[SAMPLE_SERVICE_TAG])
    online = registry.add_runtime(ONLINE_RUNTIME, stage, service_tags=[SAMPLE_ONLINE_TAG],
                                  endpoints=["http://127.0.0.1:8080/api/predict"])
    snapshot_id = None
    if snapshot:
        snapshot_id = create_sample_snapshot(registry, model.id, paths, tags=tags,
                                             stage=stage).id
    return SampleIds(model.id, snapshot_id, batch.id, online.id, str(paths["test"]),
                     str(paths["train"]))


def create_sample_snapshot(registry: ModelRegistry, model_id: str, paths: dict[str, Path], *,
                           tags: Iterable[str] = ("run_test", "jira"), stage: str = "DEV",
                           service_tag: str = SAMPLE_SERVICE_TAG,
                           decision: str | None = SAMPLE_DECISION, test_file: str | None = None,
                           schedules: Iterable[Any] = ()) -> SnapshotRecord:
    """A snapshot of the sample classifier with its TEST_DATA and TRAINING_DATA assets."""
    from connectors.samples import CLASSIFIER_SOURCE

    assets = [{"role": "TRAINING_DATA", "uri": str(paths["train"]), "format": "csv"}]
    if test_file != "":
        assets.append({"role": "TEST_DATA", "uri": str(test_file or paths["test"]),
                       "format": "csv"})
    return registry.create_snapshot(
        model_id, CLASSIFIER_SOURCE, tags=list(tags), stage=stage, service_tag=service_tag,
        dmn_decision_key=decision, schedules=list(schedules), assets=assets,
        metadata={"description": "sample classifier", "framework": "scikit-learn"})
