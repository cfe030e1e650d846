"""The database's clock as a SQL expression: every lease and heartbeat expiry is computed and compared with it.

Node clocks may disagree by seconds (or by hours, misconfigured); the database's does not disagree with
itself. `db_now(15)` is "the database's now plus 15 s", in UTC, of the same type as every UTCDateTime
column, so `expires_at < db_now()` works unchanged on both backends:

- MariaDB/MySQL: `TIMESTAMPADD(MICROSECOND, n, UTC_TIMESTAMP(6))` (UTC_TIMESTAMP, not NOW(): columns hold
  UTC whatever the session's time zone).
- SQLite: `strftime('%Y-%m-%d %H:%M:%f', 'now', '+n seconds') || '000'`: the text SQLAlchemy stores
  datetimes as (microseconds), so text comparison orders it right.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement, literal

from nvr_console.core.db.types import UTCDateTime


class db_now(FunctionElement[datetime]):  # lower case: reads like the SQL function it stands for
    """The database's current UTC time plus `offset_s` seconds (may be negative)."""

    type = UTCDateTime()
    inherit_cache = True
    name = "db_now"

    def __init__(self, offset_s: float = 0.0) -> None:
        # A bound parameter, so one compiled statement serves every offset (statement cache).
        super().__init__(literal(round(offset_s * 1_000_000)))


@compiles(db_now, "mysql")
@compiles(db_now, "mariadb")
def _mysql(element: db_now, compiler: Any, **kw: Any) -> str:
    return f"TIMESTAMPADD(MICROSECOND, {compiler.process(element.clauses, **kw)}, UTC_TIMESTAMP(6))"


@compiles(db_now, "sqlite")
def _sqlite(element: db_now, compiler: Any, **kw: Any) -> str:
    # SQLite modifiers take seconds with a fraction: microseconds / 1e6, rendered as a text modifier.
    micro = compiler.process(element.clauses, **kw)
    return (f"(strftime('%Y-%m-%d %H:%M:%f', 'now', printf('%+.6f seconds', ({micro}) / 1000000.0)) || '000')")


@compiles(db_now)
def _other(element: db_now, compiler: Any, **kw: Any) -> str:
    raise NotImplementedError(f"db_now() is not defined for the {compiler.dialect.name} database")


def read_now(s: Session) -> datetime:
    """The database's current UTC time (one round trip)."""
    value = s.scalar(select(db_now()))
    assert value is not None
    return value
