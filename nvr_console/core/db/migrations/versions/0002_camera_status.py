"""camera_status: live state reported by engines, for `nvr-console status` and remote consoles

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import nvr_console.core.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "camera_status",
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("since", nvr_console.core.db.types.UTCDateTime(), nullable=False),
        sa.Column("current_file", sa.String(length=2048), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("bitrate_kbps", sa.Float(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("updated_at", nvr_console.core.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("camera_id"),
    )


def downgrade() -> None:
    op.drop_table("camera_status")
