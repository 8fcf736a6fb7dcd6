"""Runtimes name the engine of their jobs: ``local`` (the node's process pool) or ``dask``.

Revision ID: 0009_runtime_engines
Revises: 0008_metrics_reader

Hand-written to match ``connectors/registry/_tables.py``. Existing runtimes become ``local``,
which is what they were.
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0009_runtime_engines"
down_revision = "0008_metrics_reader"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("registry_runtimes") as batch:
        batch.add_column(sa.Column("engine", sa.String(16), nullable=False,
                                   server_default="local"))
        batch.add_column(sa.Column("scheduler", sa.String(500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("registry_runtimes") as batch:
        batch.drop_column("scheduler")
        batch.drop_column("engine")
