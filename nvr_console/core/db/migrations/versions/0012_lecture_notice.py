"""lectures: the delivery notice to the organizer (lectures.notify_organizer), sent at most once per version

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

from nvr_console.core.db.types import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lectures") as batch:
        batch.add_column(sa.Column("notice_version", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("notice_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("notice_after", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("notice_sent_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("notice_error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lectures", recreate="never") as batch:
        for name in ("notice_error", "notice_sent_at", "notice_after", "notice_attempts", "notice_version"):
            batch.drop_column(name)
