from datetime import UTC, datetime

import pymysql
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from nvr_console.core import catalog
from nvr_console.core.db import migrate
from nvr_console.core.db.models import Base, Recording, RecordingStatus
from nvr_console.core.db.session import Database, DatabaseUnavailable


def test_empty_database_is_migrated_on_first_start(any_db_url: str) -> None:
    db = Database(any_db_url)
    assert migrate.current_revision(db) is None
    migrate.prepare_database(db)
    assert migrate.current_revision(db) == migrate.head_revision()
    tables = set(inspect(db.engine).get_table_names())
    assert {"rooms", "cameras", "recordings", "drive_folders", "alembic_version"} <= tables
    indexes = {ix["name"] for ix in inspect(db.engine).get_indexes("recordings")}
    assert {"ix_recordings_status_slot", "ix_recordings_camera_slot"} <= indexes
    migrate.prepare_database(db)  # idempotent
    db.dispose()


def test_migrations_build_exactly_the_models(any_db_url: str) -> None:
    """A model changed without a migration (or the reverse) would only show on a customer's database."""
    db = Database(any_db_url)
    migrate.prepare_database(db)
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, Base.metadata)
    db.dispose()
    assert diff == []


def test_upgrade_reports_before_and_after(any_db_url: str) -> None:
    db = Database(any_db_url)
    assert migrate.upgrade(db) == (None, migrate.head_revision())
    assert migrate.upgrade(db) == (migrate.head_revision(), migrate.head_revision())
    db.dispose()


def test_database_newer_than_code_is_refused(any_db_url: str) -> None:
    db = Database(any_db_url)
    migrate.upgrade(db)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(migrate.SchemaTooNew, match="schema revision 9999, newer than this nvr-console"):
        migrate.prepare_database(db)
    db.dispose()


def test_datetimes_keep_microseconds_and_utc(any_db_url: str) -> None:
    db = Database(any_db_url)
    migrate.prepare_database(db)
    moment = datetime(2026, 11, 23, 10, 30, 0, 123456, tzinfo=UTC)
    with db.session() as s:
        s.add(Recording(room_name="r", camera_name="c", slot_start=moment, local_path="/x", local_path_key="k",
                        status=RecordingStatus.READY.value))
    with db.session() as s:
        got = s.scalar(select(Recording.slot_start))
    assert got == moment and got.tzinfo is UTC
    db.dispose()


def test_catalog_round_trip_on_both_backends(any_db_url: str) -> None:
    db = Database(any_db_url)
    migrate.prepare_database(db)
    catalog.add_room(db, "Аудитория 101", drive_folder="https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOpQ")
    cam = catalog.add_camera(db, "Аудитория 101", "front", "rtsp://admin:pw@10.0.0.5/s", "udp")
    assert cam.room == "Аудитория 101" and cam.rtsp_transport == "udp" and cam.enabled
    with pytest.raises(catalog.InvalidInput, match="already has a camera named 'front'"):
        catalog.add_camera(db, "Аудитория 101", "front", "rtsp://h/x")
    catalog.set_camera_enabled(db, "Аудитория 101", "front", False)
    assert [c.enabled for c in catalog.list_cameras(db)] == [False]
    assert catalog.list_rooms(db)[0].drive_folder == "1AbCdEfGhIjKlMnOpQ"
    db.dispose()


def test_unreachable_mysql_names_host_and_port_not_password() -> None:
    db = Database("mysql+pymysql://nvr:sup3rsecret@127.0.0.1:1/nvr")
    with pytest.raises(DatabaseUnavailable) as err:
        migrate.prepare_database(db)
    message = str(err.value)
    assert "127.0.0.1:1" in message and "sup3rsecret" not in message and "server is running" in message


@pytest.mark.mariadb
def test_connection_loss_is_survived_with_pre_ping(mariadb_url: str) -> None:
    db = Database(mariadb_url)
    migrate.prepare_database(db)
    with db.engine.connect() as conn:
        conn_id = conn.exec_driver_sql("SELECT CONNECTION_ID()").scalar()
    url = db.engine.url
    killer = pymysql.connect(host=url.host, port=url.port, user=url.username, password=url.password or "")
    with killer.cursor() as cur:
        cur.execute(f"KILL {conn_id}")
    killer.close()
    # the pooled connection is dead; pool_pre_ping replaces it instead of failing the next query
    assert catalog.list_rooms(db) == []
    db.dispose()
