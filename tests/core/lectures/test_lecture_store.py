"""The lecture rows' owner: claims of lecture files (one winner among racing nodes, the holder first, a dead
claimant replaced), redo, and transitions that only move from what was read; on SQLite and MariaDB."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from nvr_console.core import catalog
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import LectureFileState
from nvr_console.core.db.session import Database
from nvr_console.core.lectures import lecture_store
from nvr_console.core.lectures.timetable_parse import Occurrence

NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
def shared(any_db_url: str) -> Iterator[tuple[Database, int, int]]:
    db = Database(any_db_url)
    prepare_database(db)
    room = catalog.add_room(db, "A-101")
    cam = catalog.add_camera(db, "A-101", "front", "rtsp://127.0.0.1:1/s", enabled=False)
    occ = Occurrence("a@uni", "2026-03-05T09:15:00Z", "Algebra", "", "", NOW - timedelta(hours=2),
                     NOW - timedelta(hours=1))
    lecture_store.sync(db, room.id, "A-101", [occ], NOW - timedelta(days=1), NOW + timedelta(days=1))
    [lec] = lecture_store.between(db, NOW - timedelta(days=1), NOW)
    yield db, lec.id, cam.id
    db.dispose()


def test_racing_claims_have_one_winner_and_the_holder_goes_first(shared: tuple[Database, int, int],
                                                                 any_db_url: str) -> None:
    db, lecture_id, cam_id = shared
    lec = lecture_store.get(db, lecture_id)
    assert lec is not None and lecture_store.begin_assembly(db, lec, [(cam_id, "front")], holder_grace_s=1.5)
    assert not lecture_store.begin_assembly(db, lec, [(cam_id, "front")])  # the state moved on: stale read loses
    # Within the grace only the holder (or a node for a camera nobody holds) may take it.
    assert lecture_store.claim_file(db, lecture_id, "other", 30, mine=set()) is None
    time.sleep(1.6)
    nodes = [Database(any_db_url) for _ in range(6)]
    won: list[object] = []
    go = threading.Barrier(len(nodes))

    def claim(d: Database, name: str) -> None:
        go.wait()
        f = lecture_store.claim_file(d, lecture_id, name, 30, mine=set())
        if f is not None:
            won.append((name, f.claim_token))

    threads = [threading.Thread(target=claim, args=(d, f"n{i}")) for i, d in enumerate(nodes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for d in nodes:
        d.dispose()
    assert len(won) == 1
    [(winner, token)] = won
    [f] = lecture_store.files_of(db, lecture_id)
    assert f.claimed_by == winner and f.state == "assembling" and f.claim_token == token == 1
    # A stale token (a node that lost its claim) can neither renew nor finish.
    assert not lecture_store.renew_claim(db, f.id, token - 1, 30)
    assert not lecture_store.file_done(db, f.id, token - 1, state=LectureFileState.DONE, coverage=1.0, gaps="")
    assert lecture_store.file_done(db, f.id, token, state=LectureFileState.DONE, coverage=1.0, gaps="")
    done = lecture_store.finish(db, lecture_id, 0.99)
    assert done is not None and done.state == "delivered" and done.coverage == 1.0


def test_a_dead_claimant_is_replaced_and_redo_builds_again(shared: tuple[Database, int, int]) -> None:
    db, lecture_id, cam_id = shared
    lec = lecture_store.get(db, lecture_id)
    assert lec is not None and lecture_store.begin_assembly(db, lec, [(cam_id, "front")])
    first = lecture_store.claim_file(db, lecture_id, "dies", 0.5)
    assert first is not None and lecture_store.claim_file(db, lecture_id, "b", 30) is None
    time.sleep(1.1)  # "dies" stopped renewing
    second = lecture_store.claim_file(db, lecture_id, "b", 30)
    assert second is not None and second.claim_token == first.claim_token + 1 and second.claimed_by == "b"
    assert not lecture_store.renew_claim(db, first.id, first.claim_token, 30)
    assert lecture_store.file_done(db, second.id, second.claim_token, state=LectureFileState.DONE, coverage=0.5,
                                   gaps="10:15:09-10:15:11 (2s): camera unreachable")
    done = lecture_store.finish(db, lecture_id, 0.99)
    assert done is not None and done.state == "incomplete" and done.notes.startswith("front: 10:15:09")
    redone = lecture_store.redo(db, lecture_id)
    assert redone.state == "assembling" and redone.version == done.version + 1
    [f] = lecture_store.files_of(db, lecture_id)
    assert f.state == "pending" and f.lecture_version == redone.version
