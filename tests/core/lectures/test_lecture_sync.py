"""Many rooms' lectures brought in line with their calendars at once: moved, shortened, cancelled, added, moved
occurrences of a series, privacy, delivered lectures left alone; two nodes syncing at once never both win nor
duplicate a row; a room removed meanwhile; on SQLite and MariaDB."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from nvr_console.core import catalog
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.lectures import lecture_store
from nvr_console.core.lectures.lecture_sync import RoomOccurrences, SyncResult, sync_rooms
from nvr_console.core.lectures.timetable_parse import Occurrence

NOW = datetime(2026, 3, 16, 7, 0, tzinfo=UTC)
SPAN = (NOW - timedelta(days=1), NOW + timedelta(days=14))
H = timedelta(hours=1)


def _series(uid: str, first: datetime, weeks: int, title: str) -> list[Occurrence]:
    return [Occurrence(uid, (first + timedelta(weeks=i)).strftime("%Y-%m-%dT%H:%M:%SZ"), title, "", "",
                       first + timedelta(weeks=i), first + timedelta(weeks=i) + 1.5 * H) for i in range(weeks)]


@pytest.fixture
def db(any_db_url: str) -> Iterator[Database]:
    d = Database(any_db_url)
    prepare_database(d)
    for name in ("A-101", "B-202", "C-303"):
        catalog.add_room(d, name)
    yield d
    d.dispose()


def _rooms(db: Database) -> dict[str, int]:
    return {r.name: r.id for r in catalog.list_rooms(db)}


def _rows(db: Database, room: str) -> dict[tuple[str, str], tuple[object, ...]]:
    return {(r.uid, r.recurrence_id): (r.title, r.start, r.end, r.state, r.version)
            for r in lecture_store.between(db, NOW - timedelta(days=30), NOW + timedelta(days=60), room=room)}


def test_every_kind_of_edit_across_rooms_in_one_sync(db: Database) -> None:
    ids = _rooms(db)
    a = _series("algebra@uni", NOW + 3 * H, 2, "Algebra")
    b = [Occurrence("bio@uni", "", "Biology", "", "", NOW + 5 * H, NOW + 6 * H),
         Occurrence("chem@uni", "", "Chemistry", "", "", NOW + 26 * H, NOW + 27 * H),
         Occurrence("gone@uni", "", "Talk", "", "", NOW + 30 * H, NOW + 31 * H)]
    c = [Occurrence("ethics@uni", "", "Ethics", "", "", NOW + 2 * H, NOW + 3 * H)]
    first = sync_rooms(db, [RoomOccurrences(ids["A-101"], "A-101", a), RoomOccurrences(ids["B-202"], "B-202", b),
                            RoomOccurrences(ids["C-303"], "C-303", c)], *SPAN)
    assert first == {ids["A-101"]: SyncResult(added=2), ids["B-202"]: SyncResult(added=3),
                     ids["C-303"]: SyncResult(added=1)}
    # A lecture being assembled (or delivered) is not changed by the calendar (redo builds it again).
    [ethics] = lecture_store.between(db, *SPAN, room="C-303")
    assert lecture_store.begin_assembly(db, ethics, [])

    moved = replace(a[1], start=a[1].start + 2 * H, end=a[1].end + 2 * H, title="Algebra (moved)")  # an override
    shortened = replace(b[0], end=b[0].end - 0.5 * H)
    private = replace(b[1], private_reason="keyword 'private'")
    added = Occurrence("new@uni", "", "Geometry", "", "", NOW + 50 * H, NOW + 51 * H)
    second = sync_rooms(db, [RoomOccurrences(ids["A-101"], "A-101", [a[0], moved]),
                             RoomOccurrences(ids["B-202"], "B-202", [shortened, private, added]),
                             RoomOccurrences(ids["C-303"], "C-303", [replace(c[0], title="Ethics II")])], *SPAN)
    assert second == {ids["A-101"]: SyncResult(changed=1), ids["B-202"]: SyncResult(added=1, changed=2,
                                                                                     cancelled=1, skipped=1),
                      ids["C-303"]: SyncResult()}
    rows_a = _rows(db, "A-101")
    assert rows_a[("algebra@uni", a[1].recurrence_id)] == ("Algebra (moved)", moved.start, moved.end, "scheduled", 2)
    assert rows_a[("algebra@uni", a[0].recurrence_id)] == ("Algebra", a[0].start, a[0].end, "scheduled", 1)
    rows_b = _rows(db, "B-202")
    assert rows_b[("bio@uni", "")] == ("Biology", shortened.start, shortened.end, "scheduled", 2)
    assert rows_b[("chem@uni", "")][3:] == ("skipped", 2)
    assert rows_b[("gone@uni", "")][3:] == ("cancelled", 2)
    assert rows_b[("new@uni", "")] == ("Geometry", added.start, added.end, "scheduled", 1)
    assert _rows(db, "C-303")[("ethics@uni", "")][::3] == ("Ethics", "assembling")  # left as it was
    # The cancelled talk comes back; the same calendar again changes nothing.
    third = sync_rooms(db, [RoomOccurrences(ids["B-202"], "B-202", [shortened, private, added, b[2]])], *SPAN)
    assert third == {ids["B-202"]: SyncResult(changed=1)}
    assert _rows(db, "B-202")[("gone@uni", "")][3:] == ("scheduled", 3)
    assert sync_rooms(db, [RoomOccurrences(ids["B-202"], "B-202", [shortened, private, added, b[2]])],
                      *SPAN) == {ids["B-202"]: SyncResult()}


def test_two_nodes_syncing_the_same_edit_at_once_win_each_row_once(db: Database, any_db_url: str) -> None:
    ids = _rooms(db)
    base = {name: _series(f"{name}@uni", NOW + 3 * H, 2, name) for name in ids}
    sync_rooms(db, [RoomOccurrences(ids[n], n, occs) for n, occs in base.items()], *SPAN)
    edit = [RoomOccurrences(ids[n], n, [replace(occs[0], title=f"{n} (edited)"),
                                         Occurrence(f"extra-{n}@uni", "", "Extra", "", "", NOW + 9 * H,
                                                    NOW + 10 * H)])
            for n, occs in base.items()]  # each room: one changed, one added, one cancelled
    nodes = [Database(any_db_url) for _ in range(2)]
    results: list[dict[int, SyncResult]] = []
    go = threading.Barrier(len(nodes))

    def node(d: Database) -> None:
        go.wait()
        results.append(sync_rooms(d, edit, *SPAN))

    threads = [threading.Thread(target=node, args=(d,)) for d in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for d in nodes:
        d.dispose()
    assert len(results) == 2
    for rid in ids.values():
        both = [r[rid] for r in results]
        assert sum(r.added for r in both) == 1 and sum(r.changed for r in both) == 1
        assert sum(r.cancelled for r in both) == 1
    for name in ids:
        rows = _rows(db, name)
        assert len(rows) == 3
        assert {v[3] for k, v in rows.items() if k[0] == f"{name}@uni"} == {"scheduled", "cancelled"}
        assert max(v[4] for v in rows.values()) == 2  # each change made once, from the version read


def test_a_room_removed_meanwhile_does_not_stop_the_others(db: Database) -> None:
    ids = _rooms(db)
    occ = Occurrence("a@uni", "", "Algebra", "", "", NOW + H, NOW + 2 * H)
    got = sync_rooms(db, [RoomOccurrences(ids["A-101"], "A-101", [occ]), RoomOccurrences(999_999, "gone", [occ]),
                          RoomOccurrences(ids["C-303"], "C-303", [occ])], *SPAN)
    assert got == {ids["A-101"]: SyncResult(added=1), 999_999: SyncResult(), ids["C-303"]: SyncResult(added=1)}
    assert len(lecture_store.between(db, *SPAN)) == 2
