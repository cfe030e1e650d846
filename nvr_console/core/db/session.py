"""Engine and session creation, and the one place that turns driver errors into operator sentences."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from nvr_console.core.masking import mask_secrets


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or opened; `str()` names where and what to do (no password)."""


def describe_url(url: str) -> str:
    """`MySQL/MariaDB at db.example:3306 (database nvr, user nvr)` or `SQLite file /path`."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return f"SQLite file {u.database or ':memory:'}"
    return (
        f"MySQL/MariaDB at {u.host}:{u.port or 3306} (database {u.database or '?'}, "
        f"user {u.username or '?'})"
    )


def create_db_engine(url: str) -> Engine:
    """An Engine that survives dropped connections (pool_pre_ping) and suits the backend."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            pool_pre_ping=True,
            # The engine thread, upload workers and the UI each use their own sessions.
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    query = dict(u.query)
    query.setdefault("charset", "utf8mb4")
    return create_engine(
        u.set(query=query),
        pool_pre_ping=True,
        pool_recycle=1800,  # MySQL closes idle connections after wait_timeout (8 h by default)
        connect_args={"connect_timeout": 10},
    )


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
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
    if make_url(url).get_backend_name() == "sqlite":
        hint = "check that the folder exists and this user may write to it"
    else:
        hint = (
            "check that the server is running and reachable, and the user, password and database "
            "in database.url (or SQLALCHEMY_DATABASE_URI)"
        )
    return DatabaseUnavailable(f"cannot use the database: {where}: {reason}; {hint}")


class Database:
    """An engine plus a session factory. Thread-safe: each thread opens its own sessions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_db_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def display_url(self) -> str:
        return mask_secrets(self.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error; driver errors become DatabaseUnavailable
        only when the database itself is unreachable."""
        s = self._sessions()
        try:
            yield s
            s.commit()
        except OperationalError as exc:
            s.rollback()
            raise explain_db_error(self.url, exc) from None
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

    def dispose(self) -> None:
        self.engine.dispose()
