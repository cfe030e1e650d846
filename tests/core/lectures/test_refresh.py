"""Timetable refreshes against real peers: an HTTP server serving ICS (ETag honoured, then a change, then 500,
then garbage), a local .ics file, Radicale over CalDAV. The clock of the expansion is the test's."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import LectureState
from nvr_console.core.db.session import Database
from nvr_console.core.lectures import lecture_store, refresh, timetable_store
from nvr_console.core.monitoring import alert_store
from tests.core.lectures.ics_samples import calendar, event
from tests.support.caldav_peer import CalDavPeer
from tests.support.ics_server import IcsServer

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday morning, before the week's lectures


def weekly(*extra: str, summary: str = "Algebra") -> str:
    return event("algebra@uni", "20260305T101500", "20260305T114500", summary, "RRULE:FREQ=WEEKLY;COUNT=10",
                 "ORGANIZER;CN=Dr. Noether:mailto:noether@uni.example", *extra)


def states(db: Database, room: str = "A-101") -> list[tuple[str, str, str]]:
    return [(lec.start.astimezone(BERLIN).strftime("%m-%d %H:%M"), lec.title, lec.state)
            for lec in lecture_store.between(db, NOW - timedelta(days=2), NOW + timedelta(days=60), room)]


@pytest.fixture
def room_db(settings: Settings, db: Database) -> Database:
    catalog.add_room(db, "A-101")
    return db


def firing(db: Database) -> list[str]:
    return [f"{a.rule}: {a.summary}" for a in alert_store.firing(db)]


@pytest.mark.parametrize("cached", [False, True])
def test_http_calendar_etag_edit_cancel_500_and_garbage(settings: Settings, room_db: Database, cached: bool) -> None:
    db = room_db
    # The lecture worker keeps parsed calendars and its last sync between refreshes; the result is the same.
    cache = refresh.TimetableCache() if cached else None
    with IcsServer() as ics:
        ics.serve(calendar(weekly()))
        timetable_store.configure(db, "A-101", source=ics.url)
        [r] = refresh.refresh_all(db, settings, "node-1", cache=cache, now=NOW)
        assert r.fetched and not r.error and r.sync is not None and r.sync.added == 2  # 14 days ahead: 2 weeks
        assert states(db) == [("03-05 10:15", "Algebra", "scheduled"), ("03-12 10:15", "Algebra", "scheduled")]
        first = lecture_store.between(db, NOW, NOW + timedelta(days=14))[0]
        assert first.organizer == "Dr. Noether <noether@uni.example>" and first.uid == "algebra@uni"

        # Unchanged: the server is asked conditionally and answers 304; nothing changes.
        [r] = refresh.refresh_all(db, settings, "node-1", cache=cache, now=NOW + timedelta(minutes=2))
        assert ics.statuses == [200, 304] and not r.fetched and r.sync == lecture_store.SyncResult()
        assert ics.requests[-1].headers.get("If-None-Match", "").startswith('"')

        # The clock moves a week: the next occurrence comes into the horizon from the stored copy (304).
        [r] = refresh.refresh_all(db, settings, "node-1", cache=cache, now=NOW + timedelta(days=7))
        assert r.sync is not None and r.sync.added == 1 and ics.statuses[-1] == 304

        # Edited between two polls: the 12 March lecture moved to 12:15 and shortened, the 19th cancelled.
        ics.serve(calendar(weekly(), event("algebra@uni", "20260312T121500", "20260312T130000", "Algebra (moved)",
                                           "RECURRENCE-ID;TZID=Europe/Berlin:20260312T101500"),
                           event("algebra@uni", "20260319T101500", "20260319T114500", "Algebra", "STATUS:CANCELLED",
                                 "RECURRENCE-ID;TZID=Europe/Berlin:20260319T101500")))
        [r] = refresh.refresh_all(db, settings, "node-1", cache=cache, now=NOW + timedelta(days=7, minutes=2))
        assert r.fetched and r.sync == lecture_store.SyncResult(changed=1, cancelled=1)
        assert states(db) == [("03-05 10:15", "Algebra", "scheduled"), ("03-12 12:15", "Algebra (moved)", "scheduled"),
                              ("03-19 10:15", "Algebra", "cancelled")]
        before = states(db)

        # The server fails: nothing changes, the alert fires with the reason.
        ics.break_with(500)
        [r] = refresh.refresh_all(db, settings, "node-1", cache=cache, now=NOW + timedelta(days=7, minutes=4))
        assert "HTTP 500" in r.error and states(db) == before
        assert any("calendar_unreadable" in f and "HTTP 500" in f and "A-101" in f for f in firing(db)), firing(db)
        tt = timetable_store.get(db, "A-101")
        assert tt is not None and "HTTP 500" in tt.error and tt.body is not None

        # Garbage (a login page with 200): nothing changes, the copy stays, the alert says why.
        ics.break_with(200, b"<!DOCTYPE html><html><body>Please sign in</body></html>")
        [r] = refresh.refresh_all(db, settings, "node-1", cache=cache, now=NOW + timedelta(days=7, minutes=6))
        assert "not an iCalendar file" in r.error and states(db) == before
        assert any("not an iCalendar file" in f for f in firing(db))

        # Good again (the 19th back in the calendar): the alert resolves, the lecture is scheduled again.
        ics.serve(calendar(weekly()))
        [r] = refresh.refresh_all(db, settings, "node-1", cache=cache, now=NOW + timedelta(days=7, minutes=8))
        assert not r.error and firing(db) == []
        assert states(db) == [("03-05 10:15", "Algebra", "scheduled"), ("03-12 10:15", "Algebra", "scheduled"),
                              ("03-19 10:15", "Algebra", "scheduled")]


def test_delivered_lectures_are_not_changed_by_the_calendar(settings: Settings, room_db: Database,
                                                            tmp_path: Path) -> None:
    db = room_db
    ics = tmp_path / "timetable.ics"
    ics.write_bytes(calendar(weekly()))
    timetable_store.configure(db, "A-101", source=str(ics))
    refresh.refresh_all(db, settings, "node-1", NOW)
    first = lecture_store.between(db, NOW, NOW + timedelta(days=14))[0]
    assert lecture_store.begin_assembly(db, first, [])  # no cameras: nothing to build
    assert lecture_store.finish(db, first.id, 0.99) is None  # no files: not finished
    ics.write_bytes(calendar(event("other@uni", "20260306T101500", "20260306T114500", "Other")))
    refresh.refresh_all(db, settings, "node-1", NOW + timedelta(minutes=2))
    assert [s for s in states(db)] == [("03-05 10:15", "Algebra", "assembling"), ("03-06 10:15", "Other", "scheduled"),
                                       ("03-12 10:15", "Algebra", "cancelled")]


def test_local_file_and_privacy_skip_logged_with_uid(settings: Settings, room_db: Database, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    db = room_db
    ics = tmp_path / "timetable.ics"
    ics.write_bytes(calendar(weekly(), event("exam@uni", "20260306T101500", "20260306T114500", "Exam",
                                             "CATEGORIES:no-recording")))
    timetable_store.configure(db, "A-101", source=str(ics))
    with caplog.at_level("INFO"):
        [r] = refresh.refresh_all(db, settings, "node-1", NOW)
    assert r.fetched and r.sync is not None and r.sync.skipped == 1
    assert ("03-06 10:15", "Exam", "skipped") in states(db)
    assert any("exam@uni" in rec.getMessage() and "no-recording" in rec.getMessage() for rec in caplog.records)
    # Unchanged file: not read again.
    [r] = refresh.refresh_all(db, settings, "node-1", NOW + timedelta(minutes=2))
    assert not r.fetched and not r.error
    ics.unlink()
    [r] = refresh.refresh_all(db, settings, "node-1", NOW + timedelta(minutes=4))
    assert "does not exist" in r.error and len(states(db)) == 3


def test_caldav_collection_on_radicale(settings: Settings, room_db: Database, tmp_path: Path) -> None:
    db = room_db
    with CalDavPeer(tmp_path) as dav:
        url = dav.make_calendar("timetable")
        dav.put_event(url, "algebra.ics", calendar(weekly()))
        dav.put_event(url, "physics.ics", calendar(event("physics@uni", "20260304T141500", "20260304T154500",
                                                         "Physics")))
        source = "caldav+" + url.replace("http://", "http://lecturer:secret-pw@")
        timetable_store.configure(db, "A-101", source=source)
        [r] = refresh.refresh_all(db, settings, "node-1", NOW)
        assert not r.error, r.error
        assert states(db) == [("03-04 14:15", "Physics", "scheduled"), ("03-05 10:15", "Algebra", "scheduled"),
                              ("03-12 10:15", "Algebra", "scheduled")]
        [r] = refresh.refresh_all(db, settings, "node-1", NOW + timedelta(minutes=2))
        assert not r.fetched  # same content: nothing stored again
        dav.delete_event(url, "physics.ics")
        [r] = refresh.refresh_all(db, settings, "node-1", NOW + timedelta(minutes=4))
        assert r.fetched and r.sync is not None and r.sync.cancelled == 1
        assert ("03-04 14:15", "Physics", "cancelled") in states(db)
    # Radicale gone: the copy stays, the error names the collection without its password.
    [r] = refresh.refresh_all(db, settings, "node-1", NOW + timedelta(minutes=6))
    assert "cannot read CalDAV collection" in r.error and "secret-pw" not in r.error
    assert len(states(db)) == 3


@pytest.fixture
def shared_db(any_db_url: str) -> Iterator[Database]:
    database = Database(any_db_url)
    prepare_database(database)
    yield database
    database.dispose()


def test_two_nodes_refreshing_at_once_never_duplicate_lectures(
        settings_factory: Callable[..., Settings], shared_db: Database, tmp_path: Path, any_db_url: str) -> None:
    settings = settings_factory(**{"database.url": any_db_url})
    catalog.add_room(shared_db, "A-101")
    ics = tmp_path / "timetable.ics"
    ics.write_bytes(calendar(weekly()))
    timetable_store.configure(shared_db, "A-101", source=str(ics))
    nodes = [Database(any_db_url) for _ in range(4)]
    errors: list[BaseException] = []
    go = threading.Barrier(len(nodes))

    def run(node_db: Database, name: str) -> None:
        try:
            go.wait()
            refresh.refresh_all(node_db, settings, name, NOW + timedelta(days=30))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d, f"node-{i}")) for i, d in enumerate(nodes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for d in nodes:
        d.dispose()
    assert errors == []
    got = lecture_store.between(shared_db, NOW, NOW + timedelta(days=60))
    assert len(got) == 2 and len({(x.uid, x.recurrence_id) for x in got}) == 2  # 2 and 9 April, once each
    assert {x.state for x in got} == {LectureState.SCHEDULED.value}
