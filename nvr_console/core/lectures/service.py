"""The lectures' worker on a recording node: refresh every room's timetable every `calendar.refresh`, and look
for lectures to deliver every few seconds. A thread of its own (downloads, FFmpeg and uploads block), never
the engine's or the UI's; started and stopped with the engine by EngineHost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.lectures import refresh
from nvr_console.core.lectures.delivery import Deliverer
from nvr_console.core.text.masking import mask_secrets

log = logging.getLogger(__name__)

DELIVERY_CHECK_S = 10.0  # how often due lectures are looked for (at most; a third of lectures.claim_ttl if shorter)


class LectureService:
    def __init__(self, settings: Settings, db: Database, node: str | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.settings = settings
        self.db = db
        self.node = node or settings.node.name
        self.clock = clock
        self.deliverer = Deliverer(settings, db, self.node, clock)
        self.cache = refresh.TimetableCache()  # parsed calendars and the last sync, between refreshes
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refreshes = 0
        self.passes = 0

    def start(self) -> None:
        """Start the worker thread. Any thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="nvr-lectures", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop at the next chunk or FFmpeg poll (an unfinished file's claim expires and another node, or the
        next start, builds it). Any thread."""
        self._stop.set()
        self.deliverer.request_stop()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        """Worker thread."""
        every = min(DELIVERY_CHECK_S, self.settings.lectures.claim_ttl / 3)
        self._guarded("cleaning up half-built lecture files", self.deliverer.clean_work_dir)
        next_refresh = 0.0
        while not self._stop.is_set():
            if time.monotonic() >= next_refresh:
                next_refresh = time.monotonic() + self.settings.calendar.refresh
                self._guarded("timetable refresh", lambda: refresh.refresh_all(self.db, self.settings, self.node,
                                                                               self.clock(), self.cache))
                self.refreshes += 1
            self._guarded("lecture delivery", self.deliverer.run_once)
            self.passes += 1
            self._stop.wait(every)

    def _guarded(self, what: str, step: Callable[[], object]) -> None:
        try:
            step()
        except DatabaseUnavailable as exc:
            log.warning("%s: the database is unavailable (tried again later): %s", what, exc)
        except Exception as exc:  # one failed pass never ends the worker; the next pass tries again
            log.exception("%s failed: %s", what, mask_secrets(str(exc)))
