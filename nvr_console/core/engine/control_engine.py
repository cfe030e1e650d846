"""The engine of a control station: records nothing, shows every camera of every node, commands through the
database.

It has the recording engine's signals and slots (the console cannot tell them apart): every REFRESH_S it
reads the fleet's live state in three queries (fleet.live_view) and emits what changed; Start/Stop/
Enable/Disable write the cameras' desired state, which the node holding each camera obeys within its next
reconcile (2 s). It registers as a `control` node, so `nodes list` shows the station.

Thread map: one QObject in its own QThread (EngineHost), like the recording engine; the member's heartbeat
runs on the member's thread. Database calls are bounded by the driver's timeouts and never run on the UI
thread.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from sqlalchemy.exc import SQLAlchemyError

from nvr_console import __version__
from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.models import DesiredState, NodeRole
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.fleet.live_view import LiveView, RemoteCamera, read_live_view
from nvr_console.core.fleet.member import FleetMember, MemberConfig
from nvr_console.core.live_state.store import current_pause
from nvr_console.core.recording import lifecycle
from nvr_console.core.status import CameraState, CameraStatus, LogLine, QueueStatus, UploadProgress, UploadState
from nvr_console.core.text.masking import mask_secrets
from nvr_console.core.upload import queue

log = logging.getLogger(__name__)

REFRESH_S = 2.0
QUEUE_EVERY = 5  # refreshes between queue totals


def to_status(cam: RemoteCamera, previous: CameraStatus | None = None) -> CameraStatus | None:
    """A remote camera as the console's table shows it; None while no node has said anything about it."""
    if cam.state == "unknown":
        return None
    if cam.state == "offline":
        state = CameraState.OFFLINE
    elif cam.state == "stale":
        state = CameraState.OFFLINE if cam.node else CameraState.STOPPED
    else:
        try:
            state = CameraState(cam.state)
        except ValueError:
            state = CameraState.STOPPED
    since = cam.since.timestamp() if cam.since is not None else time.time()
    if previous is not None and previous.state is state:
        since = previous.since
    # The database keeps each state's start only: an outage runs from the first state read that was not
    # recording, through the retries (starting, reconnecting) read after it.
    down_since = 0.0
    if state not in (CameraState.RECORDING, CameraState.STOPPED, CameraState.STOPPING, CameraState.SCHEDULED):
        down_since = previous.down_since if previous is not None and previous.down_since else since
    return CameraStatus(
        cam.camera_id, cam.room, cam.camera, state, since, current_file=cam.current_file, file_size=cam.file_size,
        bitrate_kbps=cam.bitrate_kbps, last_error=cam.last_error, enabled=cam.enabled, node=cam.node or "",
        stream=cam.stream,
        down_since=down_since,
    )


