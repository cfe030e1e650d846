"""The SQLite file holds camera passwords: private modes from its creation on; driver errors in one sentence.
Against a real MariaDB every call is bounded, so a server that stops answering costs a caller seconds (then a
DatabaseUnavailable sentence), and the same Database works again once it answers."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from nvr_console.core import catalog
from nvr_console.core.config import ensure_runtime_dirs, load_settings
from nvr_console.core.db import session
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database, DatabaseUnavailable
from tests.support.mariadb import MariaDBServer

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


@pytest.fixture(autouse=True)
def common_umask() -> Iterator[None]:
    """The usual 022: without the fix, SQLite would create 0644 files and mkdir 0755 folders."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def url_of(path: Path) -> str:
    return f"sqlite:///{path.as_posix()}"


def test_a_new_database_and_its_wal_are_private_from_the_start(tmp_path: Path) -> None:
    file = tmp_path / "data" / "nvr.sqlite3"
    db = Database(url_of(file))
    try:
        prepare_database(db)
        catalog.add_room(db, "A-101")
        catalog.add_camera(db, "A-101", "front", "rtsp://admin:secret@10.0.0.5/stream")
        with db.session() as s:  # a connection is open: the WAL and its index exist
            s.connection()
            wal, shm = file.with_name(file.name + "-wal"), file.with_name(file.name + "-shm")
            assert wal.exists() and shm.exists()
            assert (mode(file), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
        assert mode(file.parent) == 0o700
    finally:
        db.dispose()


def test_an_existing_database_readable_by_others_is_narrowed_with_a_log_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    file = folder / "old.sqlite3"
    conn = sqlite3.connect(file)  # as an older version left it: 0644, with its WAL
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    wal, shm = file.with_name(file.name + "-wal"), file.with_name(file.name + "-shm")
    assert mode(file) == mode(wal) == mode(shm) == 0o644
    with caplog.at_level(logging.WARNING, logger="nvr_console.core.db.session"):
        db = Database(url_of(file))
    try:
        assert mode(file) == mode(wal) == mode(shm) == 0o600
        assert caplog.messages == [f"database file {p} was readable by other users (mode 644); changed to 600"
                                   for p in (file, wal, shm)]
        assert mode(folder) == 0o755  # an existing folder may be shared on purpose: not ours to change
        wal.chmod(0o644)  # widened by something else while we run: the next connection narrows it again
        with db.session() as s:
            s.connection()
        assert mode(wal) == 0o600
    finally:
        conn.close()
        db.dispose()


def test_start_up_makes_the_database_folder_private(tmp_path: Path) -> None:
    settings = load_settings(env={
        "NVR_DATABASE_URL": url_of(tmp_path / "data" / "nvr.sqlite3"),
        "NVR_RECORDING_DIR": str(tmp_path / "data" / "recordings"),  # created after it, inside it
        "NVR_LOG_DIR": str(tmp_path / "log"),
    })
    ensure_runtime_dirs(settings)
    assert mode(tmp_path / "data") == 0o700
    assert mode(tmp_path / "log") == 0o755


def test_a_database_path_that_is_a_folder_says_so(tmp_path: Path) -> None:
    db = Database(url_of(tmp_path))
    with pytest.raises(DatabaseUnavailable) as err:
        db.check_connection()
    db.dispose()
    assert str(err.value) == (f"cannot use the database: SQLite file {tmp_path} is a folder, not a file; point "
                              f"database.url at a file in it, such as {url_of(tmp_path / 'nvr-console.sqlite3')}")


def test_a_database_damaged_inside_says_how_to_start_afresh(tmp_path: Path) -> None:
    file = tmp_path / "nvr.sqlite3"
    db = Database(url_of(file))
    prepare_database(db)
    for i in range(300):
        catalog.add_room(db, f"room {i:03d} " + "x" * 60)
    db.dispose()
    data = bytearray(file.read_bytes())
    page = 4096
    for offset in range(8 * page, len(data)):  # leave the schema, damage the rooms' pages
        data[offset] = 0xA5
    file.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        file.with_name(file.name + suffix).unlink(missing_ok=True)
    db = Database(url_of(file))
    try:
        with pytest.raises(DatabaseUnavailable) as err:
            catalog.list_rooms(db)
    finally:
        db.dispose()
    text = str(err.value)
    assert text.startswith(f"cannot use the database: SQLite file {file} is damaged (")
    assert f"mv {file} {file}.damaged" in text and "\n" not in text


def test_a_database_in_a_folder_that_cannot_be_made_is_one_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    db = Database(url_of(blocker / "sub" / "nvr.sqlite3"))
    with pytest.raises(DatabaseUnavailable) as err:
        db.check_connection()
    db.dispose()
    assert str(err.value) == (f"cannot use the database: SQLite file {blocker / 'sub' / 'nvr.sqlite3'}: its folder "
                              f"{blocker / 'sub'} does not exist; create it or fix database.url")


@pytest.mark.mariadb
def test_mysql_connections_carry_the_timeouts_and_a_shorter_lock_wait(mariadb_url: str) -> None:
    db = Database(mariadb_url)
    try:
        query = db.engine.url.query
        assert (query["connect_timeout"], query["read_timeout"], query["write_timeout"]) == (
            str(session.CONNECT_TIMEOUT_S), str(session.READ_TIMEOUT_S), str(session.WRITE_TIMEOUT_S))
        with db.engine.connect() as conn:
            lock_wait = conn.exec_driver_sql("SELECT @@SESSION.innodb_lock_wait_timeout").scalar()
        assert lock_wait == session.LOCK_WAIT_TIMEOUT_S < session.READ_TIMEOUT_S
        # database.url may override a bound
        assert Database(mariadb_url + "?read_timeout=60").engine.url.query["read_timeout"] == "60"
    finally:
        db.dispose()


@pytest.mark.mariadb
@pytest.mark.slow
def test_a_paused_server_fails_calls_instead_of_hanging_and_is_used_again_once_it_answers(
    mariadb_server: MariaDBServer, mariadb_url: str
) -> None:
    db = Database(mariadb_url + "?read_timeout=2&connect_timeout=2")
    prepare_database(db)
    catalog.add_room(db, "A-101")
    assert mariadb_server.proc is not None
    pid = mariadb_server.proc.pid
    os.kill(pid, signal.SIGSTOP)  # the server process stops answering; its sockets stay open
    try:
        # A pooled connection (its pre-ping read times out) and a new one (the greeting never comes).
        with pytest.raises(DatabaseUnavailable) as err:
            catalog.list_rooms(db)
        assert "cannot use the database" in str(err.value)
        with pytest.raises(DatabaseUnavailable):
            db.check_connection()
    finally:
        os.kill(pid, signal.SIGCONT)
    assert [r.name for r in catalog.list_rooms(db)] == ["A-101"]
    db.dispose()
