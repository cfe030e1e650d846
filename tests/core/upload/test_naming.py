"""Destination names: whole-slot files keep the plain name, pieces say where they start, and two different
files never share a name (chosen once under a unique key, whichever node uploads first)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import Recording
from nvr_console.core.db.session import Database
from nvr_console.core.upload.naming import PIECE_TOLERANCE_S, assign_remote_name, candidates, is_piece, remote_name
from nvr_console.core.upload.uploader import Uploader
from tests.core.upload.conftest import SLOT, Rec, drive_files, fast_uploader, folder_path, row, wait_all_uploaded
from tests.support.drive_server import DriveServer

MSK = ZoneInfo("Europe/Moscow")


def test_whole_slot_files_keep_the_plain_name_and_pieces_say_where_they_start() -> None:
    assert remote_name(SLOT, "A-101", "front", MSK).file == "2026-11-23_14-30_A-101_front.mp4"
    whole = SLOT + timedelta(seconds=1.7)  # the first keyframe after the boundary
    assert remote_name(SLOT, "A-101", "front", MSK, start=whole).file == "2026-11-23_14-30_A-101_front.mp4"
    piece = SLOT + timedelta(minutes=11, seconds=7)
    names = remote_name(SLOT, "A-101", "front", MSK, ".mp4", piece)
    assert names.file == "2026-11-23_14-30_A-101_front_14-41-07.mp4"
    assert (names.day, names.time, names.time_local) == ("2026-11-23", "14:30", "14-30")  # same folders
    assert not is_piece(SLOT, SLOT + timedelta(seconds=PIECE_TOLERANCE_S)) and is_piece(
        SLOT, SLOT + timedelta(seconds=PIECE_TOLERANCE_S + 1))
    assert not is_piece(SLOT, None)


def test_a_piece_is_named_by_the_second_it_belongs_to_every_tenth_of_a_second_around_it() -> None:
    # Issue 17: a piece whose first frame came 60 ms before 16:37:50 was named _16-37-49.
    second = SLOT + timedelta(minutes=11, seconds=7)
    for tenths in range(-5, 5):
        start = second + timedelta(seconds=tenths / 10)
        want = "14-41-07"
        assert remote_name(SLOT, "A-101", "front", MSK, start=start).file.endswith(f"_{want}.mp4"), tenths
        first = next(candidates(SLOT, "A-101", "front", MSK, ".mp4", start, "b"))
        assert first == f"2026-11-23_14-30_A-101_front_{want}.mp4", tenths
        # A whole-slot file whose plain name is taken: the timed candidate rounds the same way.
        near_cut = SLOT + timedelta(seconds=tenths / 10)
        timed = list(islice(candidates(SLOT, "A-101", "front", MSK, ".mp4", near_cut, "b"), 2))
        assert timed == ["2026-11-23_14-30_A-101_front.mp4", "2026-11-23_14-30_A-101_front_14-30-00.mp4"], tenths


def test_candidates_are_distinct_and_most_natural_first() -> None:
    start = SLOT + timedelta(seconds=1)
    got = list(islice(candidates(SLOT, "A-101", "front", MSK, ".mp4", start, "srv/2"), 5))
    assert got == [
        "2026-11-23_14-30_A-101_front.mp4",
        "2026-11-23_14-30_A-101_front_14-30-01.mp4",
        "2026-11-23_14-30_A-101_front_14-30-01_srv-2.mp4",  # a node name made safe for a file name
        "2026-11-23_14-30_A-101_front_14-30-01_srv-2_2.mp4",
        "2026-11-23_14-30_A-101_front_14-30-01_srv-2_3.mp4",
    ]
    piece = list(islice(candidates(SLOT, "A-101", "front", MSK, ".mp4", SLOT + timedelta(minutes=3), "b"), 2))
    assert piece == ["2026-11-23_14-30_A-101_front_14-33-00.mp4", "2026-11-23_14-30_A-101_front_14-33-00_b.mp4"]


def _row(db: Database, node: str, start: datetime, path: str) -> int:
    with db.session() as s:
        r = Recording(room_name="A-101", camera_name="front", slot_start=SLOT, start_time=start, local_path=path,
                      local_path_key=catalog.path_key(path), status="ready", node=node)
        s.add(r)
        s.flush()
        return int(r.id)


def test_two_whole_slot_files_of_one_slot_from_two_nodes_get_distinct_names(any_db_url: str) -> None:
    db = Database(any_db_url)
    prepare_database(db)
    a = _row(db, "a", SLOT + timedelta(seconds=1), "/rec/A-101/front/2026-11-23/14-30-01.mp4")
    b = _row(db, "b", SLOT + timedelta(seconds=1), "/rec/A-101/front/2026-11-23/14-30-01.mp4")
    c = _row(db, "b", SLOT + timedelta(seconds=40), "/rec/A-101/front/2026-11-23/14-30-40.mp4")
    names = [assign_remote_name(db, rid, MSK) for rid in (a, b, c)]
    assert names == ["2026-11-23_14-30_A-101_front.mp4", "2026-11-23_14-30_A-101_front_14-30-01.mp4",
                     "2026-11-23_14-30_A-101_front_14-30-40.mp4"]
    assert assign_remote_name(db, a, MSK) == names[0]  # chosen once
    db.dispose()


def test_many_threads_assigning_the_same_natural_name_never_share_one(any_db_url: str) -> None:
    db = Database(any_db_url)
    prepare_database(db)
    ids = [_row(db, f"n{i}", SLOT, f"/rec/x/{i}.mp4") for i in range(8)]
    barrier = threading.Barrier(len(ids))
    got: dict[int, str | None] = {}

    def work(rid: int) -> None:
        barrier.wait()
        got[rid] = assign_remote_name(db, rid, MSK)

    threads = [threading.Thread(target=work, args=(rid,)) for rid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(set(got.values())) == len(ids) and None not in got.values()
    db.dispose()


def test_uploader_puts_two_files_of_one_slot_side_by_side_on_drive(
    qtbot: Any, db: Database, drive: DriveServer, drive_settings: Callable[..., Settings],
    make_recording: Callable[..., Rec], started: Callable[[Uploader], Uploader],
) -> None:
    first = make_recording()
    second = make_recording()
    with db.session() as s:
        for rid, start in ((first.id, SLOT + timedelta(seconds=1)), (second.id, SLOT + timedelta(minutes=7))):
            rec = s.get(Recording, rid)
            assert rec is not None
            rec.start_time = start
    started(fast_uploader(drive_settings(), db))
    wait_all_uploaded(qtbot, db)
    paths = sorted(folder_path(drive, f["id"])[-1] for f in drive_files(drive))
    assert paths == ["2026-11-23_14-30_A-101_front.mp4", "2026-11-23_14-30_A-101_front_14-37-00.mp4"]
    assert row(db, second.id).remote_name == "2026-11-23_14-30_A-101_front_14-37-00.mp4"
    assert {tuple(folder_path(drive, f["id"])[:-1]) for f in drive_files(drive)} == {
        ("NVR recordings", "2026-11-23", "14:30")}
