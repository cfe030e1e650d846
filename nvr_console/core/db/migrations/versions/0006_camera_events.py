"""camera_events: camera state changes, operator commands and engine starts/stops (reasons for coverage gaps);
recordings.damaged: why a file's media cannot be trusted

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

import nvr_console.core.db.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "camera_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", nvr_console.core.db.types.UTCDateTime(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=True),
        sa.Column("room_name", sa.String(length=128), nullable=False),
        sa.Column("camera_name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("node", sa.String(length=128), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_camera_events_camera_at", "camera_events", ["camera_id", "at"])
    op.create_index("ix_camera_events_at", "camera_events", ["at"])
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("damaged", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("damaged")
    op.drop_index("ix_camera_events_at", table_name="camera_events")
    op.drop_index("ix_camera_events_camera_at", table_name="camera_events")
    op.drop_table("camera_events")
