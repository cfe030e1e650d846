"""The engine: one QObject, in its own QThread, that owns every recorder, the scheduler and the finalizer.

Shells (desktop console, headless runner) talk to it only through queued signals and slots carrying
plain data (status.py). What each camera should be doing lives in the database (enabled, desired_state);
the engine reconciles toward it every 2 s, so a change made by another process takes effect within 5 s.

Thread map:
- engine thread: every slot, the tick timer, all Recorder objects (QProcess is asynchronous).
- finalizer worker threads (a small pool): probe + remux of finished segments, their own DB sessions;
  results come back to the engine thread through the queued `_job_done` signal.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from nvr_console.core import catalog, live_status
from nvr_console.core.config import Settings
from nvr_console.core.db.models import Camera, DesiredState, RecordingStatus, Room
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.masking import mask_secrets
from nvr_console.core.recording import lifecycle
from nvr_console.core.recording.ffmpeg_locate import FFmpegNotFound, Tools, locate_tools
from nvr_console.core.recording.finalizer import FinalizeJob, SoundPiece, finalize
from nvr_console.core.recording.lifecycle import register_segment
from nvr_console.core.recording.recorder import Recorder, RecorderConfig, RecorderSpec
from nvr_console.core.recording.recovery import plan_recovery
from nvr_console.core.recording.segments import (
    FinishedSegment,
    camera_dir,
    raw_name_time,
    raw_segments,
    run_dir,
    sound_dir,
)
from nvr_console.core.schedule.boundaries import now_in, slot_of_epoch
from nvr_console.core.status import CameraState, CameraStatus, LogLine, QueueStatus, RecordingEvent
from nvr_console.core.upload.uploader import Uploader

log = logging.getLogger(__name__)

TICK_MS = 1000
RECONCILE_EVERY = 2  # ticks
FULL_RECONCILE_EVERY = 30  # ticks: the full read even when the cheap fingerprint says nothing changed
SOUND_WAIT_S = 10.0  # how long a finished camera segment waits for its room's sound segment
SHUTDOWN_LIMIT_S = 25.0  # then remaining FFmpeg are killed; recovery finishes their files next start
FINALIZE_WORKERS = 2
# Ticks: live state written to the database for `nvr-console status` and other consoles (stale after 60 s),
# and at once when a camera's state changes. Every 5 s it cost ~23 ms per write for 8 cameras, over half of
# the engine's steady CPU (bench/rotation.py); sizes and rates 15 s old are fine for that view.
LIVE_STATUS_EVERY = 15


@dataclass
class _Pending:
    """A finished camera segment waiting (briefly) for the room's sound segment of the same time."""

    segment: FinishedSegment
    recording_id: int
    deadline: float


