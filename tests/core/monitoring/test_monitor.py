"""The monitor beside an engine: named after the node (`node.name`), and, with several nodes on one MariaDB,
one node_gone alert for a dead node however many live nodes report it."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from sqlalchemy import select

from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import Alert
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import registry
from nvr_console.core.monitoring.monitor import Monitor


def _alerts(db: Database) -> list[tuple[str, str, int, str | None]]:
    with db.session() as s:
        return [(a.key, a.state, a.notify_seq, a.outbox) for a in s.scalars(select(Alert).order_by(Alert.id))]


def test_the_monitor_is_named_after_the_node(settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory(**{"node.name": "recorder-7"})
    db = Database(settings.database.url)
    try:
        assert Monitor(settings, db, channels=[]).node == "recorder-7"
    finally:
        db.dispose()


@pytest.mark.mariadb
def test_two_live_nodes_report_a_dead_one_once_and_its_return_once(
        mariadb_url: str, settings_factory: Callable[..., Settings]) -> None:
    dbs = [Database(mariadb_url) for _ in range(3)]
    prepare_database(dbs[0])
    monitors = []
    for name, db in zip(("a", "b"), dbs[:2], strict=True):
        registry.register(db, name, "recorder", lease_ttl=60, process=f"{name}:1")
        settings = settings_factory(**{"database.url": mariadb_url, "node.name": name,
                                       "alerts.node_gone_after": "1s"})
        monitors.append(Monitor(settings, db, channels=[]))
    registry.register(dbs[2], "c", "recorder", lease_ttl=0.5, process="c:1")
    try:
        for m in monitors:
            m.check()
        assert _alerts(dbs[0]) == []  # c alive
        time.sleep(2)  # c's registration expired a second ago and more: it died (no clean stop)
        for m in monitors:
            m.check()
        for m in monitors:
            m.check()  # again: still the one alert, nothing more owed
        assert _alerts(dbs[0]) == [("node_gone:node:c", "firing", 1, None)]  # no channel: settled
        # c comes back: both see it alive; one resolves the alert.
        registry.register(dbs[2], "c", "recorder", lease_ttl=60, process="c:2")
        for m in reversed(monitors):
            m.check()
        assert _alerts(dbs[0]) == [("node_gone:node:c", "resolved", 2, None)]
    finally:
        for m in monitors:
            m.stop()
        for db in dbs:
            db.dispose()
