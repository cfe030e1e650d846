"""Store camera state changes and engine starts/stops as they happen, without ever holding up recording.

The engine's plain-data signals (`camera_status`, `started`, `stopped`) are connected directly, so the slots
here run on the engine thread: they only compare with the camera's last stored state and append to a bounded
queue under a lock. A writer thread of its own inserts the queue in batches (one transaction a second at
most), keeps a batch the database refused and tries again with backoff, and deletes events older than
`retention.events` now and then. A database that is down costs the engine nothing; the queue is bounded and
counts what it had to drop.

Only changes that explain coverage are stored: a camera cycling starting -> reconnecting with the same error
during an outage is one event, not one per retry.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt
from sqlalchemy.exc import SQLAlchemyError

from nvr_console.core.db.models import CameraEventKind
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.engine_api import EngineApi
from nvr_console.core.events.store import ENGINE_STARTED, ENGINE_STOPPED, Event, purge_older_than, write_events
from nvr_console.core.status import CameraState, CameraStatus
from nvr_console.core.system.node_identity import node_name
from nvr_console.core.text.masking import mask_secrets

log = logging.getLogger(__name__)

FLUSH_S = 1.0
MAX_QUEUE = 10_000  # events; ~2 MB. Beyond that the oldest are dropped (and counted)
BATCH = 500
PURGE_EVERY_S = 6 * 3600.0
RETRY_MAX_S = 30.0
# States in which the camera's error is the reason (and repeating starts are not news).
FAILING = frozenset({CameraState.STALLED, CameraState.RECONNECTING, CameraState.FAILED})


class EventRecorder:
    """One per engine. Construct and attach on the thread that creates the engine; `close()` after it stopped."""

    def __init__(self, db: Database, retention_s: float, *, node: str | None = None, actor: str = "",
                 flush_s: float = FLUSH_S, max_queue: int = MAX_QUEUE) -> None:
        self._db = db
        self._retention_s = retention_s
        self._node = node or node_name()
        self._actor = actor
        self._flush_s = flush_s
        self._cond = threading.Condition()
        self._queue: collections.deque[Event] = collections.deque()
        self._max_queue = max_queue
        self._last: dict[int, tuple[CameraState, str]] = {}
        self._closing = False
        self.dropped = 0
        self.written = 0
        self._next_purge = 0.0
        self._thread = threading.Thread(target=self._run, name="nvr-events", daemon=True)
        self._thread.start()

    def attach(self, engine: EngineApi) -> None:
        """Listen to an engine's signals (direct: the slots run on the engine thread and only queue)."""
        direct = Qt.ConnectionType.DirectConnection
        engine.camera_status.connect(self.note_status, direct)
        engine.started.connect(lambda: self.note_engine(ENGINE_STARTED), direct)
        engine.stopped.connect(lambda: self.note_engine(ENGINE_STOPPED), direct)

    # --- any thread (the engine thread in practice): cheap, never touches the database -----------------------

    def note_status(self, status: CameraStatus) -> None:
        """Queue the camera's new state if it says something new about coverage."""
        state = status.state
        reason = mask_secrets(status.last_error) if state in FAILING else ""
        with self._cond:
            last = self._last.get(status.camera_id)
            if last == (state, reason):
                return
            if last is not None and last[0] in FAILING and state in (CameraState.STARTING, CameraState.STALLED):
                return  # another attempt (or the stall before it) during the same outage
            if last is not None and last[0] in FAILING and state in FAILING and reason == last[1]:
                return  # reconnecting <-> failed with the same error
            self._last[status.camera_id] = (state, reason)
            at = datetime.fromtimestamp(status.since or time.time(), UTC)
            self._put(Event(at, CameraEventKind.STATE, state.value, status.camera_id, status.room, status.camera,
                            reason, self._node))

    def note_engine(self, state: str, reason: str = "") -> None:
        """Queue an engine start or stop (with who stopped it)."""
        with self._cond:
            if state == ENGINE_STOPPED:
                self._last.clear()  # after a restart every camera's first state is news again
            self._put(Event(datetime.now(UTC), CameraEventKind.ENGINE, state, None, "", "", reason, self._node,
                            self._actor))

    def _put(self, event: Event) -> None:
        if len(self._queue) >= self._max_queue:
            self._queue.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("camera events are not reaching the database; %d dropped so far", self.dropped)
        self._queue.append(event)
        self._cond.notify()

    # --- lifecycle -----------------------------------------------------------------------------------------

    def close(self, timeout_s: float = 5.0) -> bool:
        """Write what is queued (within `timeout_s`) and stop the writer; True if nothing was left. Any thread
        but the engine's own (it waits)."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout_s)
        with self._cond:
            left = len(self._queue)
        if left:
            log.warning("%d camera event(s) could not be written before the engine stopped", left)
        return left == 0 and not self._thread.is_alive()

    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    # --- writer thread -------------------------------------------------------------------------------------

    def _run(self) -> None:
        """Writer thread: batches, retries with backoff, purges old events (first at start)."""
        self._purge_if_due()
        delay = 0.0
        while True:
            with self._cond:
                if not self._closing:
                    self._cond.wait_for(lambda: self._closing or bool(self._queue), timeout=self._flush_s + delay)
                closing = self._closing
                batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
            if batch:
                try:
                    write_events(self._db, batch)
                    self.written += len(batch)
                    delay = 0.0
                except (DatabaseUnavailable, SQLAlchemyError) as exc:
                    with self._cond:
                        self._queue.extendleft(reversed(batch))
                        while len(self._queue) > self._max_queue:
                            self._queue.pop()
                            self.dropped += 1
                    if closing:
                        return
                    if delay == 0.0:
                        log.warning("camera events not written (%s); retrying", mask_secrets(str(exc)))
                    delay = min(RETRY_MAX_S, max(1.0, delay * 2))
                    continue
            if not closing:
                self._purge_if_due()
            with self._cond:
                if closing and not self._queue:
                    return
            if not closing and batch:
                # Let the next changes gather: at most one transaction per flush interval.
                with self._cond:
                    self._cond.wait_for(lambda: self._closing, timeout=self._flush_s)

    def _purge_if_due(self) -> None:
        now = time.monotonic()
        if now < self._next_purge:
            return
        self._next_purge = now + PURGE_EVERY_S
        try:
            n = purge_older_than(self._db, datetime.now(UTC) - timedelta(seconds=self._retention_s))
            if n:
                log.info("deleted %d camera event(s) older than the retention period", n)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            self._next_purge = now + 60.0
            log.debug("camera events not purged: %s", exc)
