"""Model packages: artifacts per (model, environment), the artifact a deployment runs with,
and the report of a snapshot's own tests.

Revision ID: 0010_model_packages
Revises: 0009_runtime_engines

Hand-written to match ``connectors/registry/_tables.py`` (a test compares the two). Chained
after 0009_runtime_engines (the Dask runtimes).
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from engine.db import UTCDateTime

revision = "0010_model_packages"
down_revision = "0009_runtime_engines"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_artifacts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("model_id", sa.String(36), nullable=False),
        sa.Column("env", sa.String(8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("uri", sa.String(1000), nullable=False),
        sa.Column("content_hash", sa.String(71), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("source_artifact_id", sa.String(36), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registry_artifacts"),
        sa.ForeignKeyConstraint(["model_id"], ["registry_models.id"], ondelete="CASCADE",
                                name="fk_registry_artifacts_model_id_registry_models"),
        sa.UniqueConstraint("model_id", "env", "version",
                            name="uq_registry_artifacts_model_env_version"),
    )
    op.create_index("ix_registry_artifacts_model_id", "registry_artifacts", ["model_id"])
    with op.batch_alter_table("registry_deployed_models") as batch:
        batch.add_column(sa.Column("artifact_id", sa.String(36), nullable=True))
        batch.create_foreign_key("fk_registry_deployed_models_artifact_id_registry_artifacts",
                                 "registry_artifacts", ["artifact_id"], ["id"],
                                 ondelete="SET NULL")
        batch.create_index("ix_registry_deployed_models_artifact_id", ["artifact_id"])
    with op.batch_alter_table("registry_snapshots") as batch:
        batch.add_column(sa.Column("model_tests", sa.JSON(), nullable=False,
                                   server_default=sa.text("'{}'")))


def downgrade() -> None:
    with op.batch_alter_table("registry_snapshots") as batch:
        batch.drop_column("model_tests")
    with op.batch_alter_table("registry_deployed_models") as batch:
        batch.drop_index("ix_registry_deployed_models_artifact_id")
        batch.drop_constraint("fk_registry_deployed_models_artifact_id_registry_artifacts",
                              type_="foreignkey")
        batch.drop_column("artifact_id")
    op.drop_index("ix_registry_artifacts_model_id", table_name="registry_artifacts")
    op.drop_table("registry_artifacts")
