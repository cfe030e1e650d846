"""Live thumbnails: about once a minute, one keyframe read from the end of each visible camera's current
file (core.snapshot), never a second stream decoded nonstop. UI thread; FFmpeg runs on a small pool of
its own so thumbnails never delay a Test or a database check."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal
from PySide6.QtGui import QImage

from nvr_console.core.snapshot import snapshot_file
from nvr_console.ui.background import BackgroundCall, run_in_background

log = logging.getLogger(__name__)
REFRESH_MS = 60_000
FIRST_MS = 3_000
WIDTH = 112


class ThumbnailService(QObject):
    """Asks `targets()` for (camera id, current file) pairs and emits `ready(camera_id, QImage)`."""

    ready = Signal(int, QImage)

    @classmethod
    def started(cls, ffmpeg: str, targets: Callable[[], list[tuple[int, str]]],
                on_ready: Callable[[int, QImage], object], parent: QObject | None = None,
                interval_ms: int = REFRESH_MS) -> ThumbnailService:
        """A running service whose pictures go to `on_ready`."""
        service = cls(ffmpeg, targets, parent, interval_ms)
        service.ready.connect(on_ready)
        service.start()
        return service

    def __init__(
        self,
        ffmpeg: str,
        targets: Callable[[], list[tuple[int, str]]],
        parent: QObject | None = None,
        interval_ms: int = REFRESH_MS,
        threads: int = 1,
    ) -> None:
        super().__init__(parent)
        self.ffmpeg, self.targets = ffmpeg, targets
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)  # one FFmpeg at a time: a steady, small cost
        self._pending: dict[int, BackgroundCall] = {}
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.refresh)
        self.first = QTimer(self)  # a first picture soon after the recorders start
        self.first.setSingleShot(True)
        self.first.setInterval(FIRST_MS)
        self.first.timeout.connect(self.refresh)

    def start(self) -> None:
        self.timer.start()
        self.first.start()

    def refresh(self) -> None:
        """Queue one snapshot per target not already in flight. UI thread."""
        for camera_id, path in self.targets():
            if camera_id in self._pending or not path or not Path(path).exists():
                continue
            self._pending[camera_id] = run_in_background(
                partial(snapshot_file, self.ffmpeg, path, width=WIDTH),
                partial(self._done, camera_id),
                partial(self._failed, camera_id),
                pool=self.pool, context=self
            )

    def _done(self, camera_id: int, png: bytes) -> None:
        self._pending.pop(camera_id, None)
        image = QImage.fromData(png)  # the format is read from the data (PNG)
        if not image.isNull():
            self.ready.emit(camera_id, image)

    def _failed(self, camera_id: int, message: str) -> None:
        self._pending.pop(camera_id, None)
        log.debug("thumbnail for camera %s: %s", camera_id, message)

    def stop(self) -> None:
        """No more rounds; snapshots not started yet are dropped, a running one is waited for (5 s at most)."""
        self.timer.stop()
        self.first.stop()
        self.pool.clear()
        self.pool.waitForDone(5000)
