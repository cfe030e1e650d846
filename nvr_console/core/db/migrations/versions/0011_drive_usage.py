"""drive usage: bytes sent per Google account per Drive day, and the account a room uploads with

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

import nvr_console.core.db.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drive_usage",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("updated_at", nvr_console.core.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account", "day"),
    )
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("drive_account", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # In place (SQLite >= 3.35 drops a column itself): copying the table, as batch mode does by default, meant
    # dropping `rooms`, which the cameras' foreign keys refuse while cameras exist.
    with op.batch_alter_table("rooms", recreate="never") as batch:
        batch.drop_column("drive_account")
    op.drop_table("drive_usage")
