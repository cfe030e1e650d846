"""db_now(): the database's clock, comparable with every UTCDateTime column on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from nvr_console.core.db.dbtime import db_now, read_now
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import Node
from nvr_console.core.db.session import Database


def test_db_now_is_utc_with_microseconds_and_takes_offsets(any_db_url: str) -> None:
    db = Database(any_db_url)
    prepare_database(db)
    with db.session() as s:
        now = read_now(s)
        later, earlier = s.execute(select(db_now(15.25), db_now(-3))).one()
    assert now.tzinfo is UTC
    assert abs((now - datetime.now(UTC)).total_seconds()) < 5  # same machine: the clocks agree here
    assert timedelta(seconds=15) < later - now < timedelta(seconds=16)
    assert timedelta(seconds=-4) < earlier - now < timedelta(seconds=-2)
    db.dispose()


def test_stored_db_time_compares_with_db_now(any_db_url: str) -> None:
    """Written with db_now(), read back as an aware datetime, and ordered right against db_now() in SQL."""
    db = Database(any_db_url)
    prepare_database(db)
    with db.session() as s:
        s.add(Node(name="n1", process="h:1", started_at=datetime.now(UTC), heartbeat_at=datetime.now(UTC),
                   expires_at=datetime.now(UTC), lease_ttl=15.0))
    with db.session() as s:
        s.execute(update(Node).values(expires_at=db_now(0.5), heartbeat_at=db_now()))
    with db.session() as s:
        node = s.get(Node, "n1")
        assert node is not None and node.expires_at.tzinfo is UTC
        # One statement sees one database "now" (SQLite keeps milliseconds only).
        assert node.expires_at - node.heartbeat_at == timedelta(milliseconds=500)
        assert s.scalar(select(Node.name).where(Node.expires_at > db_now())) == "n1"
        assert s.scalar(select(Node.name).where(Node.expires_at > db_now(1))) is None
    db.dispose()
