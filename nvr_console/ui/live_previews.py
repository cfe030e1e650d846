"""The table's previews on a control station, from the live decoder. A control station records nothing, so it
has no file being written to read a keyframe from (ui.thumbnails: the recorder node's path means nothing here);
it reads the cameras itself, as its live wall does. About once a minute, for each camera the table shows
recording: the wall's own picture when a tile of it plays that camera now (nothing more is decoded), else a
TileDecoder on the camera's live URL (its sub-stream when it has one) that decodes keyframes only, at the
preview's size, hands over the first one and stops. Two at a time, each given up after GRAB_TIMEOUT_MS. UI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QImage

from nvr_console.core.live.tile_decoder import LiveState, LiveStatus, TileDecoder
from nvr_console.ui.thumbnails import FIRST_MS, REFRESH_MS, WIDTH, ThumbnailService

if TYPE_CHECKING:
    from nvr_console.ui.main_window import MainWindow
    from nvr_console.ui.views.live_wall import LiveWall

log = logging.getLogger(__name__)
GRAB_TIMEOUT_MS = 15_000  # connecting (5 s at most) and the next keyframe (cameras send one every 1-10 s)
PARALLEL = 2  # streams opened at once: a steady, small cost, as the thumbnails' one FFmpeg at a time


def start_previews(window: MainWindow, interval_ms: int = REFRESH_MS) -> ThumbnailService | LivePreviews:
    """The table's previews, running: from the live decoder on a control station, else from the recordings."""
    if window.control_station:
        return LivePreviews.started(lambda: [cid for cid, _file in window.table.recording_on_screen()],
                                    window.live, window.model.set_thumbnail, window, interval_ms)
    return ThumbnailService.started(window.ffmpeg, window.table.recording_on_screen, window.model.set_thumbnail,
                                    window, interval_ms)


@dataclass
class _Grab:
    decoder: TileDecoder
    deadline: QTimer


class LivePreviews(QObject):
    """Asks `targets()` for camera ids and emits `ready(camera_id, QImage)` with a picture `WIDTH` wide."""

    ready = Signal(int, QImage)

    @classmethod
    def started(cls, targets: Callable[[], list[int]], wall: LiveWall, on_ready: Callable[[int, QImage], object],
                parent: QObject | None = None, interval_ms: int = REFRESH_MS) -> LivePreviews:
        """A running service whose pictures go to `on_ready`."""
        service = cls(targets, wall, parent, interval_ms)
        service.ready.connect(on_ready)
        service.start()
        return service

    def __init__(self, targets: Callable[[], list[int]], wall: LiveWall, parent: QObject | None = None,
                 interval_ms: int = REFRESH_MS) -> None:
        super().__init__(parent)
        self.targets, self.wall = targets, wall
        self._grabs: dict[int, _Grab] = {}
        self._queue: list[int] = []
        self._ended: list[TileDecoder] = []  # stopped, their threads still ending
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.refresh)
        self.first = QTimer(self)  # a first picture soon after the statuses arrive
        self.first.setSingleShot(True)
        self.first.setInterval(FIRST_MS)
        self.first.timeout.connect(self.refresh)

    def start(self) -> None:
        self.timer.start()
        self.first.start()

    def refresh(self) -> None:
        """One picture per target not already being taken: the wall's when it plays the camera, else a grab."""
        for camera_id in self.targets():
            if camera_id in self._grabs or camera_id in self._queue:
                continue
            shown = self.wall.playing_picture(camera_id)
            if shown is not None and not shown.isNull():
                self.ready.emit(camera_id, shown.scaledToWidth(WIDTH, Qt.TransformationMode.SmoothTransformation))
            else:
                self._queue.append(camera_id)
        self._next()

    def grabbing(self) -> list[int]:
        """The cameras whose stream is open for a preview now."""
        return list(self._grabs)

    def _next(self) -> None:
        self._ended = [d for d in self._ended if d.busy()]
        while self._queue and len(self._grabs) < PARALLEL:
            camera_id = self._queue.pop(0)
            cam = self.wall.camera(camera_id)
            if cam is None:
                continue
            decoder = TileDecoder(camera_id, cam.wall_url, cam.rtsp_transport, (WIDTH, WIDTH), keyframes_only=True)
            decoder.frame_ready.connect(self._frame_ready)
            decoder.status_changed.connect(self._status)
            deadline = QTimer(self)
            deadline.setSingleShot(True)
            deadline.timeout.connect(lambda cid=camera_id: self._end(cid, "no keyframe in time"))
            deadline.start(GRAB_TIMEOUT_MS)
            self._grabs[camera_id] = _Grab(decoder, deadline)
            decoder.start()

    def _frame_ready(self, camera_id: int) -> None:
        grab = self._grabs.get(camera_id)
        frame = grab.decoder.take_frame() if grab is not None else None
        if frame is None:
            return
        # A copy: the frame's pixels belong to the decoder, which ends now.
        image = QImage(frame.rgb, frame.width, frame.height, frame.stride, QImage.Format.Format_RGB32).copy()
        self._end(camera_id)
        self.ready.emit(camera_id, image)

    def _status(self, status: LiveStatus) -> None:
        if status.state is LiveState.STALLED:  # it would retry: a preview waits for the next round instead
            self._end(status.camera_id, status.error)

    def _end(self, camera_id: int, failure: str = "") -> None:
        grab = self._grabs.pop(camera_id, None)
        if grab is None:
            return
        if failure:
            log.debug("preview of camera %s: %s", camera_id, failure)
        grab.deadline.stop()
        grab.deadline.deleteLater()
        grab.decoder.stop()
        grab.decoder.frame_ready.disconnect(self._frame_ready)
        grab.decoder.status_changed.disconnect(self._status)
        self._ended.append(grab.decoder)
        QTimer.singleShot(0, self, self._next)

    def stop(self) -> None:
        """No more rounds; open streams are closed and their threads waited for (5 s at most in all)."""
        self.timer.stop()
        self.first.stop()
        self._queue.clear()
        for camera_id in list(self._grabs):
            self._end(camera_id)
        for decoder in self._ended:
            decoder.wait(5.0 / max(1, len(self._ended)))
        self._ended = [d for d in self._ended if d.busy()]
