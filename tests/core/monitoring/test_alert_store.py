"""Alert state in the database: fire once, repeat at the interval, resolve once; two nodes never both win."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import AlertMessage
from nvr_console.core.db.session import Database
from nvr_console.core.monitoring import alert_store
from nvr_console.core.monitoring.rules import CAMERA_DOWN, Condition, Status

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def cond(status: Status, summary: str = "not recording for 2m") -> Condition:
    return Condition("camera_down:camera:1", CAMERA_DOWN, "A-101 / front", status, summary, T0.timestamp() - 120)


def kinds(transitions: list[alert_store.Transition]) -> list[str]:
    return [t.kind.value for t in transitions]


def test_fire_repeat_resolve_with_owed_messages(any_db_url: str) -> None:
    db = Database(any_db_url)
    prepare_database(db)
    try:
        assert kinds(alert_store.apply(db, [cond(Status.ACTIVE)], "n1", 3600, T0)) == ["firing"]
        [owed] = alert_store.owed(db)
        assert owed.outbox == AlertMessage.FIRING.value and owed.started_at == T0 - timedelta(seconds=120)
        assert alert_store.apply(db, [cond(Status.ACTIVE)], "n1", 3600, T0 + timedelta(minutes=1)) == []
        assert alert_store.apply(db, [cond(Status.PENDING)], "n1", 3600, T0 + timedelta(hours=9)) == []
        assert alert_store.settle(db, owed.id, owed.notify_seq)
        assert alert_store.owed(db) == []
        # A repeat is owed only once the interval has passed and the previous message went out.
        assert kinds(alert_store.apply(db, [cond(Status.ACTIVE, "for 1h")], "n1", 3600, T0 + timedelta(hours=1))) \
            == ["repeat"]
        assert alert_store.apply(db, [cond(Status.ACTIVE)], "n1", 3600, T0 + timedelta(hours=3)) == []
        [owed] = alert_store.owed(db)
        assert owed.outbox == "repeat" and owed.notify_seq == 2
        assert not alert_store.settle(db, owed.id, 1)  # a stale sequence settles nothing
        assert alert_store.settle(db, owed.id, 2, "e-mail: timed out")
        [resolved] = alert_store.apply(db, [cond(Status.INACTIVE)], "n1", 3600, T0 + timedelta(hours=4))
        assert resolved.kind is AlertMessage.RESOLVED and resolved.alert.resolved_at == T0 + timedelta(hours=4)
        assert alert_store.apply(db, [cond(Status.INACTIVE)], "n1", 3600, T0 + timedelta(hours=5)) == []
        # A new outage is a new alert.
        assert kinds(alert_store.apply(db, [cond(Status.ACTIVE)], "n1", None, T0 + timedelta(hours=6))) == ["firing"]
        listed = alert_store.list_alerts(db, now=T0 + timedelta(hours=6))
        assert [a.state for a in listed] == ["firing", "resolved"]
        assert listed[1].delivery_error == "e-mail: timed out"
    finally:
        db.dispose()


def test_two_nodes_open_and_resolve_one_alert_once(any_db_url: str) -> None:
    a, b = Database(any_db_url), Database(any_db_url)
    prepare_database(a)
    try:
        assert kinds(alert_store.apply(a, [cond(Status.ACTIVE)], "n1", None, T0)) == ["firing"]
        assert alert_store.apply(b, [cond(Status.ACTIVE)], "n2", None, T0) == []
        assert len(alert_store.firing(a)) == 1
        # Both evaluate "resolved" from what they read before either wrote: one wins.
        opened = alert_store.firing(a)[0]
        resolve = {"state": "resolved", "open_key": None, "outbox": "resolved", "notify_seq": opened.notify_seq + 1}
        first = alert_store._update(a, opened.id, opened.notify_seq, resolve)
        second = alert_store._update(b, opened.id, opened.notify_seq, resolve)
        assert first is not None and second is None
    finally:
        a.dispose()
        b.dispose()
