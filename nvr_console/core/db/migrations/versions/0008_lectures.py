"""lectures: room timetables (last good copy), lectures, one file per camera of each lecture

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

import nvr_console.core.db.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "room_timetables",
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=2048), nullable=False),
        sa.Column("location", sa.String(length=255), nullable=False),
        sa.Column("record_mode", sa.String(length=16), nullable=False),
        sa.Column("lecture_folder", sa.String(length=256), nullable=True),
        sa.Column("etag", sa.String(length=255), nullable=True),
        sa.Column("last_modified", sa.String(length=64), nullable=True),
        sa.Column("body", sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb"), nullable=True),
        sa.Column("body_sha", sa.String(length=64), nullable=True),
        sa.Column("fetched_at", nvr_console.core.db.types.UTCDateTime(), nullable=True),
        sa.Column("checked_at", nvr_console.core.db.types.UTCDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("updated_at", nvr_console.core.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("room_id"),
    )
    op.create_table(
        "lectures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("room_name", sa.String(length=128), nullable=False),
        sa.Column("uid", sa.Text(), nullable=False),
        sa.Column("uid_key", sa.String(length=64), nullable=False),
        sa.Column("recurrence_id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("organizer", sa.String(length=512), nullable=False),
        sa.Column("start", nvr_console.core.db.types.UTCDateTime(), nullable=False),
        sa.Column("end", nvr_console.core.db.types.UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("private_reason", sa.String(length=255), nullable=False),
        sa.Column("coverage", sa.Float(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("web_link", sa.String(length=1024), nullable=True),
        sa.Column("delivered_at", nvr_console.core.db.types.UTCDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", nvr_console.core.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", nvr_console.core.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("room_id", "uid_key", "recurrence_id", name="uq_lectures_room_uid_recurrence"),
    )
    op.create_index("ix_lectures_state_end", "lectures", ["state", "end"], unique=False)
    op.create_index("ix_lectures_room_start", "lectures", ["room_id", "start"], unique=False)
    op.create_table(
        "lecture_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lecture_id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=True),
        sa.Column("camera_name", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("claim_expires", nvr_console.core.db.types.UTCDateTime(), nullable=True),
        sa.Column("claim_token", sa.Integer(), nullable=False),
        sa.Column("lecture_version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("coverage", sa.Float(), nullable=True),
        sa.Column("gaps", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("md5", sa.String(length=32), nullable=True),
        sa.Column("destination", sa.String(length=16), nullable=True),
        sa.Column("drive_file_id", sa.String(length=256), nullable=True),
        sa.Column("web_link", sa.String(length=1024), nullable=True),
        sa.Column("folder_link", sa.String(length=1024), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("delivered_at", nvr_console.core.db.types.UTCDateTime(), nullable=True),
        sa.Column("updated_at", nvr_console.core.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["lecture_id"], ["lectures.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lecture_id", "camera_id", name="uq_lecture_files_lecture_camera"),
    )
    op.create_index(op.f("ix_lecture_files_lecture_id"), "lecture_files", ["lecture_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_lecture_files_lecture_id"), table_name="lecture_files")
    op.drop_table("lecture_files")
    op.drop_index("ix_lectures_room_start", table_name="lectures")
    op.drop_index("ix_lectures_state_end", table_name="lectures")
    op.drop_table("lectures")
    op.drop_table("room_timetables")
