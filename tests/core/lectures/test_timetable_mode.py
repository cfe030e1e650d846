"""Timetable mode with the real recorder: a room set to `--record timetable` records from the pre-roll before
each lecture to the post-roll after it and nothing between two lectures; both lectures are delivered whole."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import Recording
from nvr_console.core.db.session import Database
from nvr_console.core.engine.host import EngineHost
from nvr_console.core.lectures import lecture_store, timetable_store
from tests.core.engine_support import wait_until
from tests.core.lectures.ics_samples import calendar, event
from tests.support.fixtures_rtsp import rtsp_server  # noqa: F401
from tests.support.rtsp_peer import RtspServer

SEG = 3.0
PRE, POST = 6.0, 3.0


@pytest.mark.slow
def test_timetable_mode_records_around_lectures_only(settings_factory: Callable[..., Settings],
                                                     rtsp_server: RtspServer, tmp_path: Path,  # noqa: F811
                                                     qapp: object) -> None:
    settings = settings_factory(**{"recording.segment_length": "3", "upload.destination": "local",
                                   "lectures.pre_roll": f"{PRE:g}s", "lectures.post_roll": f"{POST:g}s",
                                   "lectures.claim_ttl": "6s", "recording.timezone": "UTC"})
    db = Database(settings.database.url)
    prepare_database(db)
    try:
        catalog.add_room(db, "B-2")
        cam = catalog.add_camera(db, "B-2", "front", rtsp_server.url("/cam"))
        t0 = math.ceil(time.time() / SEG) * SEG
        lectures = [(datetime.fromtimestamp(t0 + a, UTC), datetime.fromtimestamp(t0 + a + 6, UTC)) for a in (24, 48)]
        ics = tmp_path / "timetable.ics"
        ics.write_bytes(calendar(*(event(f"l{i}@uni", f"{a:%Y%m%dT%H%M%S}", f"{b:%Y%m%dT%H%M%S}", f"Tutorial {i}",
                                         tzid="") for i, (a, b) in enumerate(lectures))))
        timetable_store.configure(db, "B-2", source=str(ics), record_mode="timetable")
        host = EngineHost(settings, db)
        host.start()
        try:
            def delivered() -> bool:
                got = lecture_store.between(db, lectures[0][0] - timedelta(seconds=1), lectures[1][1])
                return len(got) == 2 and all(x.state in ("delivered", "incomplete") for x in got)

            assert wait_until(delivered, 48 + 6 + 60)
        finally:
            assert host.stop(30)
        with db.session() as s:
            spans = [(r.start_time, r.end_time) for r in s.scalars(
                select(Recording).where(Recording.camera_id == cam.id).order_by(Recording.slot_start))]
        assert spans and all(a is not None and b is not None for a, b in spans)
        (s1, e1), (s2, e2) = lectures
        # Started by the pre-roll: the first file begins before the lecture does.
        first = min(a for a, _ in spans)
        assert s1 - timedelta(seconds=PRE) <= first <= s1, (first, s1)
        # Nothing between the two lectures (after the first's post-roll and its last segment, before the second's
        # pre-roll).
        quiet_from, quiet_to = e1 + timedelta(seconds=POST + SEG), s2 - timedelta(seconds=PRE)
        assert not [(a, b) for a, b in spans if a < quiet_to and b > quiet_from], spans
        assert any(a <= s2 for a, _ in spans if a > e1)
        for lec in lecture_store.between(db, s1 - timedelta(seconds=1), e2):
            assert lec.state == "delivered" and lec.coverage is not None and lec.coverage >= 0.99, lec
    finally:
        db.dispose()
