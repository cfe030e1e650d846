"""The engine: one QObject, in its own QThread, that orchestrates recorders, finalizing and uploads.

Shells (desktop console, headless runner) talk to it only through queued signals and slots carrying
plain data (status.py). What each camera should be doing lives in the database (enabled, desired_state);
the engine reconciles toward it every 2 s, so a change made by another process takes effect within 5 s.

Each concern has a module of its own: camera_reconcile (which recorders run), recording.recorder_config
(their settings), recording.finalize_dispatch (rows, room sound pairing, the finalizer pool), live_publisher (live
state in the database), upload.uploader (the upload queue's workers), disk_guard (free space for the
recorders: deletes verified copies, restarts cameras a full disk stopped), fleet.engine_link (this node's part
among the nodes sharing the database: it records only the cameras it holds a lease on, hands them over at
a segment boundary, and keeps recording what it holds while the database is unreachable).

Thread map:
- engine thread: every slot, the tick timer, all Recorder objects (QProcess is asynchronous).
- finalizer worker threads (a small pool): probe + remux of finished segments, their own DB sessions;
  results come back to the engine thread through a queued signal (FinalizingDispatch.job_done).
- the disk guard's worker thread: deletes verified copies when space runs short, answers through a queued signal.
- the fleet member's thread: leases and heartbeat; its orders come back queued (FleetLink.changed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from sqlalchemy.exc import SQLAlchemyError

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.config.holder import SettingsChange, SettingsHolder
from nvr_console.core.db.models import DesiredState, RecordingStatus
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.engine.camera_reconcile import CameraReconciler, CatalogWatch, RecorderSet
from nvr_console.core.engine.camera_removal import CameraRemovals
from nvr_console.core.engine.disk_guard import DiskGuard
from nvr_console.core.engine.stop_sequence import StopSequence
from nvr_console.core.events.actor import actor_name
from nvr_console.core.fleet.engine_link import FleetLink
from nvr_console.core.fleet.local_cache import cache_dir
from nvr_console.core.lectures.recording_windows import LectureWindows
from nvr_console.core.live_state.publisher import LiveStatusPublisher
from nvr_console.core.recording.finalize_dispatch import FinalizingDispatch
from nvr_console.core.recording.recorder import Recorder
from nvr_console.core.recording.recorder_config import RecorderSetup
from nvr_console.core.recording.recovery import reap
from nvr_console.core.schedule.boundaries import now_in
from nvr_console.core.status import CameraStatus, DiskStatus, LogLine, QueueStatus, RecordingEvent
from nvr_console.core.text.masking import mask_secrets
from nvr_console.core.upload.upload_service import UploadService

log = logging.getLogger(__name__)

TICK_MS = 1000
DROP_SOUND_EVERY = 30  # ticks


class Engine(QObject):
    """Owns recorders, scheduling and finalizing. Construct anywhere; use only from its own thread."""

    camera_status = Signal(object)  # CameraStatus
    camera_removed = Signal(int)  # camera id
    recording_finished = Signal(object)  # RecordingEvent (ready or failed)
    recording_ready = Signal(int)  # recording id with status ready: the uploader listens
    upload_progress = Signal(object)  # UploadProgress (re-emitted from the uploader)
    queue_status = Signal(object)  # QueueStatus
    disk_status = Signal(object)  # DiskStatus of the recordings disk
    log_line = Signal(object)  # LogLine
    started = Signal()
    stopped = Signal()
    removes_cameras = True  # core.engine_api.EngineApi

    def __init__(self, settings: Settings, db: Database, parent: QObject | None = None,
                 quit_timeout_s: float = 5.0, terminate_timeout_s: float = 5.0, uploads: bool = True) -> None:
        super().__init__(parent)
        # The current settings: each part below subscribes to the sections it uses (config/holder.py).
        self.holder = SettingsHolder(settings, self)
        self.holder.changed.connect(self._on_settings_changed)
        self.db = db
        self._setup = RecorderSetup(quit_timeout_s, terminate_timeout_s)
        self._recorders = RecorderSet(self, self._wire)
        self._reconciler = CameraReconciler(self._recorders, self._on_status)
        self._catalog = CatalogWatch()
        self._lecture_windows = LectureWindows(db, settings)
        self._fleet = FleetLink(settings, self, on_unreachable=db.breaker.failed if db.breaker else None)
        self._fleet.changed.connect(self._on_orders)
        self._finalizing = FinalizingDispatch(db, self._recorders.sound_state, self._emit_log, self,
                                              node=settings.node.name, token_for=self._fleet.token)
        self._finalizing.job_done.connect(self._on_job_done)
        self._live = LiveStatusPublisher(db, node=settings.node.name, tokens=self._fleet.tokens)
        self._disk = DiskGuard(db, self._recorders, self._emit_log, self, node=settings.node.name)
        self._started_at = time.time()
        self._fleet_error = ""
        self._removals = CameraRemovals(db)
        self._timer: QTimer | None = None
        self._ticks = 0
        self._running = False
        self._db_error_logged = 0.0
        self._uploads = UploadService(db, self, enabled=uploads)
        self._uploads.upload_progress.connect(self.upload_progress)
        self._uploads.upload_progress.connect(self._disk.upload_progress)
        self._disk.space.connect(self.disk_status)
        self._uploads.queue_status.connect(self.queue_status)
        # This node's figures in the fleet's node rows (`nodes list`, the Nodes tab), sent with each heartbeat.
        self._node_free: int | None = None
        self._node_queue = QueueStatus(0, 0, 0.0)
        self._disk.space.connect(self._on_disk_space)
        self._uploads.queue_status.connect(self._on_queue_status)
        self._uploads.queue_status.connect(self._live.queue_changed)
        self._uploads.warning.connect(lambda text: self._emit_log("warning", text))
        self._stop = StopSequence(self._fleet, self._recorders, self._finalizing, self._disk, self._uploads,
                                  self._live, self._emit_log)

    @property
    def settings(self) -> Settings:
        return self.holder.current

    @property
    def _root(self) -> Path:
        return Path(self.settings.recording.dir)

    # --- slots (engine thread) ------------------------------------------------------------------

    @Slot()
    def start(self) -> None:
        """Recover crash leftovers, load cameras, start recorders, begin polling the DB. Engine thread."""
        if self._running:
            return
        self._running = True
        self._follow_settings()
        self._finalizing.start()
        self._disk.start()
        try:
            self._root.mkdir(parents=True, exist_ok=True)
            reap(self._root)  # FFmpeg a previous engine of this machine left running, before any of ours starts
        except OSError as exc:
            self._emit_log("error", f"start-up recovery failed: {mask_secrets(str(exc))}")
        self._reconciler.memory.load(cache_dir(self._root))  # recorded from while the database is down
        self._fleet.start()  # its first orders (the cameras this node holds) come back through _on_orders
        self._uploads.follow(self.holder, self._report_problem)
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._reconcile()
        self._emit_log("info", f"engine started; recordings in {self._root}")
        self.started.emit()

    @Slot()
    def shutdown(self) -> None:
        """Hand this node's cameras over to other nodes (when there are any), stop every recorder cleanly,
        finalize finished files, then emit `stopped` (stop_sequence.py). Engine thread."""
        was_stopping = self._stop.stopping
        self._stop.request(self._running, self.settings.node.handover_wait)
        if not self._running and not was_stopping:
            self.stopped.emit()  # never started
        self._check_shutdown_done()

    @Slot(object)
    def _on_disk_space(self, disk: DiskStatus) -> None:
        """The disk guard's latest figure, for this node's row. Engine thread."""
        self._node_free = disk.free
        self._fleet.member.set_stats(self._node_free, self._node_queue.files, self._node_queue.bytes)

    @Slot(object)
    def _on_queue_status(self, queue: QueueStatus) -> None:
        """This node's upload queue, for its row. Engine thread."""
        self._node_queue = queue
        self._fleet.member.set_stats(self._node_free, queue.files, queue.bytes)

    @Slot(object)
    def apply_settings(self, settings: Settings) -> None:
        """New settings from the console: each part that uses a changed section takes them (recorders whose
        FFmpeg options changed restart: a cut, no loss of data beyond one reconnect; the uploader restarts with
        a new destination; the fleet member cuts handovers on the new segment grid). Engine thread."""
        self.holder.apply(settings)

    @Slot()
    def account_changed(self) -> None:
        """Operator: signed in to (or out of) Google; uploads start again with the account. Engine thread."""
        if self._running and not self._stop.stopping:
            self._report_problem(self._uploads.start(self.settings))

    def _follow_settings(self) -> None:
        """Subscribe the parts to the settings they use, in the order they depend on each other (the finalizer
        uses the FFmpeg the recorder setup found). Engine thread, at the first start."""
        if self._recorders.config is not None:
            return  # subscribed at an earlier start
        self.holder.subscribe(("recording", "log"), self._recorder_settings, now=True)
        self._finalizing.follow(self.holder, lambda: self._setup.tools)
        self._disk.follow(self.holder)
        self._fleet.follow(self.holder)

    def _recorder_settings(self, settings: Settings) -> None:
        """FFmpeg and the recorders' configuration; recorders whose configuration changed restart."""
        old = self._recorders.config
        self._report_problem(self._setup.update(settings))  # every camera then fails with the same sentence
        self._recorders.config = self._setup.config
        if old is not None and self._recorders.config != old:
            self._recorders.retire_all()

    def _on_settings_changed(self, change: SettingsChange) -> None:
        if self._running:
            self._emit_log("info", f"settings applied: {', '.join(sorted(change.keys))}")
            self._reconcile()

    def _report_problem(self, problem: str) -> None:
        if problem:
            self._emit_log("error", problem)

    @Slot(int)
    def retry_upload(self, recording_id: int) -> None:
        """Operator: upload this recording again now. Engine thread."""
        self._uploads.retry(recording_id)

    @Slot()
    def resume_uploads(self) -> None:
        """Operator: un-pause the upload queue after fixing its cause. Engine thread."""
        self._uploads.resume()

    @Slot(int)
    def start_camera(self, camera_id: int) -> None:
        """Operator: record this camera (persisted, so every console sees it). Engine thread."""
        self._desire(DesiredState.RECORDING, camera_id)
        rec = self._recorders.active.get(f"camera:{camera_id}")
        if rec is not None:
            rec.retry_now()  # a failing camera: the operator fixed something, do not wait out the backoff

    @Slot(int)
    def stop_camera(self, camera_id: int) -> None:
        """Operator: stop this camera (persisted). Engine thread."""
        self._desire(DesiredState.STOPPED, camera_id)

    @Slot(int)
    def remove_camera(self, camera_id: int) -> None:
        """Operator: remove this camera. Its recorder stops and its last segment is finalized, then its row is
        deleted (its recordings stay) and `camera_removed` follows. Engine thread."""
        if self._removals.request(camera_id):
            self._reconcile()
            self._finish_removals()

    @Slot()
    def start_all(self) -> None:
        """Operator: record every enabled camera. Engine thread."""
        self._desire(DesiredState.RECORDING)

    @Slot()
    def stop_all(self) -> None:
        """Operator: stop every camera. Engine thread."""
        self._desire(DesiredState.STOPPED)

    @Slot()
    def reload(self) -> None:
        """Re-read cameras and rooms now instead of at the next poll. Engine thread."""
        self._reconcile()

    @Slot()
    def request_status(self) -> None:
        """Emit a CameraStatus for every camera in the database, with or without a recorder (for a console that
        just connected: none shows "waiting for engine"). Engine thread."""
        try:
            cams = catalog.list_cameras(self.db)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            self._emit_log("warning", f"camera list unavailable ({mask_secrets(str(exc))}); "
                           "status sent for running cameras only")
            cams = None  # the database is down: at least the cameras this engine runs
        starting_soon = self._running and not self._stop.stopping
        for status in self._reconciler.statuses(cams, self._window(), starting_soon, self._live.latest):
            self._live.record(status)
            self.camera_status.emit(status)

    def _desire(self, state: DesiredState, camera_id: int | None = None) -> None:
        """Persist what the operator wants (every console sees it), then reconcile toward it."""
        try:  # only the console sends the engine operator commands; they are stored with who gave them
            if camera_id is None:
                catalog.set_all_desired_state(self.db, state, actor=actor_name("console"))
            else:
                catalog.set_desired_state(self.db, camera_id, state, actor=actor_name("console"))
        except catalog.NotFound as exc:
            self._emit_log("info", str(exc), camera_id)  # removed by another console: the reconcile says so
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            self._emit_log("error", str(exc), camera_id)
            return
        self._reconcile()

    # --- the loop -----------------------------------------------------------------------------------

    def _tick(self) -> None:
        self._ticks += 1
        for rec in self._recorders.all():
            rec.poll()
        self._finalizing.tick()
        if self._stop.stopping:
            self._check_shutdown_done()
            return
        self._fleet.tick(self._recorders.running_camera_ids())
        if self._stop.handover_over():
            self._check_shutdown_done()
            return
        if self._catalog.due(self._ticks, self.db, (self._in_window(), self._lecture_windows.closed_rooms())):
            self._reconcile()
        self._finish_removals()
        self._disk.tick()
        self._live.tick(self._ticks)
        if self._ticks % DROP_SOUND_EVERY == 0:
            self._finalizing.drop_old_sound()

    def _in_window(self) -> bool:
        rec = self.settings.recording
        return rec.window.contains(now_in(rec.zone()))

    def _window(self) -> Callable[[int], bool]:
        """Per room: inside the recording window, and (for a room recording by timetable) around a lecture."""
        inside, closed = self._in_window(), self._lecture_windows.closed_rooms()
        return lambda room_id: inside and room_id not in closed

    def _reconcile(self) -> None:
        """Bring recorders in line with the database, this node's leases and the recording window. Engine
        thread."""
        if not self._running or self._stop.stopping or self._recorders.config is None or not self._fleet.ready:
            return  # (before the fleet's first orders every camera would look stopped for a moment)
        try:
            removed = self._reconciler.reconcile(self.db, self._root, self._window(), self._removals.leaving,
                                                 self._fleet.records)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:  # the database being down never stops recording
            removed = []
            if time.time() - self._db_error_logged > 60:
                self._db_error_logged = time.time()
                self._emit_log("error", f"{mask_secrets(str(exc))}; recorders keep running")
        self._finalizing.rooms_with_sound = set(self._reconciler.rooms_with_sound)
        for spec in removed:  # by another console or the CLI; a removal through this engine announces itself
            if spec.camera_id is not None and spec.camera_id not in self._removals.leaving:
                self._emit_log("info", f"camera {spec.room}/{spec.name} was removed", spec.camera_id)
                self._announce_removed(spec.camera_id)

    @Slot()
    def _on_orders(self) -> None:
        """The fleet's orders changed (or an order's time came). Engine thread."""
        holdings = self._fleet.holdings
        if holdings.error and holdings.error != self._fleet_error:
            self._emit_log("error", f"{holdings.error}; this node records nothing until then")
        self._fleet_error = holdings.error
        if holdings.db_ok and self._running and not self._stop.stopping:  # registered: recovery may run now
            self._finalizing.recover_late(self._root, self._started_at)
        self._reconcile()

    def _finish_removals(self) -> None:
        for done in self._removals.finish(self._camera_busy):
            self._emit_log("info", f"camera {done.name} removed; its recordings stay", done.camera_id)
            self._announce_removed(done.camera_id)

    def _camera_busy(self, camera_id: int) -> bool:
        return self._recorders.holds(f"camera:{camera_id}") or self._finalizing.busy_with(camera_id)

    def _announce_removed(self, camera_id: int) -> None:
        self._live.forget(camera_id)
        self._fleet.camera_removed(camera_id)
        self.camera_removed.emit(camera_id)

    def _wire(self, rec: Recorder) -> None:
        rec.status_changed.connect(self._on_status)
        rec.segment_started.connect(self._finalizing.segment_started)
        rec.segment_started.connect(self._on_segment_opened)
        rec.segment_finished.connect(self._disk.segment_finished)  # first: it reads the raw file's size
        rec.segment_finished.connect(self._finalizing.segment_finished)
        rec.out_of_space.connect(self._disk.out_of_space)
        rec.log_line.connect(self.log_line)
        rec.stopped.connect(self._on_recorder_stopped)

    def _on_recorder_stopped(self, key: str) -> None:
        if self._recorders.stopped(key) and not self._stop.stopping:
            self._reconcile()  # start its successor now
        self._work_done()

    def _work_done(self) -> None:
        """A recorder stopped or a file was finalized: the shutdown or a removal may be complete."""
        if self._stop.stopping:
            self._check_shutdown_done()
        else:
            self._finish_removals()

    def _on_segment_opened(self, item: tuple[object, Path]) -> None:
        """A recorder opened a segment: if it is the cut a handover waits for, this node stops it now."""
        spec, raw = item
        if self._fleet.segment_opened(getattr(spec, "camera_id", None), raw):
            self._reconcile()

    def _on_status(self, status: CameraStatus) -> None:
        self._fleet.camera_state(status.camera_id, status.state)
        shown = self._reconciler.decorate(status)
        if shown is not None:
            self._live.record(shown)
            self.camera_status.emit(shown)

    def _on_job_done(self, event: RecordingEvent) -> None:
        self.recording_finished.emit(event)
        if event.status == RecordingStatus.READY:
            self.recording_ready.emit(event.recording_id)
            self._uploads.wake()
        else:
            self._emit_log("warning", f"{event.room}/{event.camera}: {event.path} {event.status}: {event.notes}",
                           event.camera_id)
        self._work_done()

    # --- shutdown -------------------------------------------------------------------------------------

    def _check_shutdown_done(self) -> None:
        if not self._stop.stopping or not self._running or not self._stop.finish():
            return
        self._running = False
        if self._timer is not None:
            # Before the thread quits: a QTimer still emitting from a finished QThread makes PySide6 6.12 abort
            # at interpreter exit (bool_dealloc, exit 134).
            self._timer.stop()
        self._finish_removals()  # a removal asked for just before the stop still completes
        self._live.all_stopped()
        self._emit_log("info", "engine stopped")
        self.stopped.emit()

    def _emit_log(self, level: str, text: str, camera_id: int | None = None) -> None:
        text = mask_secrets(text)
        log.log(getattr(logging, level.upper(), logging.INFO), "%s", text)
        self.log_line.emit(LogLine(time.time(), level, camera_id, text))
