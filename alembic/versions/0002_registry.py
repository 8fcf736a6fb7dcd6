"""Model registry: models, snapshots, assets, runtimes, deployed models and jobs.

Revision ID: 0002_registry
Revises: 0001_engine

Hand-written to match ``connectors/registry/_tables.py`` (a test compares the two).
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from engine.db import UTCDateTime

revision = "0002_registry"
down_revision = "0001_engine"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], ondelete=ondelete,
                                   name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "registry_models",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("methodology", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registry_models"),
        sa.UniqueConstraint("name", name="uq_registry_models_name"),
    )
    op.create_table(
        "registry_snapshots",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("model_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(1000), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("service_tag", sa.String(200), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("dmn_decision_key", sa.String(200), nullable=True),
        sa.Column("monitors", sa.JSON(), nullable=False),
        sa.Column("expiration_date", UTCDateTime(), nullable=True),
        sa.Column("schedules", sa.JSON(), nullable=False),
        sa.Column("test_results", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registry_snapshots"),
        _fk("registry_snapshots", "model_id", "registry_models", "CASCADE"),
        sa.UniqueConstraint("model_id", "version", name="uq_registry_snapshots_model_version"),
    )
    op.create_index("ix_registry_snapshots_model_id", "registry_snapshots", ["model_id"])
    op.create_table(
        "registry_assets",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("snapshot_id", sa.String(36), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("uri", sa.String(1000), nullable=False),
        sa.Column("format", sa.String(16), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registry_assets"),
        _fk("registry_assets", "snapshot_id", "registry_snapshots", "CASCADE"),
    )
    op.create_index("ix_registry_assets_snapshot_id", "registry_assets", ["snapshot_id"])
    op.create_table(
        "registry_runtimes",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("service_tags", sa.JSON(), nullable=False),
        sa.Column("endpoints", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registry_runtimes"),
        sa.UniqueConstraint("name", name="uq_registry_runtimes_name"),
    )
    op.create_table(
        "registry_deployed_models",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("snapshot_id", sa.String(36), nullable=False),
        sa.Column("model_id", sa.String(36), nullable=False),
        sa.Column("runtime_id", sa.String(36), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("active_key", sa.String(80), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("deployed_at", UTCDateTime(), nullable=False),
        sa.Column("retired_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_registry_deployed_models"),
        _fk("registry_deployed_models", "snapshot_id", "registry_snapshots", "CASCADE"),
        _fk("registry_deployed_models", "model_id", "registry_models", "CASCADE"),
        _fk("registry_deployed_models", "runtime_id", "registry_runtimes", "CASCADE"),
        sa.UniqueConstraint("active_key", name="uq_registry_deployed_models_active_key"),
        sa.UniqueConstraint("idempotency_key",
                            name="uq_registry_deployed_models_idempotency_key"),
    )
    for column in ("snapshot_id", "model_id", "runtime_id"):
        op.create_index(f"ix_registry_deployed_models_{column}", "registry_deployed_models",
                        [column])
    op.create_table(
        "registry_jobs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("job_type", sa.String(16), nullable=False),
        sa.Column("snapshot_id", sa.String(36), nullable=True),
        sa.Column("model_id", sa.String(36), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("log_tail", sa.Text(), nullable=False),
        sa.Column("active_key", sa.String(64), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("lease_expires_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_registry_jobs"),
        _fk("registry_jobs", "snapshot_id", "registry_snapshots", "SET NULL"),
        sa.UniqueConstraint("active_key", name="uq_registry_jobs_active_key"),
        sa.UniqueConstraint("idempotency_key", name="uq_registry_jobs_idempotency_key"),
    )
    for column in ("job_type", "snapshot_id", "model_id", "state"):
        op.create_index(f"ix_registry_jobs_{column}", "registry_jobs", [column])


def downgrade() -> None:
    for table in ("registry_jobs", "registry_deployed_models", "registry_runtimes",
                  "registry_assets", "registry_snapshots", "registry_models"):
        op.drop_table(table)
