"""Tables of the model registry (kept in agreement with ``alembic/versions/0002_registry.py``).

Ids are UUID strings so they can travel through process variables, REST paths and ModelOp-style
payloads unchanged. Two nullable unique "active keys" turn cross-process rules into database
constraints: one live deployment per (model, runtime), and one running job per identical
(type, snapshot, build, source, destination). A NULL key never collides, so finished rows keep
their history without blocking new work.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime, utcnow


def new_id() -> str:
    return str(uuid.uuid4())


class ModelRow(Base):
    """A model: the long-lived identity that snapshots version."""

    __tablename__ = "registry_models"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    methodology: Mapped[str] = mapped_column(String(32))
    owner: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SnapshotRow(Base):
    """One version of a model's code and settings.

    ``source``, ``version``, ``tags``, ``stage``, ``service_tag``, ``meta`` and
    ``dmn_decision_key`` never change after creation; the governance bookkeeping (monitors,
    expiration, schedules, test results) is what the MLC processes update.
    """

    __tablename__ = "registry_snapshots"
    __table_args__ = (UniqueConstraint("model_id", "version",
                                       name="uq_registry_snapshots_model_version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    model_id: Mapped[str] = mapped_column(
        ForeignKey("registry_models.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(1000))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    stage: Mapped[str] = mapped_column(String(16), default="DEV")
    service_tag: Mapped[str | None] = mapped_column(String(200))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    dmn_decision_key: Mapped[str | None] = mapped_column(String(200))
    monitors: Mapped[list[str]] = mapped_column(JSON, default=list)
    expiration_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    schedules: Mapped[list[Any]] = mapped_column(JSON, default=list)
    test_results: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The report of the model's own tests (test_model.py), when they ran.
    model_tests: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AssetRow(Base):
    """A file a snapshot uses: test / training / baseline data, or a trained artifact."""

    __tablename__ = "registry_assets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    snapshot_id: Mapped[str] = mapped_column(
        ForeignKey("registry_snapshots.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    uri: Mapped[str] = mapped_column(String(1000))
    format: Mapped[str | None] = mapped_column(String(16))
    # Artifacts are versioned per snapshot (1, 2, ...): every training run adds one.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RuntimeRow(Base):
    """Where models run: a stage, service tags to match, endpoints (none = batch only), and
    the engine of its jobs (``local`` process pool, or ``dask`` at ``scheduler``)."""

    __tablename__ = "registry_runtimes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    stage: Mapped[str] = mapped_column(String(16))
    service_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    endpoints: Mapped[list[str]] = mapped_column(JSON, default=list)
    engine: Mapped[str] = mapped_column(String(16), default="local", server_default="local")
    scheduler: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeployedModelRow(Base):
    """A snapshot deployed on a runtime, live (``deployed``) or kept for history (``retired``)."""

    __tablename__ = "registry_deployed_models"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    snapshot_id: Mapped[str] = mapped_column(
        ForeignKey("registry_snapshots.id", ondelete="CASCADE"), index=True)
    model_id: Mapped[str] = mapped_column(
        ForeignKey("registry_models.id", ondelete="CASCADE"), index=True)
    runtime_id: Mapped[str] = mapped_column(
        ForeignKey("registry_runtimes.id", ondelete="CASCADE"), index=True)
    mode: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="deployed")
    # "<model_id>:<runtime_id>" while deployed, NULL once retired: one live deployment each.
    active_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # The uploaded artifact the deployment runs with (a runtime of stage PROD: a prod one).
    artifact_id: Mapped[str | None] = mapped_column(
        ForeignKey("registry_artifacts.id", ondelete="SET NULL"), index=True)
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ArtifactRow(Base):
    """One version of a model's uploaded artifact in one environment (``test`` / ``prod``).

    Versions count per (model, environment) from 1, as akerbp.mlops names them
    ``model/env/n``. Rows are never changed: an upload adds one, a promotion adds a prod row
    copied from a test row (``source_artifact_id``), so the rows are also the history of who
    uploaded and promoted what.
    """

    __tablename__ = "registry_artifacts"
    __table_args__ = (UniqueConstraint("model_id", "env", "version",
                                       name="uq_registry_artifacts_model_env_version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    model_id: Mapped[str] = mapped_column(
        ForeignKey("registry_models.id", ondelete="CASCADE"), index=True)
    env: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer)
    uri: Mapped[str] = mapped_column(String(1000))
    content_hash: Mapped[str] = mapped_column(String(71))  # "sha256:" + 64 hex
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    files: Mapped[int] = mapped_column(Integer, default=0)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    action: Mapped[str] = mapped_column(String(16))  # uploaded | promoted
    source_artifact_id: Mapped[str | None] = mapped_column(String(36))
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JobRow(Base):
    """A training, metrics or scoring job: what it was asked, what it did, and why it failed."""

    __tablename__ = "registry_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    job_type: Mapped[str] = mapped_column(String(16), index=True)
    snapshot_id: Mapped[str | None] = mapped_column(
        ForeignKey("registry_snapshots.id", ondelete="SET NULL"), index=True)
    model_id: Mapped[str | None] = mapped_column(String(36), index=True)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str | None] = mapped_column(Text)
    log_tail: Mapped[str] = mapped_column(Text, default="")
    # sha256 of (type, snapshot, build, source, destination) while running; NULL otherwise.
    active_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # A running job renews its lease; a holder whose lease lapsed (crashed worker) is abandoned.
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
