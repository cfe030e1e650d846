"""Which rooms recording by their timetable (`rooms edit R --record timetable`) are inside a lecture's window now:
from `lectures.pre_roll` before each lecture to `lectures.post_roll` after it. The global recording window
still applies on top (the engine combines both).

The windows of the next LOOKAHEAD_S are read from the database at most every REFRESH_S; whether a room is
inside one is then decided from that copy at every engine tick, so a recorder starts within a tick or two of
its pre-roll, not at the next read. When the database cannot be read, the copy stands; before any copy, every
room records: a missed lecture cannot be recorded later, a few minutes too many can be deleted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from nvr_console.core.config import Settings
from nvr_console.core.db.models import RecordMode
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.lectures import lecture_store, timetable_store

log = logging.getLogger(__name__)

REFRESH_S = 10.0
LOOKAHEAD_S = 3600.0


class LectureWindows:
    def __init__(self, db: Database, settings: Settings,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self._timetabled: frozenset[int] = frozenset()
        self._windows: list[tuple[int, datetime, datetime]] = []
        self._read_at = -REFRESH_S
        self._closed: frozenset[int] | None = None

    def _read(self, now: datetime) -> None:
        if time.monotonic() - self._read_at < REFRESH_S:
            return
        self._read_at = time.monotonic()
        try:
            timetabled = [rid for rid, mode in timetable_store.record_modes(self.db).items()
                          if mode == RecordMode.TIMETABLE.value]
            lec = self.settings.lectures
            windows = lecture_store.recording_windows(self.db, timetabled, now,
                                                      now + timedelta(seconds=LOOKAHEAD_S + REFRESH_S),
                                                      lec.pre_roll, lec.post_roll)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            log.debug("lecture windows not read (the last copy stands): %s", exc)
            return
        self._timetabled, self._windows = frozenset(timetabled), windows

    def closed_rooms(self) -> frozenset[int]:
        """Rooms in timetable mode outside every lecture's window now (their cameras wait). The engine thread."""
        now = self.clock()
        self._read(now)
        open_now = {rid for rid, a, b in self._windows if a <= now < b}
        closed = self._timetabled - open_now
        if closed != self._closed:
            log.info("rooms recording by timetable: %d waiting for a lecture, %d recording around one",
                     len(closed), len(self._timetabled) - len(closed))
            self._closed = closed
        return closed
