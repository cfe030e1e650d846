"""What the engine has said, kept as counters and latest states for metrics and alert rules.

`EngineObserver.attach(engine)` connects to the engine's signals with direct connections: the handlers run
on the emitting (engine) thread, take a lock and update a few dicts, nothing more. `snapshot()` hands any
other thread (metrics scrape, alert evaluator) an immutable copy.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt

from nvr_console.core.disk_forecast import camera_write_rate_bps
from nvr_console.core.engine_api import EngineApi
from nvr_console.core.status import CameraState, CameraStatus, QueueStatus, RecordingEvent, UploadProgress, UploadState
from nvr_console.core.text.masking import mask_secrets

# A camera in one of these states is trying to record and not managing to.
TROUBLE = frozenset({CameraState.STARTING, CameraState.STALLED, CameraState.RECONNECTING, CameraState.FAILED})
RECONNECT_WINDOW_S = 3600.0


@dataclass(frozen=True)
class CameraFigures:
    camera_id: int
    room: str
    camera: str
    state: CameraState
    enabled: bool
    last_error: str  # masked
    trouble_since: float | None  # epoch s since the camera has been trying and failing to record
    recorded_seconds: float  # time spent RECORDING since this process started observing
    written_bytes: int  # bytes FFmpeg wrote (sampled from the growing file, about every 5 s)
    write_rate_bps: float  # bytes per second now (0 unless RECORDING)
    segments_finalized: int
    segments_failed: int
    reconnects: int
    reconnects_last_hour: int


@dataclass(frozen=True)
class Observed:
    """An immutable snapshot for one scrape or one evaluation."""

    taken_at: float
    observing_since: float
    cameras: tuple[CameraFigures, ...]
    removed: frozenset[int]
    queue_files: int
    queue_bytes: int
    upload_rate_bps: float
    paused: bool
    pause_reason: str
    paused_since: float | None
    resumed_at: float | None  # when the last pause ended
    queue_seen: bool  # the uploader has reported at least once
    uploads: int
    uploaded_bytes: int
    upload_retries: int
    upload_failures: int
    last_upload_at: float | None

    @property
    def write_rate_bps(self) -> float:
        return sum(c.write_rate_bps for c in self.cameras)


class _Camera:
    __slots__ = ("bytes", "camera", "camera_id", "enabled", "failed", "file", "finalized", "last_error",
                 "rate", "reconnect_times", "reconnects", "recorded", "recording_since", "room", "size",
                 "state", "trouble_since")

    def __init__(self, camera_id: int, room: str, camera: str) -> None:
        self.camera_id, self.room, self.camera = camera_id, room, camera
        self.state: CameraState | None = None
        self.enabled = True
        self.last_error = ""
        self.trouble_since: float | None = None
        self.recording_since: float | None = None
        self.recorded = 0.0
        self.file = ""
        self.size = 0
        self.bytes = 0
        self.rate = 0.0
        self.finalized = 0
        self.failed = 0
        self.reconnects = 0
        self.reconnect_times: deque[float] = deque()


class EngineObserver:
    """Thread-safe figures fed by engine signals; see the module docstring for threads."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._cams: dict[int, _Camera] = {}
        self._removed: set[int] = set()
        self._since = self._now()
        self._queue: QueueStatus | None = None
        self._paused_since: float | None = None
        self._resumed_at: float | None = None
        self._uploads = 0
        self._uploaded_bytes = 0
        self._retries = 0
        self._failures = 0
        self._last_upload: float | None = None

    def _now(self) -> float:
        return self._clock()

    def attach(self, engine: EngineApi) -> None:
        """Connect to the engine's signals (direct: handlers run on the emitting thread). Any thread."""
        direct = Qt.ConnectionType.DirectConnection
        engine.camera_status.connect(self.on_camera_status, direct)
        engine.camera_removed.connect(self.on_camera_removed, direct)
        engine.recording_finished.connect(self.on_recording_finished, direct)
        engine.upload_progress.connect(self.on_upload_progress, direct)
        engine.queue_status.connect(self.on_queue_status, direct)

    # --- handlers (engine thread) ---------------------------------------------------------------------

    def on_camera_status(self, st: CameraStatus) -> None:
        """Engine thread."""
        if st.camera_id < 0:  # a room's sound source
            return
        now = self._now()
        with self._lock:
            self._removed.discard(st.camera_id)
            cam = self._cams.get(st.camera_id)
            if cam is None:
                cam = self._cams[st.camera_id] = _Camera(st.camera_id, st.room, st.camera)
            cam.room, cam.camera, cam.enabled = st.room, st.camera, st.enabled
            cam.last_error = mask_secrets(st.last_error)
            if st.state is not cam.state:
                if st.state is CameraState.RECONNECTING:
                    cam.reconnects += 1
                    cam.reconnect_times.append(now)
                if cam.recording_since is not None and st.state is not CameraState.RECORDING:
                    cam.recorded += max(0.0, now - cam.recording_since)
                    cam.recording_since = None
                if st.state is CameraState.RECORDING:
                    cam.recording_since = now
                if st.state in TROUBLE:
                    if cam.trouble_since is None:
                        cam.trouble_since = now
                else:
                    cam.trouble_since = None
                cam.state = st.state
            if st.current_file:
                if st.current_file == cam.file:
                    cam.bytes += max(0, st.file_size - cam.size)
                else:
                    cam.bytes += max(0, st.file_size)
                cam.file, cam.size = st.current_file, st.file_size
            cam.rate = camera_write_rate_bps(st)

    def on_camera_removed(self, camera_id: int) -> None:
        """Engine thread."""
        with self._lock:
            self._cams.pop(camera_id, None)
            self._removed.add(camera_id)

    def on_recording_finished(self, ev: RecordingEvent) -> None:
        """Engine thread."""
        if ev.camera_id is None:
            return
        with self._lock:
            cam = self._cams.get(ev.camera_id)
            if cam is None:
                cam = self._cams[ev.camera_id] = _Camera(ev.camera_id, ev.room, ev.camera)
            if ev.status == "ready":
                cam.finalized += 1
            elif ev.status == "failed":
                cam.failed += 1

    def on_upload_progress(self, up: UploadProgress) -> None:
        """Engine thread."""
        with self._lock:
            if up.state is UploadState.UPLOADED:
                self._uploads += 1
                self._uploaded_bytes += up.total
                self._last_upload = self._now()
            elif up.state is UploadState.RETRYING:
                self._retries += 1
            elif up.state is UploadState.FAILED:
                self._failures += 1

    def on_queue_status(self, q: QueueStatus) -> None:
        """Engine thread."""
        with self._lock:
            if q.paused and self._paused_since is None:
                self._paused_since = self._now()
            elif not q.paused and self._paused_since is not None:
                self._paused_since = None
                self._resumed_at = self._now()
            self._queue = q

    # --- readers (any thread) ---------------------------------------------------------------------------

    def snapshot(self) -> Observed:
        """An immutable copy of every figure. Any thread."""
        now = self._now()
        with self._lock:
            cams = []
            for c in self._cams.values():
                while c.reconnect_times and c.reconnect_times[0] < now - RECONNECT_WINDOW_S:
                    c.reconnect_times.popleft()
                recorded = c.recorded + (max(0.0, now - c.recording_since) if c.recording_since is not None else 0.0)
                cams.append(CameraFigures(
                    c.camera_id, c.room, c.camera, c.state or CameraState.STOPPED, c.enabled, c.last_error,
                    c.trouble_since, recorded, c.bytes, c.rate, c.finalized, c.failed, c.reconnects,
                    len(c.reconnect_times),
                ))
            q = self._queue
            return Observed(
                taken_at=now, observing_since=self._since, cameras=tuple(cams), removed=frozenset(self._removed),
                queue_files=q.files if q else 0, queue_bytes=q.bytes if q else 0,
                upload_rate_bps=q.rate_bps if q else 0.0, paused=bool(q and q.paused),
                pause_reason=mask_secrets(q.reason) if q and q.paused else "", paused_since=self._paused_since,
                resumed_at=self._resumed_at,
                queue_seen=q is not None, uploads=self._uploads, uploaded_bytes=self._uploaded_bytes,
                upload_retries=self._retries, upload_failures=self._failures, last_upload_at=self._last_upload,
            )
