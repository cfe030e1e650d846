"""The Recording lifecycle: the table of moves, each named move and its fields, lost races and illegal moves,
on SQLite and MariaDB."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from nvr_console.core import catalog
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import Recording, RecordingStatus
from nvr_console.core.db.session import Database
from nvr_console.core.recording import lifecycle
from nvr_console.core.recording.lifecycle import ALLOWED, TRANSITIONS, IllegalTransition, Transition

S = RecordingStatus
SLOT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def adb(any_db_url: str) -> Iterator[Database]:
    db = Database(any_db_url)
    prepare_database(db)
    yield db
    db.dispose()


def _row(db: Database, tmp_path: Path, n: int = 0) -> int:
    return lifecycle.register_segment(db, None, "R", "cam", tmp_path / f"2026-11-24_09-00-{n:02d}.mkv", SLOT)


def _get(db: Database, rid: int) -> Recording:
    with db.session() as s:
        row = s.get(Recording, rid)
        assert row is not None
        return row


def _to(db: Database, rid: int, status: RecordingStatus) -> None:
    """Put a row straight into a status (test set-up only)."""
    with db.session() as s:
        row = s.get(Recording, rid)
        assert row is not None
        row.status = status


def test_the_table_holds_exactly_the_moves_the_named_transitions_make() -> None:
    edges = {(src, t.target) for t in TRANSITIONS for src in t.sources}
    table = {(src, dst) for src, targets in ALLOWED.items() for dst in targets}
    assert edges == table
    assert set(ALLOWED) == set(RecordingStatus)
    assert ALLOWED[S.UPLOADED] == frozenset() and ALLOWED[S.LOST] == frozenset()  # the ends
    with pytest.raises(ValueError, match=r"uploaded: recording -> uploaded is not in lifecycle.ALLOWED"):
        Transition("uploaded", frozenset({S.RECORDING}), S.UPLOADED)


def test_a_row_lives_from_recording_to_uploaded_and_each_move_sets_its_fields(adb: Database, tmp_path: Path) -> None:
    rid = _row(adb, tmp_path)
    assert _get(adb, rid).status is S.RECORDING
    # The raw column holds the lowercase value, as every row written before the enum existed.
    with adb.engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM recordings WHERE id = :i"), {"i": rid}).scalar() == "recording"

    assert lifecycle.begin_finalizing(adb, rid)
    start = datetime(2026, 11, 24, 9, 0, 1, tzinfo=UTC)
    assert lifecycle.mark_finalized(adb, rid, size=1000, duration=29.5, notes="room audio muxed", start_time=start,
                                    end_time=start + timedelta(seconds=29.5))
    row = _get(adb, rid)
    assert (row.status, row.size, row.duration, row.notes) == (S.READY, 1000, 29.5, "room audio muxed")
    assert row.start_time == start and row.end_time == start + timedelta(seconds=29.5) and row.last_error is None

    now = datetime.now(UTC)
    assert lifecycle.claim_upload(adb, rid, now=now, lease_until=now + timedelta(seconds=60), node="host:1")
    row = _get(adb, rid)
    assert row.status is S.UPLOADING and row.claimed_by == "host:1"
    assert row.next_attempt_at is not None and abs((row.next_attempt_at - now).total_seconds() - 60) < 1

    assert lifecycle.release_upload(adb, rid, error="HTTP 503", retry_at=now + timedelta(seconds=5),
                                    count_attempt=True)
    row = _get(adb, rid)
    assert (row.status, row.last_error, row.attempts) == (S.READY, "HTTP 503", 1)
    # Not due yet: nobody may claim it, and that is a miss, not an error.
    assert not lifecycle.claim_upload(adb, rid, now=now, lease_until=now + timedelta(seconds=60), node="host:1")
    later = now + timedelta(seconds=6)
    assert lifecycle.claim_upload(adb, rid, now=later, lease_until=later + timedelta(seconds=60), node="host:1")

    assert lifecycle.mark_uploaded(adb, rid, destination="local", file_id=None, folder_id=None, web_link=None,
                                   folder_link="file:///archive/R", md5="0" * 32, size=1000)
    row = _get(adb, rid)
    assert row.status is S.UPLOADED and row.md5 == "0" * 32 and row.bytes_confirmed == 1000
    assert row.uploaded_at is not None and row.next_attempt_at is None and row.last_error is None


def test_failed_and_lost_rows_and_the_operators_retry(adb: Database, tmp_path: Path) -> None:
    bad = _row(adb, tmp_path, 1)
    assert lifecycle.mark_finalize_failed(adb, bad, reason="empty segment", start_time=None)
    row = _get(adb, bad)
    assert (row.status, row.last_error, row.notes) == (S.FAILED, "empty segment", "empty segment")
    assert lifecycle.requeue(adb, bad)
    row = _get(adb, bad)
    assert (row.status, row.last_error, row.attempts, row.next_attempt_at) == (S.READY, None, 0, None)

    gone = _row(adb, tmp_path, 2)
    _to(adb, gone, S.UPLOADING)
    assert lifecycle.mark_lost(adb, gone, "the local file is missing")
    assert _get(adb, gone).status is S.LOST and _get(adb, gone).attempts == 1
    assert not lifecycle.requeue(adb, gone)  # a lost file stays lost (it is past any retry)
    assert _get(adb, gone).status is S.LOST


def test_a_second_finalizer_loses_quietly_and_changes_nothing(adb: Database, tmp_path: Path) -> None:
    rid = _row(adb, tmp_path)
    assert lifecycle.begin_finalizing(adb, rid)
    assert not lifecycle.begin_finalizing(adb, rid)
    assert lifecycle.mark_finalized(adb, rid, size=1, duration=1.0, notes="first", start_time=None, end_time=None)
    assert not lifecycle.mark_finalized(adb, rid, size=2, duration=2.0, notes="second", start_time=None,
                                        end_time=None)
    assert not lifecycle.mark_finalize_failed(adb, rid, reason="late", start_time=None)
    row = _get(adb, rid)
    assert (row.status, row.size, row.notes, row.last_error) == (S.READY, 1, "first", None)
    # A worker whose claim was taken back (reclaimed to ready) cannot mark it uploaded: a miss, not an error.
    assert lifecycle.mark_uploaded(adb, rid, destination="local", file_id=None, folder_id=None, web_link=None,
                                   folder_link=None, md5="0" * 32, size=1) is False
    assert not lifecycle.begin_finalizing(adb, 999_999)  # no such row


@pytest.mark.parametrize(("where", "move", "expected"), [
    (S.RECORDING, lambda db, rid: lifecycle.mark_uploaded(
        db, rid, destination="local", file_id=None, folder_id=None, web_link=None, folder_link=None, md5="0" * 32,
        size=1), "recording {rid} is recording: it cannot be marked uploaded (-> uploaded); that move is allowed "
                 "only from uploading"),
    (S.FINALIZING, lambda db, rid: lifecycle.claim_upload(
        db, rid, now=datetime.now(UTC), lease_until=datetime.now(UTC), node="n"),
     "recording {rid} is finalizing: it cannot be claimed for upload (-> uploading); that move is allowed only "
     "from ready, uploading"),
    (S.RECORDING, lambda db, rid: lifecycle.requeue(db, rid),
     "recording {rid} is recording: it cannot be queued again (-> ready); that move is allowed only from failed, "
     "ready"),
    (S.FINALIZING, lambda db, rid: lifecycle.release_upload(db, rid, error=None, retry_at=None, count_attempt=False),
     "recording {rid} is finalizing: it cannot be released to the queue (-> ready); that move is allowed only "
     "from uploading"),
])
def test_an_illegal_move_raises_and_leaves_the_row_alone(
    adb: Database, tmp_path: Path, where: RecordingStatus, move: Callable[[Database, int], bool], expected: str
) -> None:
    rid = _row(adb, tmp_path)
    _to(adb, rid, where)
    with pytest.raises(IllegalTransition) as err:
        move(adb, rid)
    assert str(err.value) == expected.format(rid=rid)
    assert (err.value.current, err.value.recording_id) == (where, rid)
    assert _get(adb, rid).status is where


def test_an_unknown_status_string_is_refused_before_it_reaches_the_database(adb: Database, tmp_path: Path) -> None:
    rid = _row(adb, tmp_path)
    with pytest.raises(StatementError, match="'done' is not among the defined enum values"), adb.session() as s:
        row = s.get(Recording, rid)
        assert row is not None
        row.status = "done"  # type: ignore[assignment]
    assert _get(adb, rid).status is S.RECORDING


def _race(db_a: Database, db_b: Database, step: Callable[[Database], bool]) -> list[bool]:
    """Run `step` on two databases (two connection pools, like two processes) at the same moment."""
    barrier = threading.Barrier(2)
    results: list[bool] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(db: Database) -> None:
        try:
            barrier.wait(10)
            won = step(db)
            with lock:
                results.append(won)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in (db_a, db_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


def test_two_sessions_doing_the_same_move_at_once_one_wins(adb: Database, any_db_url: str, tmp_path: Path) -> None:
    other = Database(any_db_url)
    try:
        for n in range(10):
            rid = _row(adb, tmp_path, n)
            assert sorted(_race(adb, other, lambda db, rid=rid: lifecycle.begin_finalizing(db, rid))) == [False, True]
            assert sorted(_race(adb, other, lambda db, rid=rid: lifecycle.mark_finalized(
                db, rid, size=1, duration=1.0, notes="", start_time=None, end_time=None))) == [False, True]
            now = datetime.now(UTC)

            def claim(db: Database, rid: int = rid, now: datetime = now) -> bool:
                node = "a" if db is adb else "b"
                return lifecycle.claim_upload(db, rid, now=now, lease_until=now + timedelta(minutes=2), node=node)

            assert sorted(_race(adb, other, claim)) == [False, True]
            assert _get(adb, rid).status is S.UPLOADING and _get(adb, rid).claimed_by in ("a", "b")
        with adb.session() as s:
            assert set(s.scalars(select(Recording.status))) == {S.UPLOADING}
    finally:
        other.dispose()


def test_registering_the_same_file_twice_gives_one_row_and_begins_finalizing(adb: Database, tmp_path: Path) -> None:
    catalog.add_room(adb, "R")
    cam = catalog.add_camera(adb, "R", "cam", "rtsp://127.0.0.1:9/x")
    raw = tmp_path / "2026-11-24_09-00-00.mkv"
    rid = lifecycle.register_segment(adb, cam.id, "R", "cam", raw, SLOT)
    assert lifecycle.register_segment(adb, cam.id, "R", "cam", raw, SLOT, S.FINALIZING) == rid
    assert _get(adb, rid).status is S.FINALIZING and _get(adb, rid).camera_id == cam.id
    catalog.remove_camera(adb, "R", "cam")
    assert _get(adb, rid).camera_id is None  # the recording stays, named by room and camera
    with pytest.raises(ValueError, match="starts as recording or finalizing, not ready"):
        lifecycle.register_segment(adb, None, "R", "cam", raw, SLOT, S.READY)


def test_register_segment_is_idempotent(adb: Database, tmp_path: Path) -> None:
    raw = tmp_path / "R" / "cam" / "2026-11-24_09-30-00.mkv"
    assert lifecycle.register_segment(adb, None, "R", "cam", raw, SLOT) == lifecycle.register_segment(
        adb, None, "R", "cam", raw, SLOT)
    assert lifecycle.register_segment(  # a camera that is gone
        adb, 12345, "R", "cam", raw.with_name("2026-11-24_09-31-00.mkv"), SLOT)
