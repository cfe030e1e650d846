"""Schema migrations (Alembic) driven from code: `nvr-console db upgrade`, and at every app start."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.exc import DBAPIError

from nvr_console.core.db.session import Database, create_db_engine, explain_db_error

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
# A schema change on MySQL/MariaDB may rewrite a large table: far longer than the read bound of ordinary
# statements (session.READ_TIMEOUT_S), still not forever.
MIGRATION_READ_TIMEOUT_S = 3600


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer nvr-console than this one."""


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest schema revision this code knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    """The database's revision, or None for an empty (never migrated) database."""
    try:
        with db.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except DBAPIError as exc:
        raise explain_db_error(db.url, exc) from None


def upgrade(db: Database, revision: str = "head") -> tuple[str | None, str]:
    """Migrate to `revision`; returns (before, after). Refuses a database newer than the code."""
    before = check_not_newer(db)
    sqlite = db.engine.dialect.name == "sqlite"  # no socket timeouts there (and :memory: is per engine)
    engine: Engine = db.engine if sqlite else create_db_engine(db.url, read_timeout_s=MIGRATION_READ_TIMEOUT_S)
    try:
        with engine.begin() as conn:
            command.upgrade(_config(conn), revision)
    except DBAPIError as exc:
        raise explain_db_error(db.url, exc) from None
    finally:
        if engine is not db.engine:
            engine.dispose()
    after = current_revision(db)
    assert after is not None
    if before != after:
        log.info("database schema migrated from %s to %s", before or "empty", after)
    return before, after


def check_not_newer(db: Database) -> str | None:
    """Raise SchemaTooNew if the database carries a revision this code does not know."""
    current = current_revision(db)
    if current is None:
        return None
    script = ScriptDirectory.from_config(_config())
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        raise SchemaTooNew(
            f"the database ({db.display_url}) has schema revision {current}, newer than this "
            f"nvr-console understands (up to {head_revision()}); install the newer nvr-console that "
            "migrated it, or point database.url at another database"
        )
    return current


def prepare_database(db: Database) -> None:
    """At app start: reach the database, refuse a newer schema, migrate an empty or older one."""
    db.check_connection()
    before = check_not_newer(db)
    if before is None and _has_foreign_tables(db):
        log.warning("database %s has tables but no nvr-console schema version; creating ours beside them",
                    db.display_url)
    if before != head_revision():
        upgrade(db)


def _has_foreign_tables(db: Database) -> bool:
    with db.engine.connect() as conn:
        return bool(inspect(conn).get_table_names())
