"""lectures: the event's categories (a Drive folder may be given per category: lectures.category_folders)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lectures") as batch:
        batch.add_column(sa.Column("categories", sa.String(length=1000), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("lectures") as batch:
        batch.drop_column("categories")
