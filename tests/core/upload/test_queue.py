"""The queue's claim: rooms of an account at Drive's daily cap are skipped, the others claimed (SQLite, MariaDB)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

from nvr_console.core import catalog
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import Recording
from nvr_console.core.db.session import Database
from nvr_console.core.upload import queue

SLOT = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def test_claims_skip_the_rooms_of_held_accounts(any_db_url: str) -> None:
    db = Database(any_db_url)
    prepare_database(db)
    try:
        for room in ("A-101", "B-202"):
            catalog.add_room(db, room)
        catalog.edit_room(db, "B-202", drive_account="campus2", accounts=("default", "campus2"))
        node = socket.gethostname()
        with db.session() as s:
            # Oldest first would take A-101's files; C-303 is no longer in the catalogue: account "default".
            for i, room in enumerate(("A-101", "C-303", "B-202")):
                path = f"/r/{room}.mp4"
                s.add(Recording(room_name=room, camera_name="front", slot_start=SLOT + timedelta(minutes=i),
                                local_path=path, local_path_key=catalog.path_key(path), status="ready", size=10,
                                node=node))
        rr = queue.RoundRobin()
        job = queue.claim_next(db, rr, 60, node, skip_accounts=frozenset({"default"}))
        assert job is not None and (job.room, job.account) == ("B-202", "campus2")
        assert queue.claim_next(db, rr, 60, node, skip_accounts=frozenset({"default"})) is None
        got = {queue.claim_next(db, rr, 60, node, skip_accounts=frozenset({"campus2"})) for _ in range(3)}
        assert {(j.room, j.account) for j in got if j is not None} == {("A-101", "default"), ("C-303", "default")}
    finally:
        db.dispose()
