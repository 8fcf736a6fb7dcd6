"""In-process online predictions for models deployed online on the embedded runtime.

Each online deployment gets one :class:`LoadedModel`: its ``model.py`` imported under a module
name of its own (so two deployments of the same code never share globals) and ``init`` called
once with the snapshot's newest artifact. Requests reuse it; nothing is loaded per request.
Unlike jobs this runs the model inside the serving process, which is what low-latency online
serving needs; batch work stays in subprocesses.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Optional

from connectors.jobs.model_code import resolve_model_dir
from connectors.registry import ModelRegistry
from engine.errors import ConflictError, ValidationError


@dataclass
class LoadedModel:
    deployment_id: str
    snapshot_id: str
    module: ModuleType
    lock: threading.Lock


def _json_value(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


class OnlinePredictor:
    """Answers ``predict(deployed_model_id, records)`` for online deployments.

    Args:
        registry: where deployments and snapshots are looked up.
        model_cache: where git model sources are checked out.
    """

    def __init__(self, registry: ModelRegistry, model_cache: Optional[Path] = None) -> None:
        self.registry = registry
        self.model_cache = model_cache
        self._loaded: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()
        self.loads = 0  # how many times a model was loaded (for tests and metrics)

    def predict(self, deployed_model_id: str, records: Sequence[dict[str, Any]]) -> list[dict]:
        """Predictions for ``records`` (a list of feature dicts), one dict per record.

        Raises:
            NotFoundError: no such deployment.
            ConflictError: the deployment is retired or batch-only.
            ValidationError: the records are not a list of objects, or the model rejects them.
        """
        import pandas as pd

        if not isinstance(records, (list, tuple)) or not all(isinstance(r, dict)
                                                              for r in records):
            raise ValidationError("records must be a list of objects")
        loaded = self._model_for(deployed_model_id)
        if not records:
            return []
        frame = pd.DataFrame.from_records(list(records))
        from connectors.jobs.runner import as_frame

        try:
            with loaded.lock:  # model code need not be thread-safe
                result = as_frame(loaded.module.predict(frame), len(frame))
        except (KeyError, ValueError, TypeError) as exc:
            raise ValidationError(f"the model rejected the records: {exc}") from exc
        return [{k: _json_value(v) for k, v in row.items()}
                for row in result.to_dict(orient="records")]

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
                loaded = self._load(deployment_id, deployment.snapshot_id)
                self._loaded[deployment_id] = loaded
            return loaded

    def _load(self, deployment_id: str, snapshot_id: str) -> LoadedModel:
        snapshot = self.registry.get_snapshot(snapshot_id)
        model_dir = resolve_model_dir(snapshot.source, self.model_cache)
        name = "mlc_served_" + deployment_id.replace("-", "_")
        spec = importlib.util.spec_from_file_location(name, model_dir / "model.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        if str(model_dir) not in sys.path:
            sys.path.append(str(model_dir))  # appended: never shadows the engine's own modules
        spec.loader.exec_module(module)
        artifact = snapshot.asset("ARTIFACT")
        if callable(getattr(module, "init", None)):
            module.init(artifact.uri if artifact else None)
        self.loads += 1
        return LoadedModel(deployment_id, snapshot_id, module, threading.Lock())

    def unload(self, deployment_id: str) -> None:
        with self._lock:
            self._loaded.pop(deployment_id, None)
