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


def test_an_acknowledged_alert_repeats_no_more_until_it_resolves(any_db_url: str) -> None:
    db = Database(any_db_url)
    prepare_database(db)
    try:
        [fired] = alert_store.apply(db, [cond(Status.ACTIVE)], "n1", 3600, T0)
        aid = fired.alert.id
        assert alert_store.settle(db, aid, 1)
        ack = alert_store.acknowledge(db, aid, "anna@desk", "  on my way to A-101 ", T0 + timedelta(minutes=5))
        assert ack.outcome is alert_store.AckOutcome.ACKNOWLEDGED
        assert ack.alert is not None and ack.alert.acked_by == "anna@desk"
        assert ack.alert.ack_note == "on my way to A-101"
        assert ack.alert.acked_at == T0 + timedelta(minutes=5)
        assert "acknowledged by anna@desk" in ack.sentence(aid)
        # Hours later, still firing: no repeat owed; the summary still follows the condition.
        assert alert_store.apply(db, [cond(Status.ACTIVE, "for 5h")], "n1", 3600, T0 + timedelta(hours=5)) == []
        assert alert_store.owed(db) == []
        [listed] = alert_store.list_alerts(db, now=T0 + timedelta(hours=5))
        assert listed.summary == "for 5h" and listed.acknowledged and listed.public()["acked_at"] is not None
        # It resolves: the resolved message still goes out; acknowledging it now says so.
        assert kinds(alert_store.apply(db, [cond(Status.INACTIVE)], "n1", 3600, T0 + timedelta(hours=6))) \
            == ["resolved"]
        late = alert_store.acknowledge(db, aid, "bob@desk-2")
        assert late.outcome is alert_store.AckOutcome.RESOLVED and "nothing to acknowledge" in late.sentence(aid)
        assert late.alert is not None and late.alert.acked_by == "anna@desk"
        # The next outage is a new alert, not acknowledged, and repeats again.
        [again] = alert_store.apply(db, [cond(Status.ACTIVE)], "n1", 3600, T0 + timedelta(hours=7))
        assert not again.alert.acknowledged
        assert alert_store.settle(db, again.alert.id, 1)
        assert kinds(alert_store.apply(db, [cond(Status.ACTIVE)], "n1", 3600, T0 + timedelta(hours=8))) == ["repeat"]
        missing = alert_store.acknowledge(db, 9999, "anna@desk")
        assert missing.outcome is alert_store.AckOutcome.MISSING and "alerts list" in missing.sentence(9999)
    finally:
        db.dispose()


def test_an_acknowledge_landing_after_the_evaluator_read_the_alert_still_stops_the_repeat(any_db_url: str) -> None:
    db = Database(any_db_url)
    prepare_database(db)
    try:
        [fired] = alert_store.apply(db, [cond(Status.ACTIVE)], "n1", 60, T0)
        assert alert_store.settle(db, fired.alert.id, 1)
        # The evaluator read the open alert (not acknowledged); an operator acknowledges before it writes.
        real_update = alert_store._update

        def ack_first(*args: object, **kw: object) -> object:
            alert_store.acknowledge(db, fired.alert.id, "anna@desk")
            return real_update(*args, **kw)  # type: ignore[arg-type]

        alert_store._update = ack_first  # type: ignore[assignment]
        try:
            assert alert_store.apply(db, [cond(Status.ACTIVE)], "n1", 60, T0 + timedelta(hours=1)) == []
        finally:
            alert_store._update = real_update  # type: ignore[assignment]
        assert alert_store.owed(db) == []
    finally:
        db.dispose()


def test_two_consoles_acknowledging_at_once_one_wins_the_other_is_told_who(any_db_url: str) -> None:
    import threading

    a, b = Database(any_db_url), Database(any_db_url)
    prepare_database(a)
    try:
        for round_ in range(10):
            [fired] = alert_store.apply(a, [Condition(f"camera_down:camera:{round_}", CAMERA_DOWN, f"cam {round_}",
                                                      Status.ACTIVE, "down")], "n1", None, T0)
            barrier = threading.Barrier(2)
            results: dict[str, alert_store.AckResult] = {}

            def ack(db: Database, who: str, aid: int = fired.alert.id, barrier: threading.Barrier = barrier,
                    results: dict[str, alert_store.AckResult] = results) -> None:
                barrier.wait()
                results[who] = alert_store.acknowledge(db, aid, who)

            threads = [threading.Thread(target=ack, args=(db, who)) for db, who in ((a, "anna@desk"), (b, "bob@wall"))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            outcomes = sorted(r.outcome.value for r in results.values())
            assert outcomes == ["acknowledged", "already"], results
            winner = next(w for w, r in results.items() if r.outcome is alert_store.AckOutcome.ACKNOWLEDGED)
            assert all(r.alert is not None and r.alert.acked_by == winner for r in results.values())
    finally:
        a.dispose()
        b.dispose()
