"""Engine and session creation, and the one place that turns driver errors into operator sentences."""

from __future__ import annotations

import logging
import os
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Delete, Engine, Update, create_engine, event
from sqlalchemy.engine import CursorResult, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DatabaseError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from nvr_console.core.db.outage_breaker import OutageBreaker, is_unreachable, reason_of
from nvr_console.core.system.private_files import PRIVATE_FILE, create_private_file, make_private_dir, narrow_mode
from nvr_console.core.text.masking import mask_secrets

log = logging.getLogger(__name__)
# Files SQLite keeps beside the database: rollback journal, write-ahead log, shared-memory index.
SQLITE_COMPANIONS = ("-journal", "-wal", "-shm")

# Bounds on every MySQL/MariaDB call, so a server that stops answering (hung, paused, a link that died
# without a reset) costs a caller seconds, never forever. PyMySQL waits without limit by default. The read
# bound covers the greeting of a new connection and the longest statement run outside migrations; a row
# lock wait ends first (LOCK_WAIT_TIMEOUT_S) with its own error instead of a lost connection. A
# `?read_timeout=N` (or connect_timeout / write_timeout) in database.url overrides these.
CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 10
WRITE_TIMEOUT_S = 10
LOCK_WAIT_TIMEOUT_S = 8


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or opened; `str()` names where and what to do (no password).
    `unreachable`: the server did not answer at all (connection refused, lost, timed out), as opposed to a
    file or account problem; `reason`: the driver's own words."""

    unreachable = False
    reason = ""


def describe_url(url: str) -> str:
    """`MySQL/MariaDB at db.example:3306 (database nvr, user nvr)` or `SQLite file /path`."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return f"SQLite file {u.database or ':memory:'}"
    return (
        f"MySQL/MariaDB at {u.host}:{u.port or 3306} (database {u.database or '?'}, "
        f"user {u.username or '?'})"
    )


def create_db_engine(url: str, read_timeout_s: float | None = None) -> Engine:
    """An Engine that survives dropped connections (pool_pre_ping) and suits the backend.

    MySQL/MariaDB connections get connect/read/write timeouts (`read_timeout_s` replaces the read bound,
    for schema migrations that may rewrite a large table)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        file = Path(u.database) if u.database and u.database != ":memory:" and not u.database.startswith("file:") \
            else None
        if file is not None:
            keep_sqlite_private(file)
        engine = create_engine(
            url,
            pool_pre_ping=True,
            # The engine thread, upload workers and the UI each use their own sessions.
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        if file is not None:
            # The journal and WAL files appear later; SQLite gives them the database's mode, this makes sure.
            event.listen(engine, "connect", lambda _conn, _record: _narrow_sqlite_modes(file))
        return engine
    query = dict(u.query)
    query.setdefault("charset", "utf8mb4")
    query.setdefault("connect_timeout", str(CONNECT_TIMEOUT_S))
    query.setdefault("write_timeout", str(WRITE_TIMEOUT_S))
    if read_timeout_s is not None:
        query["read_timeout"] = str(int(read_timeout_s))
    query.setdefault("read_timeout", str(READ_TIMEOUT_S))
    return create_engine(
        u.set(query=query),
        pool_pre_ping=True,  # the ping is bounded by the read timeout too
        pool_recycle=1800,  # MySQL closes idle connections after wait_timeout (8 h by default)
        connect_args={"init_command": f"SET SESSION innodb_lock_wait_timeout = {LOCK_WAIT_TIMEOUT_S}"},
    )


def keep_sqlite_private(file: Path) -> None:
    """The database holds camera URLs with their passwords: create it (and, when missing, its folder) for this
    user only, and narrow an existing file readable by others, saying so. Any thread."""
    try:
        make_private_dir(file.parent)
        create_private_file(file)  # an empty file is an empty SQLite database
    except OSError as exc:  # SQLite then fails to open it, and explain_db_error says why in its words
        log.debug("cannot create %s: %s", file, exc)
    _narrow_sqlite_modes(file)


def _narrow_sqlite_modes(file: Path) -> None:
    for path in (file, *(file.with_name(file.name + suffix) for suffix in SQLITE_COMPANIONS)):
        old = narrow_mode(path, PRIVATE_FILE)
        if old is not None:
            log.warning("database file %s was readable by other users (mode %03o); changed to %03o",
                        path, old, old & PRIVATE_FILE)


def rows_changed(session: Session, statement: Update | Delete) -> int:
    """Run an UPDATE or DELETE in `session` and return how many rows it changed. The session's thread.

    `Session.execute` is typed as returning a Result; for these statements it is a CursorResult, which
    carries the count.
    """
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    return result.rowcount


def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    # WAL lets the console read while the engine and uploaders write.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def explain_db_error(url: str, exc: BaseException) -> DatabaseUnavailable:
    """Wrap a driver error into one sentence: where, why, and what to check."""
    orig = getattr(exc, "orig", exc)
    reason = mask_secrets(str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__)
    where = describe_url(url)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return DatabaseUnavailable(_explain_sqlite(u.database or ":memory:", reason))
    hint = (
        "check that the server is running and reachable, and the user, password and database "
        "in database.url (or SQLALCHEMY_DATABASE_URI)"
    )
    return DatabaseUnavailable(f"cannot use the database: {where}: {reason}; {hint}")


def _is_damaged(url: str, exc: DatabaseError) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return make_url(url).get_backend_name() == "sqlite" and ("not a database" in text or "malformed" in text)


def _explain_sqlite(database: str, reason: str) -> str:
    """What SQLite's terse reason means for this file, and what to do about it."""
    path = Path(database)
    lead = f"cannot use the database: SQLite file {database}"
    text = reason.lower()
    if "not a database" in text or "malformed" in text:
        return (
            f"{lead} is damaged ({reason}); the recordings on disk are safe: stop nvr-console, move the file "
            f"aside with its -wal and -shm files if any (mv {shlex.quote(database)} "
            f"{shlex.quote(database + '.damaged')}) and start again: a new database is made and start-up "
            "registers the recordings still on disk for upload (add the rooms and cameras again, or try "
            "`sqlite3 FILE .recover` on the moved file)"
        )
    if "readonly" in text or "read-only" in text:
        return f"{lead} is read-only for this user ({reason}); give this user write access to it and its folder"
    if "locked" in text or "busy" in text:
        return f"{lead} stayed locked by another program ({reason}); close the other program or retry"
    if "is full" in text:
        return f"{lead}: the disk is full ({reason}); free some space"
    if path.is_dir():
        return (f"{lead} is a folder, not a file; point database.url at a file in it, such as "
                f"sqlite:///{(path / 'nvr-console.sqlite3').as_posix()}")
    if not path.parent.is_dir():
        return f"{lead}: its folder {path.parent} does not exist; create it or fix database.url"
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.R_OK | os.W_OK)):
        return f"{lead}: {reason}; this user may not read and write it or its folder {path.parent}"
    return f"{lead}: {reason}; check that the folder exists and this user may write to it"


