"""alerts: acknowledged by whom, when, with an optional note (repeats stop until the alert resolves)

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

import nvr_console.core.db.types

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("acked_by", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("acked_at", nvr_console.core.db.types.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("ack_note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts", recreate="never") as batch:
        batch.drop_column("ack_note")
        batch.drop_column("acked_at")
        batch.drop_column("acked_by")
