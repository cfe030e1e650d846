"""alerts: built-in alert rules' state and owed messages, so restarts neither repeat nor forget an alert

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import nvr_console.core.db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=191), nullable=False),
        sa.Column("open_key", sa.String(length=191), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("node", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", nvr_console.core.db.types.UTCDateTime(), nullable=False),
        sa.Column("fired_at", nvr_console.core.db.types.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", nvr_console.core.db.types.UTCDateTime(), nullable=True),
        sa.Column("notified_at", nvr_console.core.db.types.UTCDateTime(), nullable=True),
        sa.Column("notify_seq", sa.Integer(), nullable=False),
        sa.Column("outbox", sa.String(length=16), nullable=True),
        sa.Column("delivery_error", sa.Text(), nullable=False),
        sa.Column("created_at", nvr_console.core.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", nvr_console.core.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("open_key", name="uq_alerts_open_key"),
    )
    op.create_index("ix_alerts_state_fired", "alerts", ["state", "fired_at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_state_fired", table_name="alerts")
    op.drop_table("alerts")
