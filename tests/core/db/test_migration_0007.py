"""Migration 0007 (fleet) on a database that already holds recordings, both ways, on both backends."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from nvr_console.core.db import migrate
from nvr_console.core.db.session import Database


def _insert_recording(db: Database, key: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO recordings (room_name, camera_name, slot_start, local_path, local_path_key, status, notes, "
            "bytes_confirmed, attempts, created_at, updated_at) VALUES ('r', 'c', '2026-11-23 10:00:00', '/x', "
            ":key, 'ready', '', 0, 0, '2026-11-23 10:00:00', '2026-11-23 10:00:00')"), {"key": key})


def test_existing_rows_get_an_empty_node_and_keep_their_unique_path(any_db_url: str) -> None:
    db = Database(any_db_url)
    migrate.upgrade(db, "0006")
    _insert_recording(db, "k1")
    migrate.upgrade(db)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT node, lease_token, remote_name FROM recordings")).all() == [("", None, None)]
    # Still one row per file of a node, legacy rows included.
    with pytest.raises(IntegrityError):
        _insert_recording(db, "k1")
    db.dispose()


def test_downgrade_to_0006_and_up_again(any_db_url: str) -> None:
    db = Database(any_db_url)
    migrate.upgrade(db)
    _insert_recording(db, "k2")
    with db.engine.begin() as conn:
        command.downgrade(migrate._config(conn), "0006")
    tables = set(inspect(db.engine).get_table_names())
    assert "nodes" not in tables and "camera_leases" not in tables
    assert "node" not in {c["name"] for c in inspect(db.engine).get_columns("recordings")}
    migrate.upgrade(db)
    assert {"nodes", "camera_leases"} <= set(inspect(db.engine).get_table_names())
    db.dispose()