class Database:
    """An engine plus a session factory. Thread-safe: each thread opens its own sessions.

    `fail_fast`: while a MySQL/MariaDB server is out of reach, sessions fail at once with DatabaseUnavailable
    instead of each waiting out the timeouts (core/db/outage_breaker.py); for a recording engine, whose threads
    must go on recording and keep what they could not write. Ignored for SQLite."""

    def __init__(self, url: str, read_timeout_s: float | None = None, fail_fast: bool = False) -> None:
        self.url = url
        self.engine = create_db_engine(url, read_timeout_s)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.breaker = (OutageBreaker(self._ping, describe_url(url))
                        if fail_fast and make_url(url).get_backend_name() != "sqlite" else None)

    @property
    def display_url(self) -> str:
        return mask_secrets(self.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error; driver errors become DatabaseUnavailable
        only when the database itself is unreachable."""
        why = self.breaker.check() if self.breaker is not None else None
        if why is not None:
            raise explain_db_error(self.url, ConnectionError(why))
        s = self._sessions()
        try:
            yield s
            s.commit()
        except OperationalError as exc:
            s.rollback()
            error = explain_db_error(self.url, exc)
            error.unreachable, error.reason = is_unreachable(exc), reason_of(exc)
            if self.breaker is not None and error.unreachable:
                self.breaker.failed(error.reason)
            raise error from None
        except DatabaseError as exc:
            s.rollback()
            if _is_damaged(self.url, exc):  # SQLite reports a damaged file as a plain DatabaseError
                raise explain_db_error(self.url, exc) from None
            raise
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def check_connection(self) -> None:
        """Connect once; raise DatabaseUnavailable with host/port (password masked) if that fails."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except DBAPIError as exc:
            raise explain_db_error(self.url, exc) from None

    def _ping(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        if self.breaker is not None:
            self.breaker.close()
        self.engine.dispose()
