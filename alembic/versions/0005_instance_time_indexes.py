"""Indexes on when instances started and ended: the cockpit's newest-first listings and its
throughput-per-hour chart read them instead of scanning every instance row (whose serialized
state makes a scan slow).

Revision ID: 0005_instance_time_indexes
Revises: 0004_automations
"""

from __future__ import annotations

from alembic import op

revision = "0005_instance_time_indexes"
down_revision = "0004_automations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_mlc_instances_created_at", "mlc_process_instances", ["created_at"])
    op.create_index("ix_mlc_instances_status_ended", "mlc_process_instances",
                    ["status", "ended_at"])


def downgrade() -> None:
    op.drop_index("ix_mlc_instances_status_ended", "mlc_process_instances")
    op.drop_index("ix_mlc_instances_created_at", "mlc_process_instances")
