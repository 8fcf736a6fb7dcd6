"""The values the registry hands out: plain frozen dataclasses, detached from any session.

Handlers, the CLI and the web layer only see these, so another registry implementation can be
plugged in behind :class:`~connectors.registry.ModelRegistry` without touching them.
"""

from __future__ import annotations

from dataclasses import Field, dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar, Literal, get_args

# Each closed set of values is a Literal type (for request schemas and type checking) and
# the tuple of its values (for membership checks and messages), written once.
Methodology = Literal["classification", "regression"]
Stage = Literal["DEV", "SIT", "UAT", "PROD"]
AssetRole = Literal["TEST_DATA", "TRAINING_DATA", "BASELINE_DATA", "ARTIFACT"]
JobType = Literal["training", "metrics", "scoring", "tests"]
ArtifactEnv = Literal["test", "prod"]
# "cancelling": a cancel was asked for and the running job has not stopped yet.
JobState = Literal["queued", "running", "cancelling", "succeeded", "failed", "cancelled"]
# Where a runtime's batch jobs run: this node's model-process pool, or a Dask cluster.
RuntimeEngine = Literal["local", "dask"]
METHODOLOGIES: tuple[str, ...] = get_args(Methodology)
STAGES: tuple[str, ...] = get_args(Stage)
ASSET_ROLES: tuple[str, ...] = get_args(AssetRole)
JOB_TYPES: tuple[str, ...] = get_args(JobType)
ARTIFACT_ENVS: tuple[str, ...] = get_args(ArtifactEnv)
JOB_STATES: tuple[str, ...] = get_args(JobState)
RUNTIME_ENGINES: tuple[str, ...] = get_args(RuntimeEngine)
DEPLOYMENT_MODES = ("batch", "online")


def _jsonable(value: Any) -> Any:
    if isinstance(value, _Record):  # a snapshot's assets: ISO timestamps too, not HTTP dates
        return value.to_dict()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, _Record):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


class _Record:
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]  # every record is a dataclass

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable form (timestamps as ISO 8601 strings)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class ModelRecord(_Record):
    id: str
    name: str
    methodology: str
    description: str = ""
    owner: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True)
class AssetRecord(_Record):
    id: str
    snapshot_id: str
    role: str
    uri: str
    format: str | None = None
    version: int = 1
    created_at: datetime | None = None


@dataclass(frozen=True)
class SnapshotRecord(_Record):
    id: str
    model_id: str
    version: int
    source: str
    tags: tuple[str, ...] = ()
    stage: str = "DEV"
    service_tag: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    dmn_decision_key: str | None = None
    monitors: tuple[str, ...] = ()
    expiration_date: datetime | None = None
    schedules: tuple[Any, ...] = ()
    test_results: dict[str, Any] = field(default_factory=dict)
    model_tests: dict[str, Any] = field(default_factory=dict)
    assets: tuple[AssetRecord, ...] = ()
    created_at: datetime | None = None

    def asset(self, role: str) -> AssetRecord | None:
        """The newest asset with ``role`` (highest version), or None."""
        matching = [a for a in self.assets if a.role == role]
        return max(matching, key=lambda a: (a.version, a.created_at or datetime.min)) \
            if matching else None


@dataclass(frozen=True)
class RuntimeRecord(_Record):
    id: str
    name: str
    stage: str
    service_tags: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()
    engine: str = "local"
    scheduler: str | None = None
    created_at: datetime | None = None

    @property
    def batch_only(self) -> bool:
        return not self.endpoints


@dataclass(frozen=True)
class DeploymentRecord(_Record):
    id: str
    snapshot_id: str
    model_id: str
    runtime_id: str
    mode: str
    state: str
    deployed_at: datetime | None = None
    retired_at: datetime | None = None
    artifact_id: str | None = None


@dataclass(frozen=True)
class ArtifactRecord(_Record):
    """One uploaded (or promoted) artifact version; see ``ArtifactRow``."""

    id: str
    model_id: str
    env: str
    version: int
    uri: str
    content_hash: str
    size_bytes: int = 0
    files: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    action: str = "uploaded"
    source_artifact_id: str | None = None
    created_by: str = ""
    created_at: datetime | None = None

    @property
    def label(self) -> str:
        """``env/n``, the name a person uses for it (after the model's)."""
        return f"{self.env}/{self.version}"


@dataclass(frozen=True)
class JobRecord(_Record):
    id: str
    job_type: str
    state: str
    snapshot_id: str | None = None
    model_id: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    log_tail: str = ""
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def succeeded(self) -> bool:
        return self.state == "succeeded"
