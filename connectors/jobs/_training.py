"""The bodies of ``job.training`` and ``job.metrics`` (run inside :func:`run_job`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.registry import ModelRegistry, execution_key
from engine.errors import ValidationError

from ._run import JobRun
from .formats import format_of
from .locations import DataStore
from .metrics import compute_metrics, roc_points

if TYPE_CHECKING:
    from ._executor import JobExecutor


class MissingDataError(ValidationError):
    """A job has no data to work on (no input given and no asset of the needed role)."""

    code = "missing_data"


def data_uri(run: JobRun, explicit: str | None, role: str) -> str:
    if explicit:
        return explicit
    asset = run.snapshot.asset(role)
    if asset is None:
        raise MissingDataError(f"snapshot {run.snapshot.id} has no {role} asset and no input "
                               f"file was given")
    return asset.uri


def training_body(registry: ModelRegistry, data: DataStore, artifact_root: Path, *,
                  input_uri: str | None, input_format: str | None,
                  params: dict[str, Any]) -> Callable[[JobRun], tuple[dict[str, Any], dict[str, Any]]]:
    """Train the snapshot's model; the artifact folder becomes the snapshot's next ARTIFACT."""

    def body(run: JobRun) -> tuple[dict[str, Any], dict[str, Any]]:
        uri = data_uri(run, input_uri, "TRAINING_DATA")
        location = data.resolve(uri)
        fmt = format_of(location.name, input_format)
        run.start(execution_key("training", run.snapshot.id, run.build, location.uri, ""))
        local = data.fetch(location, run.scratch)
        artifact_dir = (artifact_root / run.snapshot.model_id / run.snapshot.id / run.job.id)
        artifact_dir.mkdir(parents=True, exist_ok=True)
        (process,) = run.loaded_processes(1, None)
        answer = process.call(
            {"op": "train", "input": str(local), "format": fmt,
             "params": {"label_column": run.label_column, **params},
             "artifact_dir": str(artifact_dir)},
            run.deadline.limit(), "training")
        asset = registry.add_asset(run.snapshot.id, "ARTIFACT", str(artifact_dir), "folder")
        outputs = {"artifact_uri": str(artifact_dir), "artifact_version": asset.version,
                   "artifact_asset_id": asset.id, "input": location.uri,
                   "rows": answer.get("rows")}
        return outputs, dict(answer.get("metrics") or {})

    return body


def metrics_body(registry: ModelRegistry, data: DataStore, executor: JobExecutor, *,
                 input_uri: str | None,
                 input_format: str | None) -> Callable[[JobRun], tuple[dict[str, Any], dict[str, Any]]]:
    """Predict on labelled data (on ``executor``), compute metrics here, store them on the job
    and the snapshot."""

    def body(run: JobRun) -> tuple[dict[str, Any], dict[str, Any]]:
        uri = data_uri(run, input_uri, "TEST_DATA")
        location = data.resolve(uri)
        fmt = format_of(location.name, input_format)
        run.start(execution_key("metrics", run.snapshot.id, run.build, location.uri, ""))
        label = run.label_column
        labels, predictions = executor.predict_labelled(run, data, location, fmt, label)
        predicted = (predictions["prediction"] if "prediction" in predictions.columns
                     else predictions.iloc[:, 0])
        scores = predictions["score"] if "score" in predictions.columns else None
        metrics = compute_metrics(run.model.methodology, labels, predicted.to_numpy(),
                                  scores.to_numpy() if scores is not None else None)
        registry.record_test_results(run.snapshot.id, {**metrics, "job_id": run.job.id})
        outputs = {"input": location.uri, "rows": len(labels), "label_column": label}
        if scores is not None and run.model.methodology == "classification":
            roc = roc_points(labels, scores.to_numpy())
            if roc is not None:
                outputs["roc_curve"] = roc
        return outputs, metrics

    return body
