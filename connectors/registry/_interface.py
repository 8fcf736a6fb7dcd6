"""What the rest of the project may ask of a model registry, and of whoever broadcasts signals.

Handlers, jobs and the CLI are written against :class:`ModelRegistry`, so the SQL registry can
be swapped for another (e.g. a remote ModelOp model manager) later.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from ._records import (
    ArtifactRecord,
    AssetRecord,
    DeploymentRecord,
    ModelRecord,
    RuntimeRecord,
    SnapshotRecord,
)

SNAPSHOT_CREATED_SIGNAL = "mlc.snapshot.created"


class SignalPublisher(Protocol):
    """Broadcasts a BPMN signal (the engine facade satisfies this)."""

    def signal(self, name: str, variables: dict[str, Any]) -> object: ...


class ModelRegistry(Protocol):
    """Models, their immutable snapshots, assets, runtimes and deployments."""

    def register_model(self, name: str, methodology: str, *, description: str = "",
                       owner: str = "") -> ModelRecord: ...

    def get_model(self, model_id_or_name: str) -> ModelRecord: ...

    def list_models(self) -> list[ModelRecord]: ...

    def create_snapshot(self, model_id: str, source: str, *, tags: Iterable[str] = (),
                        stage: str = "DEV", service_tag: str | None = None,
                        metadata: dict[str, Any] | None = None,
                        dmn_decision_key: str | None = None,
                        monitors: Iterable[str] = (),
                        expiration_date: datetime | None = None,
                        schedules: Iterable[Any] = (),
                        assets: Iterable[dict[str, Any]] = ()) -> SnapshotRecord: ...

    def get_snapshot(self, snapshot_id: str) -> SnapshotRecord: ...

    def list_snapshots(self, model_id: str) -> list[SnapshotRecord]: ...

    def add_asset(self, snapshot_id: str, role: str, uri: str,
                  format: str | None = None) -> AssetRecord: ...

    def add_monitors(self, snapshot_id: str, monitors: Sequence[str]) -> list[str]: ...

    def set_expiration(self, snapshot_id: str, expiration: datetime) -> SnapshotRecord: ...

    def set_schedules(self, snapshot_id: str, schedules: Sequence[Any]) -> SnapshotRecord: ...

    def record_test_results(self, snapshot_id: str,
                            results: dict[str, Any]) -> SnapshotRecord: ...

    def record_model_tests(self, snapshot_id: str,
                           report: dict[str, Any]) -> SnapshotRecord: ...

    def add_runtime(self, name: str, stage: str, *, service_tags: Iterable[str] = (),
                    endpoints: Iterable[str] = (), engine: str = "local",
                    scheduler: str | None = None) -> RuntimeRecord: ...

    def get_runtime(self, runtime_id_or_name: str) -> RuntimeRecord: ...

    def list_runtimes(self) -> list[RuntimeRecord]: ...

    def match_runtimes(self, stage: str, service_tag: str | None) -> list[RuntimeRecord]: ...

    def deploy(self, snapshot_id: str, runtime_id: str, *,
               idempotency_key: str | None = None,
               artifact_id: str | None = None) -> DeploymentRecord: ...

    def get_deployment(self, deployment_id: str) -> DeploymentRecord: ...

    def list_deployments(self, *, model_id: str | None = None,
                         runtime_id: str | None = None,
                         state: str | None = None) -> list[DeploymentRecord]: ...

    def add_artifact(self, model_id: str, env: str, *, uri: str, content_hash: str,
                     size_bytes: int = 0, files: int = 0,
                     metadata: dict[str, Any] | None = None, created_by: str = "",
                     action: str = "uploaded",
                     source_artifact_id: str | None = None) -> ArtifactRecord: ...

    def get_artifact(self, artifact_id: str) -> ArtifactRecord: ...

    def find_artifact(self, model_id: str, env: str,
                      version: int | None = None) -> ArtifactRecord: ...

    def list_artifacts(self, model_id: str,
                       env: str | None = None) -> list[ArtifactRecord]: ...
