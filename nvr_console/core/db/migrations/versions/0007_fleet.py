"""fleet: nodes, camera leases with fencing tokens, the node that recorded each file, pins, destination names

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import nvr_console.core.db.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("process", sa.String(length=128), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("started_at", nvr_console.core.db.types.UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", nvr_console.core.db.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", nvr_console.core.db.types.UTCDateTime(), nullable=False),
        sa.Column("lease_ttl", sa.Float(), nullable=False),
        sa.Column("max_cameras", sa.Integer(), nullable=False),
        sa.Column("cameras_held", sa.Integer(), nullable=False),
        sa.Column("free_disk", sa.BigInteger(), nullable=True),
        sa.Column("queue_files", sa.Integer(), nullable=False),
        sa.Column("queue_bytes", sa.BigInteger(), nullable=False),
        sa.Column("draining", sa.Boolean(), nullable=False),
        sa.Column("stopped_at", nvr_console.core.db.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index(op.f("ix_nodes_expires_at"), "nodes", ["expires_at"], unique=False)
    op.create_table(
        "camera_leases",
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=True),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("holder", sa.String(length=128), nullable=True),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", nvr_console.core.db.types.UTCDateTime(), nullable=True),
        sa.Column("acquired_at", nvr_console.core.db.types.UTCDateTime(), nullable=True),
        sa.Column("desired_holder", sa.String(length=128), nullable=True),
        sa.Column("handover_state", sa.String(length=16), nullable=True),
        sa.Column("handover_boundary", nvr_console.core.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("unit"),
    )
    op.create_index(op.f("ix_camera_leases_holder"), "camera_leases", ["holder"], unique=False)
    op.create_index(op.f("ix_camera_leases_expires_at"), "camera_leases", ["expires_at"], unique=False)

    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("pinned_node", sa.String(length=128), nullable=True))
    with op.batch_alter_table("cameras") as batch:
        batch.add_column(sa.Column("pinned_node", sa.String(length=128), nullable=True))
    with op.batch_alter_table("camera_status") as batch:
        batch.add_column(sa.Column("lease_token", sa.BigInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("recordings") as batch:
        # Rows from before: '' (recorded by whichever single engine there was); a node adopts the ones
        # whose file is on its disk.
        batch.add_column(sa.Column("node", sa.String(length=128), nullable=False, server_default=""))
        batch.add_column(sa.Column("lease_token", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("remote_name", sa.String(length=512), nullable=True))
        batch.add_column(sa.Column("remote_name_key", sa.String(length=64), nullable=True))
        batch.drop_constraint("uq_recordings_local_path_key", type_="unique")
        batch.create_unique_constraint("uq_recordings_node_local_path_key", ["node", "local_path_key"])
        batch.create_unique_constraint("uq_recordings_remote_name_key", ["remote_name_key"])
        batch.create_index("ix_recordings_node_status", ["node", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.drop_index("ix_recordings_node_status")
        batch.drop_constraint("uq_recordings_remote_name_key", type_="unique")
        batch.drop_constraint("uq_recordings_node_local_path_key", type_="unique")
        batch.create_unique_constraint("uq_recordings_local_path_key", ["local_path_key"])
        batch.drop_column("remote_name_key")
        batch.drop_column("remote_name")
        batch.drop_column("lease_token")
        batch.drop_column("node")
    with op.batch_alter_table("camera_status") as batch:
        batch.drop_column("lease_token")
    with op.batch_alter_table("cameras") as batch:
        batch.drop_column("pinned_node")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("pinned_node")
    op.drop_index(op.f("ix_camera_leases_expires_at"), table_name="camera_leases")
    op.drop_index(op.f("ix_camera_leases_holder"), table_name="camera_leases")
    op.drop_table("camera_leases")
    op.drop_index(op.f("ix_nodes_expires_at"), table_name="nodes")
    op.drop_table("nodes")
