"""Automations, their builds and build metrics, and the analytics views metric SQL reads.

Revision ID: 0004_automations
Revises: 0003_tickets

Hand-written to match ``connectors/automations/_tables.py`` (tests/integration/test_migrations.py
compares the whole chain with the models). The view statements are a frozen copy of
``connectors/automations/_views.py`` as of this revision.
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from engine.db import UTCDateTime

revision = "0004_automations"
down_revision = "0003_tickets"
branch_labels = None
depends_on = None

_COMMON = {
    "analytics_builds": (
        "SELECT id AS build_id, automation, model_id, status, "
        "CASE WHEN status = 'deployed' THEN 1 ELSE 0 END AS deployed, started_at, finished_at "
        "FROM automation_builds"),
    "analytics_build_metrics": (
        "SELECT build_id, automation, model_id, name AS metric, value, logged_at "
        "FROM automation_build_metrics"),
}

VIEWS = {
    "sqlite": {
        "analytics_job_metrics": (
            "SELECT j.id AS job_id, j.job_type, j.model_id, j.snapshot_id, m.key AS metric, "
            "CAST(m.value AS REAL) AS value, j.finished_at "
            "FROM registry_jobs j, json_each(j.metrics) m "
            "WHERE j.state = 'succeeded' AND m.type IN ('integer', 'real')"),
        "analytics_scoring_outputs": (
            "SELECT id AS job_id, model_id, snapshot_id, state, "
            "CAST(json_extract(outputs, '$.rows') AS INTEGER) AS rows, "
            "CAST(json_extract(outputs, '$.files_total') AS INTEGER) AS files_total, "
            "CAST(json_extract(outputs, '$.files_done') AS INTEGER) AS files_done, "
            "json_extract(outputs, '$.destination') AS destination, finished_at "
            "FROM registry_jobs WHERE job_type = 'scoring'"),
        **_COMMON,
    },
    "postgresql": {
        "analytics_job_metrics": (
            "SELECT j.id AS job_id, j.job_type, j.model_id, j.snapshot_id, m.key AS metric, "
            "CAST(m.value::text AS double precision) AS value, j.finished_at "
            "FROM registry_jobs j CROSS JOIN LATERAL json_each(j.metrics) m "
            "WHERE j.state = 'succeeded' AND json_typeof(m.value) = 'number'"),
        "analytics_scoring_outputs": (
            "SELECT id AS job_id, model_id, snapshot_id, state, "
            "CAST(outputs->>'rows' AS bigint) AS rows, "
            "CAST(outputs->>'files_total' AS integer) AS files_total, "
            "CAST(outputs->>'files_done' AS integer) AS files_done, "
            "outputs->>'destination' AS destination, finished_at "
            "FROM registry_jobs WHERE job_type = 'scoring'"),
        **_COMMON,
    },
}


def upgrade() -> None:
    op.create_table(
        "automations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("trigger_kind", sa.String(16), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("process_key", sa.String(200), nullable=False),
        sa.Column("source_file", sa.String(1000), nullable=True),
        sa.Column("armed", sa.Boolean(), nullable=False),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("checked_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_automations"),
        sa.UniqueConstraint("name", name="uq_automations_name"),
    )
    op.create_index("ix_automations_model_id", "automations", ["model_id"])
    op.create_table(
        "automation_builds",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("automation", sa.String(100), nullable=False),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("instance_id", sa.String(64), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("git_commit", sa.String(64), nullable=True),
        sa.Column("snapshot_id", sa.String(36), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("deployment", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("log_tail", sa.Text(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_automation_builds"),
        sa.UniqueConstraint("idempotency_key", name="uq_automation_builds_idempotency_key"),
    )
    op.create_index("ix_automation_builds_automation", "automation_builds", ["automation"])
    op.create_index("ix_automation_builds_instance_id", "automation_builds", ["instance_id"])
    op.create_table(
        "automation_build_metrics",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("build_id", sa.String(36), nullable=False),
        sa.Column("automation", sa.String(100), nullable=False),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("logged_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_automation_build_metrics"),
    )
    op.create_index("ix_automation_build_metrics_build_id", "automation_build_metrics",
                    ["build_id"])
    dialect = op.get_bind().dialect.name
    for name, body in VIEWS.get(dialect, VIEWS["sqlite"]).items():
        op.execute(f"CREATE VIEW {name} AS {body}")


def downgrade() -> None:
    for name in ("analytics_build_metrics", "analytics_builds", "analytics_scoring_outputs",
                 "analytics_job_metrics"):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    op.drop_table("automation_build_metrics")
    op.drop_table("automation_builds")
    op.drop_table("automations")