class Engine(QObject):
    """Owns recorders, scheduling and finalizing. Construct anywhere; use only from its own thread."""

    camera_status = Signal(object)  # CameraStatus
    camera_removed = Signal(int)  # camera id
    recording_finished = Signal(object)  # RecordingEvent (ready or failed)
    recording_ready = Signal(int)  # recording id with status ready: the uploader listens
    upload_progress = Signal(object)  # UploadProgress (re-emitted from the uploader)
    queue_status = Signal(object)  # QueueStatus
    log_line = Signal(object)  # LogLine
    started = Signal()
    stopped = Signal()
    _job_done = Signal(object)  # internal: RecordingEvent from a finalizer worker thread

    def __init__(self, settings: Settings, db: Database, parent: QObject | None = None,
                 quit_timeout_s: float = 5.0, terminate_timeout_s: float = 5.0, uploads: bool = True) -> None:
        super().__init__(parent)
        self.settings = settings
        self.db = db
        self._rec = settings.recording
        self._zone = self._rec.zone()
        self._root = Path(self._rec.dir)
        self._quit_timeout_s = quit_timeout_s
        self._terminate_timeout_s = terminate_timeout_s
        self._tools: Tools | None = None
        self._cfg: RecorderConfig | None = None
        self._recorders: dict[str, Recorder] = {}
        self._retiring: dict[str, Recorder] = {}
        self._last_exit: dict[str, float] = {}
        self._idle_state: dict[int, CameraState] = {}
        self._enabled: dict[int, bool] = {}
        self._room_has_sound: dict[str, bool] = {}
        self._rows: dict[Path, int] = {}
        self._sound: dict[str, list[SoundPiece]] = {}
        self._pending: list[_Pending] = []
        self._in_flight: dict[int, FinalizeJob] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._timer: QTimer | None = None
        self._ticks = 0
        self._catalog_key: tuple[object, ...] | None = None
        self._live_key: tuple[object, ...] = ()
        self._started_at = time.time()
        self._queue: QueueStatus | None = None  # the uploader's latest word, persisted for `status`
        self._running = False
        self._shutting_down = False
        self._shutdown_started = 0.0
        self._db_error_logged = 0.0
        self._latest: dict[int, CameraStatus] = {}
        self._with_uploads = uploads
        self._uploader: Uploader | None = None
        self._job_done.connect(self._on_job_done)

    # --- slots (engine thread) ------------------------------------------------------------------

    @Slot()
    def start(self) -> None:
        """Recover crash leftovers, load cameras, start recorders, begin polling the DB. Engine thread."""
        if self._running:
            return
        self._running = True
        try:
            self._tools = locate_tools(self._rec.ffmpeg)
            ffmpeg = str(self._tools.ffmpeg)
        except FFmpegNotFound as exc:
            self._emit_log("error", str(exc))
            ffmpeg = str(self._rec.ffmpeg or "ffmpeg")  # recorders then fail with a clear FAILED state
        self._cfg = RecorderConfig(
            ffmpeg=ffmpeg, segment_seconds=max(1, round(self._rec.segment_length)), timezone=self._rec.timezone,
            stall_timeout_s=self._rec.stall_timeout, socket_timeout_s=self._rec.socket_timeout,
            run_dir=run_dir(self._root), log_dir=self.settings.log.dir,
            quit_timeout_s=self._quit_timeout_s, terminate_timeout_s=self._terminate_timeout_s,
        )
        self._executor = ThreadPoolExecutor(max_workers=FINALIZE_WORKERS, thread_name_prefix="nvr-finalize")
        try:
            self._root.mkdir(parents=True, exist_ok=True)
            if self._tools is not None:
                for job in plan_recovery(self.db, self._root, self._rec.segment_length, self._zone):
                    self._submit(job)
                self._adopt_leftover_sound()
        except (OSError, DatabaseUnavailable, SQLAlchemyError) as exc:
            self._emit_log("error", f"start-up recovery failed: {mask_secrets(str(exc))}")
        if self._with_uploads:
            self._start_uploader()
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._reconcile()
        self._emit_log("info", f"engine started; recordings in {self._root}")
        self.started.emit()

    @Slot()
    def shutdown(self) -> None:
        """Stop every recorder cleanly, finalize finished files, then emit `stopped`. Engine thread."""
        if self._shutting_down:
            return
        self._shutting_down = True
        self._shutdown_started = time.time()
        if not self._running:
            self.stopped.emit()
            return
        self._emit_log("info", "stopping all recorders")
        for rec in list(self._recorders.values()) + list(self._retiring.values()):
            if rec.running or rec.wanted:
                rec.stop()
        self._check_shutdown_done()

    @Slot(object)
    def apply_settings(self, settings: Settings) -> None:
        """New settings from the console: recorders whose FFmpeg options changed restart (a cut, no loss of
        data beyond one reconnect), the uploader restarts with the new destination. Engine thread."""
        old_cfg = self._cfg
        self.settings = settings
        self._rec = settings.recording
        self._zone = self._rec.zone()
        self._root = Path(self._rec.dir)
        if not self._running or old_cfg is None:
            return
        try:
            self._tools = locate_tools(self._rec.ffmpeg)
        except FFmpegNotFound as exc:
            self._emit_log("error", str(exc))
        self._cfg = replace(
            old_cfg, ffmpeg=str(self._tools.ffmpeg) if self._tools else old_cfg.ffmpeg,
            segment_seconds=max(1, round(self._rec.segment_length)), timezone=self._rec.timezone,
            stall_timeout_s=self._rec.stall_timeout, socket_timeout_s=self._rec.socket_timeout,
            run_dir=run_dir(self._root), log_dir=settings.log.dir,
        )
        if self._cfg != old_cfg:
            for key, rec in list(self._recorders.items()):
                self._recorders.pop(key)
                self._retire(rec)
        if self._uploader is not None:
            self._uploader.stop(timeout_s=10)
            self._uploader = None
        if self._with_uploads:
            self._start_uploader()
        self._emit_log("info", "settings applied")
        self._reconcile()

    @Slot(int)
    def retry_upload(self, recording_id: int) -> None:
        """Operator: upload this recording again now. Engine thread."""
        if self._uploader is not None:
            self._uploader.retry(recording_id)

    @Slot()
    def resume_uploads(self) -> None:
        """Operator: un-pause the upload queue after fixing its cause. Engine thread."""
        if self._uploader is not None:
            self._uploader.resume()

    def _start_uploader(self) -> None:
        """The upload queue is drained by the Uploader's own threads; it lives in this (engine) thread."""
        try:
            self._uploader = Uploader(self.settings, self.db, self)
            self._uploader.upload_progress.connect(self.upload_progress)
            self._uploader.queue_status.connect(self.queue_status)
            self._uploader.queue_status.connect(self._on_queue_status)
            self._uploader.warning.connect(lambda text: self._emit_log("warning", text))
            self._uploader.start()
        except Exception as exc:  # uploads failing to start never stop recording
            log.exception("uploader did not start")
            self._uploader = None
            self._emit_log("error", f"uploads are not running: {mask_secrets(str(exc))}")

    @Slot(int)
    def start_camera(self, camera_id: int) -> None:
        """Operator: record this camera (persisted, so every console sees it). Engine thread."""
        self._set_desired(camera_id, DesiredState.RECORDING)
        rec = self._recorders.get(f"camera:{camera_id}")
        if rec is not None:
            rec.retry_now()  # a failing camera: the operator fixed something, do not wait out the backoff

    @Slot(int)
    def stop_camera(self, camera_id: int) -> None:
        """Operator: stop this camera (persisted). Engine thread."""
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
        """Re-read cameras and rooms now instead of at the next poll. Engine thread."""
        self._reconcile()

    @Slot()
    def request_status(self) -> None:
        """Emit a CameraStatus for every camera in the database (for a console that just connected). Engine thread.

        Cameras without a live recorder (stopped, scheduled, just added, or whose old recorder is still
        finishing after an edit) get their idle state, so a late console never shows "waiting for engine".
        """
        try:
            cams = catalog.list_cameras(self.db)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            # The database is down: at least the cameras this engine runs.
            self._emit_log("warning", f"camera list unavailable ({mask_secrets(str(exc))}); "
                           "status sent for running cameras only")
            for rec in list(self._recorders.values()):
                if not rec.spec.sound_only:
                    self._on_status(rec.status())
            return
        in_window = self._rec.window.contains(now_in(self._zone))
        for cam in cams:
            key = f"camera:{cam.id}"
            rec = self._recorders.get(key)
            if rec is not None:
                self._on_status(rec.status())
                continue
            want = cam.enabled and cam.desired_state == DesiredState.RECORDING.value
            if key in self._retiring:
                state = CameraState.STOPPING  # edited: the old recorder finishes its file, then the new one starts
            elif want and in_window and self._running and not self._shutting_down:
                state = CameraState.STARTING  # added since the last reconcile: starts at the next one (<= 2 s)
            elif want and not in_window:
                state = CameraState.SCHEDULED
            else:
                state = CameraState.STOPPED
            previous = self._latest.get(cam.id)
            since = previous.since if previous is not None and previous.state is state else time.time()
            status = CameraStatus(cam.id, cam.room, cam.name, state, since, enabled=cam.enabled)
            self._latest[cam.id] = status
            self.camera_status.emit(status)

    # --- desired state ------------------------------------------------------------------------------

    def _set_desired(self, camera_id: int, state: DesiredState) -> None:
        try:
            catalog.set_desired_state(self.db, camera_id, state)
        except (catalog.NotFound, DatabaseUnavailable, SQLAlchemyError) as exc:
            self._emit_log("error", str(exc), camera_id)
            return
        self._reconcile()

    def _set_all(self, state: DesiredState) -> None:
        try:
            catalog.set_all_desired_state(self.db, state)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            self._emit_log("error", str(exc))
            return
        self._reconcile()

    # --- the loop -----------------------------------------------------------------------------------

    def _tick(self) -> None:
        self._ticks += 1
        for rec in list(self._recorders.values()) + list(self._retiring.values()):
            rec.poll()
        self._resolve_pending()
        if self._shutting_down:
            self._check_shutdown_done()
            return
        if self._ticks % RECONCILE_EVERY == 0 and (self._ticks % FULL_RECONCILE_EVERY == 0 or self._catalog_changed()):
            self._reconcile()
        live_key = tuple((cid, st.state) for cid, st in self._latest.items())
        if self._ticks % LIVE_STATUS_EVERY == 0 or live_key != self._live_key:
            self._live_key = live_key
            self._write_live_status()
        if self._ticks % 30 == 0:
            self._drop_old_sound()

    def _catalog_changed(self) -> bool:
        """Whether rooms/cameras (or the recording window) may have changed since the last look.

        The full reconcile reads every camera and room through the ORM: ~8 ms per poll with 8 cameras,
        a third of the engine's steady CPU (bench/rotation.py). Every row's id and updated_at (every edit sets
        it; adds and deletes change the ids) without the ORM notice the same changes at a fraction of that, even
        when another machine's clock is behind (a max(updated_at) would miss its edits).
        """
        try:
            with self.db.engine.connect() as conn:
                rows = conn.execute(select(Camera.id, Camera.updated_at).union_all(
                    select(-Room.id, Room.updated_at))).all()
        except SQLAlchemyError:
            return True  # let _reconcile meet the error and report it
        key = (frozenset(rows), self._rec.window.contains(now_in(self._zone)))
        changed = key != self._catalog_key
        self._catalog_key = key
        return changed

    def _reconcile(self) -> None:
        """Bring recorders in line with the database and the recording window. Engine thread."""
        if not self._running or self._shutting_down or self._cfg is None:
            return
        try:
            cams = catalog.list_cameras(self.db)
            rooms = catalog.list_rooms(self.db)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            # The database being down never stops recording: keep what runs, retry at the next poll.
            if time.time() - self._db_error_logged > 60:
                self._db_error_logged = time.time()
                self._emit_log("error", f"{mask_secrets(str(exc))}; recorders keep running")
            return
        in_window = self._rec.window.contains(now_in(self._zone))
        seen: set[str] = set()
        recording_rooms: set[int] = set()
        for cam in cams:
            key = f"camera:{cam.id}"
            seen.add(key)
            self._enabled[cam.id] = cam.enabled
            spec = RecorderSpec(key, cam.id, cam.room_id, cam.room, cam.name, cam.stream_url, cam.rtsp_transport,
                                camera_dir(self._root, cam.room, cam.name))
            want = cam.enabled and cam.desired_state == DesiredState.RECORDING.value
            self._idle_state[cam.id] = CameraState.SCHEDULED if want and not in_window else CameraState.STOPPED
            rec = self._recorder_for(spec)
            if rec is None:
                continue  # the previous recorder for this camera is still stopping
            if want and in_window:
                recording_rooms.add(cam.room_id)
                rec.start()
            elif rec.wanted or rec.running:
                rec.stop()
            else:
                self._on_status(rec.status())
        self._room_has_sound = {r.name: bool(r.sound_source_url) for r in rooms}
        for room in rooms:
            key = f"sound:{room.id}"
            if not room.sound_source_url:
                continue
            seen.add(key)
            spec = RecorderSpec(key, None, room.id, room.name, "sound source", room.sound_source_url, "tcp",
                                sound_dir(self._root, room.name), sound_only=True)
            rec = self._recorder_for(spec)
            if rec is None:
                continue
            if room.id in recording_rooms:
                rec.start()
            elif rec.wanted or rec.running:
                rec.stop()
        for key in [k for k in self._recorders if k not in seen]:
            rec = self._recorders.pop(key)
            self._retire(rec)
            if rec.spec.camera_id is not None:
                self._idle_state.pop(rec.spec.camera_id, None)
                self._emit_log("info", f"camera {rec.spec.room}/{rec.spec.name} was removed", rec.spec.camera_id)
                self._latest.pop(rec.spec.camera_id, None)
                self.camera_removed.emit(rec.spec.camera_id)

    def _recorder_for(self, spec: RecorderSpec) -> Recorder | None:
        rec = self._recorders.get(spec.key)
        if rec is not None and rec.spec != spec:
            # URL, name or room changed: stop the old recorder, start a new one once it is gone.
            self._recorders.pop(spec.key)
            self._retire(rec)
            rec = None
        if spec.key in self._retiring:
            return None
        if rec is None:
            assert self._cfg is not None
            rec = Recorder(spec, self._cfg, self)
            rec._last_exit = self._last_exit.get(spec.key, 0.0)
            rec.status_changed.connect(self._on_status)
            rec.segment_started.connect(self._on_segment_started)
            rec.segment_finished.connect(self._on_segment_finished)
            rec.log_line.connect(self.log_line)
            rec.stopped.connect(self._on_recorder_stopped)
            self._recorders[spec.key] = rec
        return rec

    def _retire(self, rec: Recorder) -> None:
        if rec.running:
            self._retiring[rec.spec.key] = rec
            rec.stop()
        else:
            rec.stop()
            self._forget(rec)

    def _forget(self, rec: Recorder) -> None:
        self._last_exit[rec.spec.key] = rec._last_exit
        rec.dispose()
        rec.deleteLater()

    def _on_recorder_stopped(self, key: str) -> None:
        rec = self._retiring.pop(key, None)
        if rec is not None:
            self._forget(rec)
            if not self._shutting_down:
                self._reconcile()  # start its successor now
        if self._shutting_down:
            self._check_shutdown_done()

    def _on_status(self, status: CameraStatus) -> None:
        key = f"camera:{status.camera_id}"
        rec = self._recorders.get(key)
        if rec is None or rec.spec.sound_only:
            return
        if status.state is CameraState.STOPPED and not rec.running:
            status = replace(status, state=self._idle_state.get(status.camera_id, CameraState.STOPPED))
        status = replace(status, enabled=self._enabled.get(status.camera_id, True))
        self._latest[status.camera_id] = status
        self.camera_status.emit(status)

    @Slot(object)
    def _on_queue_status(self, queue: QueueStatus) -> None:
        """Keep the queue's latest state; a pause or resume reaches the database at once. Engine thread."""
        changed = self._queue is None or self._queue.paused != queue.paused or self._queue.reason != queue.reason
        self._queue = queue
        if changed:
            self._write_engine_status()  # the cameras' rows did not change with it

    def _write_live_status(self) -> None:
        try:
            live_status.write_statuses(self.db, list(self._latest.values()))
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            log.debug("live status not written: %s", exc)
        self._write_engine_status()

    def _write_engine_status(self) -> None:
        try:
            live_status.write_engine_status(self.db, self._started_at, None if self._shutting_down else self._queue)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            log.debug("engine status not written: %s", exc)

    # --- segments -------------------------------------------------------------------------------------

    def _on_segment_started(self, item: tuple[RecorderSpec, Path]) -> None:
        spec, raw = item
        if spec.sound_only:
            return
        try:
            self._rows[raw] = register_segment(self.db, spec.camera_id, spec.room, spec.name, raw, self._slot(raw))
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            self._emit_log("error", f"cannot record {raw.name} in the database: {mask_secrets(str(exc))}",
                           spec.camera_id)

    def _slot(self, raw: Path, epoch: float | None = None) -> datetime:
        if epoch is None:
            named = raw_name_time(raw, self._zone)
            epoch = named.timestamp() if named else time.time()
        return slot_of_epoch(epoch, self._rec.segment_length, self._zone).astimezone(UTC)

    def _on_segment_finished(self, seg: FinishedSegment) -> None:
        if seg.source_key.startswith("sound:"):
            self._sound.setdefault(seg.room, []).append(SoundPiece(seg.raw_path, seg.wall_start, seg.wall_end))
            self._resolve_pending()
            return
        try:
            rid = self._rows.pop(seg.raw_path, None)
            if rid is None:
                rid = register_segment(self.db, seg.camera_id, seg.room, seg.name, seg.raw_path,
                                       self._slot(seg.raw_path))
            lifecycle.begin_finalizing(self.db, rid)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            self._emit_log("error", f"cannot finalize {seg.raw_path.name} now ({mask_secrets(str(exc))}); "
                           "it is recovered at the next start", seg.camera_id)
            return
        if self._room_has_sound.get(seg.room):
            self._pending.append(_Pending(seg, rid, time.time() + SOUND_WAIT_S))
            self._resolve_pending()
        else:
            self._submit(self._job(seg, rid, None, ""))

    def _job(self, seg: FinishedSegment, rid: int, sound: SoundPiece | None, note: str) -> FinalizeJob:
        return FinalizeJob(rid, seg.camera_id, seg.room, seg.name, seg.raw_path, seg.wall_start, seg.wall_end,
                           sound, note, streams=seg.streams)

    def _resolve_pending(self) -> None:
        """Pair finished camera segments with the room's sound segment covering them (by wall clock)."""
        now = time.time()
        still: list[_Pending] = []
        for p in self._pending:
            seg = p.segment
            best, covered = self._best_sound(seg)
            length = (seg.wall_end or 0) - (seg.wall_start or 0)
            sound_rec = next((r for r in self._recorders.values()
                              if r.spec.sound_only and r.spec.room == seg.room), None)
            sound_alive = sound_rec is not None and sound_rec.state in (CameraState.RECORDING, CameraState.STARTING,
                                                                       CameraState.STOPPING)
            if best is not None and (covered >= length - 0.5 or (best.wall_end or 0) >= (seg.wall_end or 0) - 0.5):
                self._submit(self._job(seg, p.recording_id, best, ""))
            elif not sound_alive or now >= p.deadline:
                if best is not None:
                    self._submit(self._job(seg, p.recording_id, best, ""))
                else:
                    why = "the sound source is not recording"
                    if sound_rec is not None and sound_rec.last_error:
                        why = f"the sound source is {sound_rec.state.value}: {sound_rec.last_error}"
                    elif sound_alive:
                        why = "no sound source file for this time"
                    self._submit(self._job(seg, p.recording_id, None, f"room audio missing: {why}"))
            else:
                still.append(p)
        self._pending = still
        if self._shutting_down:
            self._check_shutdown_done()

    def _best_sound(self, seg: FinishedSegment) -> tuple[SoundPiece | None, float]:
        if seg.wall_start is None or seg.wall_end is None:
            return None, 0.0
        best, best_overlap = None, 0.0
        for piece in self._sound.get(seg.room, []):
            if piece.wall_start is None:
                continue
            end = piece.wall_end if piece.wall_end is not None else piece.wall_start + self._rec.segment_length
            overlap = min(end, seg.wall_end) - max(piece.wall_start, seg.wall_start)
            if overlap > best_overlap:
                best, best_overlap = piece, overlap
        return best, best_overlap

    def _adopt_leftover_sound(self) -> None:
        """Sound segments a crash left behind: recovery jobs may use them; afterwards they age out."""
        for room_dir in (p for p in self._root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for raw in raw_segments(sound_dir(self._root, room_dir.name)):
                named = raw_name_time(raw, self._zone)
                start = named.timestamp() if named else None
                self._sound.setdefault(room_dir.name, []).append(SoundPiece(raw, start, None))

    def _drop_old_sound(self, everything: bool = False) -> None:
        """Delete sound segments no camera segment can still need."""
        horizon = time.time() - 2 * self._rec.segment_length - 30
        in_use = {j.sound.path for j in self._in_flight.values() if j.sound is not None}
        for room, pieces in self._sound.items():
            keep = []
            for piece in pieces:
                old = everything or (piece.wall_end or piece.wall_start or 0) < horizon
                if old and piece.path not in in_use and not self._pending:
                    piece.path.unlink(missing_ok=True)
                else:
                    keep.append(piece)
            self._sound[room] = keep

    # --- finalizing (worker threads) -------------------------------------------------------------------

    def _submit(self, job: FinalizeJob) -> None:
        if self._executor is None or self._tools is None:
            return
        self._in_flight[job.recording_id] = job
        self._executor.submit(self._run_job, job, self._tools)

    def _run_job(self, job: FinalizeJob, tools: Tools) -> None:
        """Worker thread: never raises (an exception here would be lost); the row stays for recovery."""
        try:
            event = finalize(job, tools, self.db, self._zone)
        except Exception as exc:  # database down, disk gone...: recovery retries at the next start
            log.exception("finalizing %s failed", job.raw)
            event = RecordingEvent(job.recording_id, job.camera_id, job.room, job.camera, str(job.final),
                                   RecordingStatus.FINALIZING.value, job.wall_start or 0.0, 0.0, 0,
                                   f"finalizing failed: {mask_secrets(str(exc))}")
        self._job_done.emit(event)

    def _on_job_done(self, event: RecordingEvent) -> None:
        self._in_flight.pop(event.recording_id, None)
        self.recording_finished.emit(event)
        if event.status == RecordingStatus.READY.value:
            self.recording_ready.emit(event.recording_id)
            if self._uploader is not None:
                self._uploader.wake()
        else:
            self._emit_log("warning", f"{event.room}/{event.camera}: {event.path} {event.status}: {event.notes}",
                           event.camera_id)
        if self._shutting_down:
            self._check_shutdown_done()

    # --- shutdown -------------------------------------------------------------------------------------

    def _check_shutdown_done(self) -> None:
        if not self._shutting_down or not self._running:
            return
        recs = list(self._recorders.values()) + list(self._retiring.values())
        busy = any(r.running for r in recs) or self._pending or self._in_flight
        overdue = time.time() - self._shutdown_started > SHUTDOWN_LIMIT_S
        if busy and not overdue:
            return
        if overdue and busy:
            self._emit_log("error", "shutdown took too long; unfinished files are recovered at the next start")
        self._running = False
        if self._timer is not None:
            # Before the thread quits: a QTimer still emitting from a finished QThread makes PySide6 6.12 abort
            # at interpreter exit (bool_dealloc, exit 134).
            self._timer.stop()
        for rec in recs:
            rec.dispose()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        if self._uploader is not None:
            # An upload cut short resumes from the offset saved in its row at the next start.
            self._uploader.stop(timeout_s=10)
        if not busy:
            self._drop_old_sound(everything=True)
        self._latest = {k: replace(v, state=CameraState.STOPPED, since=time.time(), current_file="", file_size=0,
                                   bitrate_kbps=0.0, fps=0.0) for k, v in self._latest.items()}
        self._write_live_status()
        self._emit_log("info", "engine stopped")
        self.stopped.emit()

    # --- logs -----------------------------------------------------------------------------------------

    def _emit_log(self, level: str, text: str, camera_id: int | None = None) -> None:
        text = mask_secrets(text)
        log.log(getattr(logging, level.upper(), logging.INFO), "%s", text)
        self.log_line.emit(LogLine(time.time(), level, camera_id, text))
