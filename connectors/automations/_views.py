"""The analytics views: the only relations metric queries may read.

- ``analytics_job_metrics(job_id, job_type, model_id, snapshot_id, metric, value, finished_at)``:
  every numeric metric of every succeeded training / metrics / scoring job.
- ``analytics_scoring_outputs(job_id, model_id, snapshot_id, state, rows, files_total,
  files_done, destination, finished_at)``: what each batch scoring job produced.
- ``analytics_builds(build_id, automation, model_id, status, deployed, started_at,
  finished_at)`` and ``analytics_build_metrics(build_id, automation, model_id, metric, value,
  logged_at)``: automation builds and the metrics they logged.

The SQL differs per dialect only in how JSON is unpacked. Migration 0004 carries a frozen
copy of these statements; :func:`create_views` serves tests that build schemas directly.

On PostgreSQL metric queries run as :data:`READER_ROLE`, a role that may read these views
(the views read the tables with their owner's rights) and nothing else; migration 0006 and
:func:`create_views` create it and grant it (:data:`GRANT_READER`).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

ANALYTICS_VIEWS = frozenset({"analytics_job_metrics", "analytics_scoring_outputs",
                             "analytics_builds", "analytics_build_metrics"})

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


READER_ROLE = "mlc_metrics_reader"

# Creates the role once per cluster (tolerating a concurrent creator and a migrating user
# without CREATEROLE) and lets it read this schema's analytics views, nothing more.
GRANT_READER = f"""
DO $$
BEGIN
    BEGIN
        CREATE ROLE {READER_ROLE} NOLOGIN;
    EXCEPTION
        WHEN duplicate_object OR unique_violation THEN NULL;
        WHEN insufficient_privilege THEN
            RAISE WARNING 'cannot create role {READER_ROLE}: metric queries will be refused';
            RETURN;
    END;
    IF NOT pg_has_role(current_user, '{READER_ROLE}', 'MEMBER') THEN
        EXECUTE format('GRANT {READER_ROLE} TO %I', current_user);
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO {READER_ROLE}', current_schema());
    EXECUTE 'GRANT SELECT ON {", ".join(sorted(ANALYTICS_VIEWS))} TO {READER_ROLE}';
END
$$"""


def create_views(connection: Connection) -> None:
    """(Re)create every analytics view on ``connection`` (SQLite or PostgreSQL)."""
    dialect = connection.dialect.name
    for name, body in VIEWS[dialect].items():
        connection.execute(text(f"DROP VIEW IF EXISTS {name}"))
        connection.execute(text(f"CREATE VIEW {name} AS {body}"))
    if dialect == "postgresql":
        connection.execute(text(GRANT_READER))
