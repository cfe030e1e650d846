"""Live-status publishing: what the engine last said about each camera, and about itself, written to the
database for `nvr-console status`, monitoring and consoles on other machines (live_state/store.py reads and
writes the rows). Engine thread.

Written every LIVE_STATUS_EVERY ticks, and at once when a camera's state changes. Every 5 s it cost ~23 ms per
write for 8 cameras, over half of the engine's steady CPU (bench/rotation.py); sizes and rates 15 s old are
fine for that view (a row is stale after 60 s).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace

from sqlalchemy.exc import SQLAlchemyError

from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.live_state import store as live_status
from nvr_console.core.status import CameraState, CameraStatus, QueueStatus

log = logging.getLogger(__name__)

LIVE_STATUS_EVERY = 15  # engine ticks (1 s)
LET_GO_STATES = frozenset({CameraState.STOPPED, CameraState.SCHEDULED})  # a node's last word on a camera it let go


class LiveStatusPublisher:
    """The latest CameraStatus per camera and the upload queue's word, and their rows. Engine thread."""

    def __init__(self, db: Database, started_at: float | None = None, node: str | None = None,
                 tokens: Callable[[], Mapping[int, int]] | None = None) -> None:
        self.db = db
        self.started_at = started_at if started_at is not None else time.time()
        self.node = node  # the camera rows' writer (None: this process, host:pid)
        # Several nodes: the lease tokens this node holds now ({camera: token}); only those cameras are written,
        # fenced by their token (live_status.write_statuses). None: every camera, as a lone engine.
        self._tokens = tokens
        self._last_tokens: dict[int, int] = {}
        self.stopping = False  # a stopping engine no longer speaks for its upload queue
        self._latest: dict[int, CameraStatus] = {}
        self._written_states: tuple[tuple[int, CameraState], ...] = ()
        self._queue: QueueStatus | None = None

    def latest(self, camera_id: int) -> CameraStatus | None:
        return self._latest.get(camera_id)

    def record(self, status: CameraStatus) -> None:
        """A camera's newest status (written at the next tick if its state changed)."""
        self._latest[status.camera_id] = status

    def forget(self, camera_id: int) -> None:
        self._latest.pop(camera_id, None)

    def tick(self, ticks: int) -> None:
        """Write when due, or at once after a camera's state changed. Engine thread, every tick."""
        states = tuple((cid, st.state) for cid, st in self._latest.items())
        if ticks % LIVE_STATUS_EVERY == 0 or states != self._written_states:
            self._written_states = states
            self.write()

    def queue_changed(self, queue: QueueStatus) -> None:
        """The uploader's latest word; a pause or resume reaches the database at once. Engine thread."""
        changed = self._queue is None or self._queue.paused != queue.paused or self._queue.reason != queue.reason
        self._queue = queue
        if changed:
            self.write_engine()  # the cameras' rows did not change with it

    def all_stopped(self) -> None:
        """The engine stopped: every camera it reported shows stopped, with no file, and that is written (for
        the cameras it held last, under their last tokens: a camera another node has taken since keeps that
        node's word)."""
        now = time.time()
        self._latest = {k: replace(v, state=CameraState.STOPPED, since=now, current_file="", file_size=0,
                                   bitrate_kbps=0.0, fps=0.0) for k, v in self._latest.items()}
        self.write(tokens=dict(self._last_tokens) if self._tokens is not None else None)

    def write(self, tokens: Mapping[int, int] | None = None) -> None:
        """Every camera's row and the engine's own. A database that is down is left for the next write."""
        let_go: dict[int, int] = {}
        if tokens is None and self._tokens is not None:
            held = dict(self._tokens())
            self._last_tokens.update(held)
            # A camera this node let go of once it stopped it (an operator's Stop releases the lease): its
            # stopped state is written once more, under the last token this node had, or every console would
            # show it recording until the row went stale. A newer holder's row is fenced off from it.
            let_go = {cid: token for cid, token in self._last_tokens.items() if cid not in held
                      and (st := self._latest.get(cid)) is not None and st.state in LET_GO_STATES}
            tokens = held | let_go
        try:
            live_status.write_statuses(self.db, list(self._latest.values()), node=self.node, tokens=tokens)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            log.debug("live status not written: %s", exc)
        else:
            for cid in let_go:
                self._last_tokens.pop(cid, None)
        self.write_engine()

    def write_engine(self) -> None:
        try:
            live_status.write_engine_status(self.db, self.started_at, None if self.stopping else self._queue)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            log.debug("engine status not written: %s", exc)
