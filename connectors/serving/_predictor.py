"""Online predictions for models deployed online on the embedded runtime.

Each online deployment gets one :class:`LoadedModel`, loaded on its first request and reused
(nothing is loaded per request), with ``init`` called once with the deployment's artifact
(its uploaded artifact when it has one, else the snapshot's newest trained one):

- a model without ``requirements.model`` runs in the serving process, its ``model.py``
  imported under a module name of its own (two deployments of the same code never share
  globals): what low-latency serving needs;
- a model with ``requirements.model`` runs in its own environment, in a model subprocess
  that answers JSON records (the same runner jobs use); a crashed or timed-out process is
  dropped and the next request starts a new one.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from connectors.jobs import ModelProcess, ModelProcessError, TimeLimitExceeded
from connectors.jobs.model_code import resolve_model_dir
from connectors.jobs.model_side.mlc_frames import as_frame, json_records
from connectors.packages import ModelEnvironments
from connectors.packages.artifacts import ArtifactService
from connectors.registry import ModelRegistry, SnapshotRecord
from engine.errors import ConflictError, MlcError, ValidationError

# What a model raises about the records it was given (a missing column, a wrong type): the
# caller's problem (400). Anything else the model does wrong is a ModelFailed (502).
_REJECTIONS = ("KeyError", "ValueError", "TypeError")


class ModelFailed(MlcError):
    """The model failed on a request for a reason other than the records (a bug, a crash, a
    time limit)."""

    code = "model_failed"
    status = 502


@dataclass
class LoadedModel:
    deployment_id: str
    snapshot_id: str
    lock: threading.Lock
    model: ModuleType | ModelProcess  # imported here, or running in its own environment

    def close(self) -> None:
        if isinstance(self.model, ModelProcess):
            self.model.close(graceful=False)


class OnlinePredictor:
    """Answers ``predict(deployed_model_id, records)`` for online deployments.

    Args:
        registry: where deployments and snapshots are looked up.
        model_cache: where git model sources are checked out.
        environments: the per-model environments (None: every model runs in-process).
        artifacts: fetches a deployment's uploaded artifact (None: only snapshot artifacts).
        timeout: longest a model subprocess may take to load or to answer, in seconds.
    """

    def __init__(self, registry: ModelRegistry, model_cache: Path | None = None, *,
                 environments: ModelEnvironments | None = None,
                 artifacts: ArtifactService | None = None,
                 timeout: float = 60.0) -> None:
        self.registry = registry
        self.model_cache = model_cache
        self.environments = environments
        self.artifacts = artifacts
        self.timeout = timeout
        self._loaded: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()
        self.loads = 0  # how many times a model was loaded (for tests and metrics)

    def predict(self, deployed_model_id: str,
                records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Predictions for ``records`` (a list of feature dicts), one dict per record.

        Raises:
            NotFoundError: no such deployment.
            ConflictError: the deployment is retired or batch-only.
            ValidationError: the records are not a list of objects, or the model rejects them.
            ModelFailed: the model failed otherwise (raised, crashed, ran out of time).
            EnvironmentBuildError: the model's environment could not be built.
        """
        if not isinstance(records, (list, tuple)) or not all(isinstance(r, dict)
                                                              for r in records):
            raise ValidationError("records must be a list of objects")
        loaded = self._model_for(deployed_model_id)
        if not records:
            return []
        with loaded.lock:  # model code need not be thread-safe
            if isinstance(loaded.model, ModelProcess):
                return self._predict_in_process(loaded, loaded.model, list(records))
            return self._predict_here(loaded.model, list(records))

    @staticmethod
    def _predict_here(module: ModuleType, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        import pandas as pd

        frame = pd.DataFrame.from_records(records)
        try:
            result = as_frame(module.predict(frame), len(frame))
        except Exception as exc:  # noqa: BLE001 - sorted into the caller's or the model's fault
            _raise_for(type(exc).__name__, f"{type(exc).__name__}: {exc}")
        return json_records(result)

    def _predict_in_process(self, loaded: LoadedModel, process: ModelProcess,
                            records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        try:
            answer = process.call({"op": "predict_records", "records": records},
                                         self.timeout, "predicting")
        except TimeLimitExceeded as exc:
            self.unload(loaded.deployment_id)
            raise ModelFailed(exc.message) from None
        except ModelProcessError as exc:
            if exc.error_type is None:  # the process died: the next request starts anew
                self.unload(loaded.deployment_id)
            _raise_for(exc.error_type, exc.message.removeprefix("predicting: "))
        return list(answer["predictions"])

    def _model_for(self, deployment_id: str) -> LoadedModel:
        deployment = self.registry.get_deployment(deployment_id)
        if deployment.state != "deployed":
            self.unload(deployment_id)
            raise ConflictError(f"deployed model {deployment_id} is {deployment.state}")
        if deployment.mode != "online":
            raise ConflictError(f"deployed model {deployment_id} is batch-only (its runtime "
                                f"has no endpoints)")
        with self._lock:
            loaded = self._loaded.get(deployment_id)
            if loaded is None:
                loaded = self._load(deployment_id, deployment.snapshot_id,
                                    deployment.artifact_id)
                self._loaded[deployment_id] = loaded
            return loaded

    def _artifact_dir(self, snapshot: SnapshotRecord, artifact_id: str | None) -> str | None:
        if artifact_id and self.artifacts is not None:
            return str(self.artifacts.local_dir(artifact_id))
        artifact = snapshot.asset("ARTIFACT")
        return artifact.uri if artifact else None

    def _load(self, deployment_id: str, snapshot_id: str,
              artifact_id: str | None) -> LoadedModel:
        snapshot = self.registry.get_snapshot(snapshot_id)
        model_dir = resolve_model_dir(snapshot.source, self.model_cache)
        artifact_dir = self._artifact_dir(snapshot, artifact_id)
        environment = (self.environments.for_model(model_dir) if self.environments is not None
                       else None)
        model: ModuleType | ModelProcess
        if environment is not None:
            model = ModelProcess(str(environment.python), isolated=True)
            try:
                model.call({"op": "load", "model_dir": str(model_dir),
                            "artifact_dir": artifact_dir}, self.timeout, "loading the model")
            except ModelProcessError as exc:
                model.close(graceful=False)
                raise ModelFailed(exc.message) from None
        else:
            model = self._import(deployment_id, model_dir, artifact_dir)
        self.loads += 1
        return LoadedModel(deployment_id, snapshot_id, threading.Lock(), model)

    @staticmethod
    def _import(deployment_id: str, model_dir: Path, artifact_dir: str | None) -> ModuleType:
        name = "mlc_served_" + deployment_id.replace("-", "_")
        spec = importlib.util.spec_from_file_location(name, model_dir / "model.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        if str(model_dir) not in sys.path:
            sys.path.append(str(model_dir))  # appended: never shadows the engine's own modules
        spec.loader.exec_module(module)
        if callable(getattr(module, "init", None)):
            module.init(artifact_dir)
        return module

    def unload(self, deployment_id: str) -> None:
        with self._lock:
            loaded = self._loaded.pop(deployment_id, None)
        if loaded is not None:
            loaded.close()

    def close(self) -> None:
        """End every model subprocess (the server is stopping)."""
        with self._lock:
            loaded, self._loaded = list(self._loaded.values()), {}
        for item in loaded:
            item.close()


def _raise_for(error_type: str | None, message: str) -> None:
    if error_type in _REJECTIONS:
        raise ValidationError(f"the model rejected the records: {message}")
    raise ModelFailed(f"the model failed: {message}")
