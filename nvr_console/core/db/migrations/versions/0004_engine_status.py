"""engine_status: each engine's last report about itself (upload queue paused, and why)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import nvr_console.core.db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engine_status",
        sa.Column("node", sa.String(length=128), nullable=False),
        sa.Column("started_at", nvr_console.core.db.types.UTCDateTime(), nullable=False),
        sa.Column("uploads_paused", sa.Boolean(), nullable=False),
        sa.Column("pause_reason", sa.Text(), nullable=False),
        sa.Column("paused_since", nvr_console.core.db.types.UTCDateTime(), nullable=True),
        sa.Column("updated_at", nvr_console.core.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("node"),
    )


def downgrade() -> None:
    op.drop_table("engine_status")
