"""PostgreSQL: the role metric queries run as, allowed to read the analytics views only.

Revision ID: 0008_metrics_reader
Revises: 0007_nodes

Frozen copy of ``connectors.automations._views.GRANT_READER`` as of this revision. Roles
belong to the whole cluster: the role is created once and each schema grants it its views.
A migrating user that may not create roles gets a warning, and metric queries are refused
with the reason until an administrator creates and grants the role.
"""

from __future__ import annotations

from alembic import op

revision = "0008_metrics_reader"
down_revision = "0007_nodes"
branch_labels = None
depends_on = None

ROLE = "mlc_metrics_reader"
VIEWS = "analytics_build_metrics, analytics_builds, analytics_job_metrics, " \
        "analytics_scoring_outputs"

GRANT = f"""
DO $$
BEGIN
    BEGIN
        CREATE ROLE {ROLE} NOLOGIN;
    EXCEPTION
        WHEN duplicate_object OR unique_violation THEN NULL;
        WHEN insufficient_privilege THEN
            RAISE WARNING 'cannot create role {ROLE}: metric queries will be refused';
            RETURN;
    END;
    IF NOT pg_has_role(current_user, '{ROLE}', 'MEMBER') THEN
        EXECUTE format('GRANT {ROLE} TO %I', current_user);
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO {ROLE}', current_schema());
    EXECUTE 'GRANT SELECT ON {VIEWS} TO {ROLE}';
END
$$"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(GRANT)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"REVOKE SELECT ON {VIEWS} FROM {ROLE}")
