"""camera_status: what the camera sends (the console's Stream column), for consoles on other machines

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("camera_status") as batch:
        batch.add_column(sa.Column("stream", sa.String(length=200), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("camera_status", recreate="never") as batch:
        batch.drop_column("stream")
