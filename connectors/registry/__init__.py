"""The model registry: models, immutable snapshots, assets, runtimes, deployments and jobs.

Public surface (implementation lives in the private modules):

- :class:`ModelRegistry` — the interface handlers and the CLI speak; :class:`SqlModelRegistry`
  is the embedded implementation on the project's database.
- :class:`JobStore` — job rows and the redundant-execution guard.
- :class:`SignalPublisher` — what the registry needs to broadcast ``mlc.snapshot.created``.
"""

from . import _tables as tables
from ._artifacts import ArtifactRefused, check_artifact_env
from ._interface import SNAPSHOT_CREATED_SIGNAL, ModelRegistry, SignalPublisher
from ._job_store import JobCancelled, JobStore, LeaseKeeper, RedundantExecutionError, execution_key
from ._records import (
    ARTIFACT_ENVS,
    ASSET_ROLES,
    DEPLOYMENT_MODES,
    JOB_STATES,
    JOB_TYPES,
    METHODOLOGIES,
    RUNTIME_ENGINES,
    STAGES,
    ArtifactEnv,
    ArtifactRecord,
    AssetRecord,
    AssetRole,
    DeploymentRecord,
    JobRecord,
    JobState,
    JobType,
    Methodology,
    ModelRecord,
    RuntimeEngine,
    RuntimeRecord,
    SnapshotRecord,
    Stage,
)
from ._sql_registry import SqlModelRegistry

__all__ = [
    "ARTIFACT_ENVS", "ASSET_ROLES", "DEPLOYMENT_MODES", "JOB_STATES", "JOB_TYPES", "METHODOLOGIES",
    "RUNTIME_ENGINES", "SNAPSHOT_CREATED_SIGNAL", "STAGES", "ArtifactEnv", "ArtifactRecord",
    "ArtifactRefused", "AssetRecord", "AssetRole", "DeploymentRecord", "JobCancelled",
    "JobRecord", "JobState", "JobStore", "JobType", "LeaseKeeper", "Methodology", "ModelRecord",
    "ModelRegistry", "RedundantExecutionError", "RuntimeEngine", "RuntimeRecord",
    "SignalPublisher", "SnapshotRecord", "SqlModelRegistry", "Stage", "check_artifact_env",
    "execution_key", "tables",
]