class ControlEngine(QObject):
    """A control station's engine. Construct anywhere; use only from its own thread."""

    camera_status = Signal(object)  # CameraStatus
    camera_removed = Signal(int)
    recording_finished = Signal(object)  # never: nothing is recorded here
    recording_ready = Signal(int)
    upload_progress = Signal(object)  # UploadProgress of any node's uploads
    queue_status = Signal(object)  # QueueStatus of the whole fleet
    disk_status = Signal(object)  # never: a control station has no recordings disk
    log_line = Signal(object)
    started = Signal()
    stopped = Signal()
    # core.engine_api.EngineApi: removing a camera stops its recorder first, which only its node can do.
    removes_cameras = False

    def __init__(self, settings: Settings, db: Database, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.db = db
        self._latest: dict[int, CameraStatus] = {}
        self._uploads: dict[int, UploadProgress] = {}
        self._timer: QTimer | None = None
        self._refreshes = 0
        self._db_error_logged = False
        self._member = FleetMember(MemberConfig(
            settings.database.url, settings.node.name, NodeRole.CONTROL, lease_ttl=settings.node.lease_ttl,
            version=__version__, cache_dir=None,
        ))
        self.node = settings.node.name

    # --- slots (engine thread) ------------------------------------------------------------------

    @Slot()
    def start(self) -> None:
        """Register the station and begin refreshing. Engine thread."""
        self._member.start()
        self._timer = QTimer(self)
        self._timer.setInterval(int(REFRESH_S * 1000))
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self._emit_log("info", "control station: this console records nothing; it shows and commands the "
                       "cameras of every recording node")
        self.refresh()
        self.started.emit()

    @Slot()
    def shutdown(self) -> None:
        """Engine thread."""
        if self._timer is not None:
            self._timer.stop()  # before the thread quits (PySide6 exit crash, see the reference notes)
        self._member.stop()
        self._member.join(5)
        self.stopped.emit()

    @Slot(object)
    def apply_settings(self, settings: Settings) -> None:
        """New settings saved by the console: a station uses none of the live ones (it records nothing; its
        member's database, name and TTL take effect at the next start). Engine thread."""
        self.settings = settings

    @Slot()
    def account_changed(self) -> None:
        """A station uploads nothing: the nodes upload with their own accounts. Engine thread."""

    @Slot(int)
    def remove_camera(self, camera_id: int) -> None:
        """Refused with a sentence (the console greys the action: removes_cameras). Engine thread."""
        self._emit_log("error", "a control station cannot remove a camera: its node must stop the recorder "
                       "first; remove it on a recording node's console or with `nvr-console cameras remove`",
                       camera_id)

    @Slot(int)
    def start_camera(self, camera_id: int) -> None:
        """Operator: record this camera; the node holding it obeys. Engine thread."""
        self._set_desired(camera_id, DesiredState.RECORDING)

    @Slot(int)
    def stop_camera(self, camera_id: int) -> None:
        """Operator: stop this camera; the node holding it obeys. Engine thread."""
        self._set_desired(camera_id, DesiredState.STOPPED)

    @Slot()
    def start_all(self) -> None:
        """Operator: record every enabled camera. Engine thread."""
        self._set_all(DesiredState.RECORDING)

    @Slot()
    def stop_all(self) -> None:
        """Operator: stop every camera. Engine thread."""
        self._set_all(DesiredState.STOPPED)

    @Slot()
    def reload(self) -> None:
        """Read the fleet's state now. Engine thread."""
        self.refresh()

    @Slot()
    def request_status(self) -> None:
        """Emit every camera's state (a console that just connected). Engine thread."""
        for status in self._latest.values():
            self.camera_status.emit(status)

    @Slot(int)
    def retry_upload(self, recording_id: int) -> None:
        """Operator: upload this recording again; the node that has the file does it. Engine thread."""
        try:
            lifecycle.requeue(self.db, recording_id)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            self._emit_log("error", f"cannot ask for the upload again: {mask_secrets(str(exc))}")

    @Slot()
    def resume_uploads(self) -> None:
        """Said where to do it: the paused queue is a node's. Engine thread."""
        self._emit_log("warning", "uploads are paused on the node that has the files: resume them there (its "
                       "console, or restart its service) after fixing the cause; `nvr-console drive status` "
                       "says which node and why")

    # --- the refresh (engine thread) --------------------------------------------------------------

    @Slot()
    def refresh(self) -> None:
        """Read the fleet's live state and emit what changed. Engine thread."""
        try:
            view = read_live_view(self.db)
            pause = current_pause(self.db) if self._refreshes % QUEUE_EVERY == 0 else None
            totals = queue.totals(self.db) if self._refreshes % QUEUE_EVERY == 0 else None
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            if not self._db_error_logged:
                self._emit_log("error", f"the database cannot be reached; the view is not current "
                               f"({mask_secrets(str(exc)).split(';')[0]})")
                self._db_error_logged = True
            return
        if self._db_error_logged:
            self._emit_log("info", "the database answers again")
            self._db_error_logged = False
        self._refreshes += 1
        self._apply(view)
        if totals is not None:
            self.queue_status.emit(QueueStatus(totals[0], totals[1], 0.0, paused=pause is not None,
                                               reason=f"{pause.node}: {pause.reason}" if pause else ""))

    def _apply(self, view: LiveView) -> None:
        seen = set()
        for cam in view.cameras:
            seen.add(cam.camera_id)
            status = to_status(cam, self._latest.get(cam.camera_id))
            if status is None:
                continue
            if self._latest.get(cam.camera_id) != status:
                self._latest[cam.camera_id] = status
                self.camera_status.emit(status)
        for cid in [c for c in self._latest if c not in seen]:
            self._latest.pop(cid)
            self.camera_removed.emit(cid)
        uploading = {u.recording_id: u for u in view.uploads}
        for u in view.uploads:
            progress = UploadProgress(u.recording_id, u.camera_id, UploadState.UPLOADING, u.bytes_sent, u.total)
            if self._uploads.get(u.recording_id) != progress:
                self._uploads[u.recording_id] = progress
                self.upload_progress.emit(progress)
        for rid in [r for r in self._uploads if r not in uploading]:
            done = self._uploads.pop(rid)
            web, folder = view.links.get(done.camera_id or -1, (None, None))
            self.upload_progress.emit(UploadProgress(rid, done.camera_id, UploadState.UPLOADED, done.total,
                                                     done.total, web_link=web or "", folder_link=folder or ""))

    # --- helpers -------------------------------------------------------------------------------------

    def _set_desired(self, camera_id: int, state: DesiredState) -> None:
        try:
            catalog.set_desired_state(self.db, camera_id, state)
        except (catalog.NotFound, DatabaseUnavailable, SQLAlchemyError) as exc:
            self._emit_log("error", str(exc), camera_id)
            return
        self.refresh()

    def _set_all(self, state: DesiredState) -> None:
        try:
            catalog.set_all_desired_state(self.db, state)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            self._emit_log("error", str(exc))
            return
        self.refresh()

    def _emit_log(self, level: str, text: str, camera_id: int | None = None) -> None:
        text = mask_secrets(text)
        log.log(getattr(logging, level.upper(), logging.INFO), "%s", text)
        self.log_line.emit(LogLine(time.time(), level, camera_id, text))

