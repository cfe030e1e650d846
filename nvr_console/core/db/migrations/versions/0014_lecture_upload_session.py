"""lecture_files: the claimant's Drive upload session, so a node taking the file over resumes it

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lecture_files") as batch:
        batch.add_column(sa.Column("upload_session_uri", sa.Text(), nullable=True))
        batch.add_column(sa.Column("upload_offset", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("upload_size", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lecture_files", recreate="never") as batch:
        for name in ("upload_size", "upload_offset", "upload_session_uri"):
            batch.drop_column(name)
