"""Disk guard: keep the recordings disk from filling up under the cameras.

Free space is looked at every engine tick (one statvfs), at once when a segment is cut, and at once when a
recorder's FFmpeg meets a full disk. Under the target, a worker thread deletes local copies of VERIFIED uploads,
oldest first (retention.free_space: never anything else), and a camera that a full disk stopped starts again
as soon as there is room for it, not at its 30 s retry.

The target is the larger of retention.min_free_space and the reserve: the room the finalizer needs at the
next cut. Finalizing writes an MP4 about the size of the raw segment before the raw file goes, so each
recording camera needs its segment's size free at that moment: the larger of its largest recent segment and
what it writes in one segment length at its measured rate; plus MARGIN_S of every camera's writing, what
they add between two looks. retention.min_free_space = 0 turns deletion for space off (the reserve's too).

When nothing (more) can be deleted, a warning says what is free, what is kept and when the disk will be full
at the current write rate (disk_forecast), at once and then every WARN_EVERY_S while it lasts.

Threads: everything runs on the engine thread except `_pass`, which runs on the guard's one worker thread and
talks back only through the queued `_freed` signal.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from sqlalchemy.exc import SQLAlchemyError

from nvr_console.core import retention
from nvr_console.core.config import Settings, default
from nvr_console.core.config.holder import SettingsHolder
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.disk_forecast import camera_write_rate_bps, forecast_text
from nvr_console.core.engine.camera_reconcile import RecorderSet
from nvr_console.core.recording.recorder import Recorder
from nvr_console.core.recording.segment_names import FinishedSegment
from nvr_console.core.status import DiskStatus, UploadProgress, UploadState
from nvr_console.core.text.masking import mask_secrets
from nvr_console.core.text.sizes import format_size

log = logging.getLogger(__name__)

MARGIN_S = 10.0  # seconds of every camera's writing kept free on top of the segments' room
RECENT_SEGMENTS = 8  # per camera, for "its largest recent segment"
SHORT_RECHECK_S = 5.0  # while short with nothing left to delete: look for newly verified copies this often
WARN_EVERY_S = 60.0
MIN_ROOM = 8 * 1024**2  # a camera stopped by a full disk starts again with at least this much free
RESTART_EVERY_S = 5.0  # and the guard starts it early at most this often (a disk something else keeps full)
STATUS_EVERY_S = 5.0  # the console's disk figure

# (level, text, camera id or None): the engine's log, which also reaches the console.
LogFn = Callable[[str, str, int | None], None]


class DiskGuard(QObject):
    """Free space for the recorders. Create and use on the engine thread."""

    _freed = Signal(object)  # internal: retention.SpaceReport, or None after an error, from the worker thread
    space = Signal(object)  # DiskStatus: when it crosses the line kept free, else every STATUS_EVERY_S

    def __init__(self, db: Database, recorders: RecorderSet, emit_log: LogFn, parent: QObject | None = None,
                 node: str = "") -> None:
        super().__init__(parent)
        self.db = db
        self.node = node  # only this node's verified copies are on this disk
        self._recorders = recorders
        self._emit_log = emit_log
        self._root = Path()
        self._min_free = 0
        self._segment_s: float = default("recording.segment_length")  # until follow()
        self._sizes: dict[str, deque[int]] = {}  # recorder key -> its recent raw segment sizes
        self._last_rate: dict[str, float] = {}  # recorder key -> bytes/s when it last recorded
        self._restarted: dict[str, float] = {}  # recorder key -> monotonic time the guard last started it
        self._executor: ThreadPoolExecutor | None = None
        self._busy = False  # a pass runs on the worker
        self._again = False  # a reason to look again came (a cut, a verified upload, a full disk)
        self._short: retention.SpaceReport | None = None  # the last pass found nothing more to delete
        self._next_pass = 0.0  # monotonic: while short, when to look again unprompted
        self._next_warning = 0.0
        self.free: int | None = None  # bytes free at the last look
        self._told: tuple[float, bool] | None = None  # (monotonic, short) of the last `space` signal
        self._freed.connect(self._on_freed)

    def configure(self, settings: Settings) -> None:
        """The recordings folder, retention.min_free_space and the segment length; again on new settings."""
        self._root = Path(settings.recording.dir)
        self._min_free = settings.retention.min_free_space
        self._segment_s = float(settings.recording.segment_length)

    def follow(self, holder: SettingsHolder) -> None:
        """Configure from the holder now and at every change of the recording or retention settings."""
        holder.subscribe(("recording", "retention"), self.configure, now=True)

    def start(self) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nvr-disk")

    def shutdown(self) -> None:
        """Stop looking; a pass under way finishes its deletion on its own. Engine thread."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    # --- what counts -----------------------------------------------------------------------------------

    def _cameras(self) -> list[Recorder]:
        return [r for r in self._recorders.active.values() if not r.spec.sound_only and (r.wanted or r.running)]

    def _segment_room(self, rec: Recorder) -> int:
        """What this camera's next segment (and so its MP4) will take."""
        recent = max(self._sizes.get(rec.spec.key, ()), default=0)
        return max(recent, int(self._last_rate.get(rec.spec.key, 0.0) * self._segment_s))

    def reserve(self) -> int:
        """Bytes to keep free so every camera's segment can be finalized at the next cut (also remembers each
        recording camera's rate, for when it stops). Engine thread."""
        rate = 0.0
        room = 0
        for rec in self._cameras():
            now_rate = camera_write_rate_bps(rec.status())
            if now_rate > 0:
                self._last_rate[rec.spec.key] = now_rate
            rate += now_rate
            room += self._segment_room(rec)
        return room + int(rate * MARGIN_S)

    def keep(self) -> tuple[int, bool]:
        """(bytes to keep free, whether deleting verified copies may make them): the larger of
        retention.min_free_space and the reserve; deletion is off when min_free_space is 0. Engine thread."""
        reserve = self.reserve()
        return max(self._min_free, reserve), self._min_free > 0

    # --- triggers (engine thread) --------------------------------------------------------------------

    def tick(self) -> None:
        """Engine thread, every tick."""
        self.check()

    def segment_finished(self, seg: FinishedSegment) -> None:
        """A camera's FFmpeg closed a segment: remember its size (connect before the finalizer, which removes
        the raw file), then look at once. Engine thread."""
        if seg.source_key.startswith("sound:"):
            return
        try:
            size = seg.raw_path.stat().st_size
        except OSError:
            size = 0
        if size:
            self._sizes.setdefault(seg.source_key, deque(maxlen=RECENT_SEGMENTS)).append(size)
        self.check(poke=True)

    def out_of_space(self, key: str) -> None:
        """A recorder's FFmpeg met a full disk. Engine thread."""
        self._next_warning = 0.0  # say so now, not at the next minute
        self.check(poke=True)

    def upload_progress(self, progress: UploadProgress) -> None:
        """A verified upload may be a copy to delete. Engine thread (queued from an upload worker)."""
        if progress.state is UploadState.UPLOADED:
            self._again = True

    # --- the look ------------------------------------------------------------------------------------

    def check(self, poke: bool = False) -> None:
        """Measure free space; start a deletion pass when short, restart cameras when there is room. Engine
        thread."""
        try:
            free = retention.disk_free(self._root)
        except OSError as exc:
            log.debug("free space of %s unknown: %s", self._root, exc)
            return
        self.free = free
        self._again = self._again or poke
        self._restart_waiting(free)
        target, may_delete = self.keep()
        now = time.monotonic()
        self._tell(free, target, now)
        if free >= target:
            if self._short is not None:
                self._short = None
                self._next_warning = 0.0  # the next shortage is told at once
                self._emit_log("info", f"recordings disk: {format_size(free)} free again", None)
            return
        if not may_delete:
            self._warn(free, target, None, now)
            return
        if self._busy or self._executor is None:
            return
        if self._short is not None and not self._again and now < self._next_pass:
            self._warn(free, target, self._short, now)
            return
        self._again = False
        self._busy = True
        self._executor.submit(self._pass, self._root, target)

    def _pass(self, root: Path, target: int) -> None:
        """Worker thread: delete verified copies until `target` is free on `root`'s disk; never raises."""
        report: retention.SpaceReport | None
        try:
            report = retention.free_space(self.db, root, target, self.node)
        except (DatabaseUnavailable, SQLAlchemyError, OSError) as exc:
            log.warning("could not free space on the recordings disk: %s", mask_secrets(str(exc)))
            report = None
        with contextlib.suppress(RuntimeError):  # the engine (and this object) is gone
            self._freed.emit(report)

    def _on_freed(self, report: retention.SpaceReport | None) -> None:
        self._busy = False
        now = time.monotonic()
        if report is None:
            self._next_pass = now + SHORT_RECHECK_S
            return
        self.free = report.free_after
        if report.deleted:
            self._emit_log("info", f"recordings disk: deleted {len(report.deleted)} verified local cop"
                           f"{'y' if len(report.deleted) == 1 else 'ies'} ({format_size(report.freed_bytes)}, "
                           f"oldest first) to keep {format_size(report.target)} free; "
                           f"{format_size(report.free_after)} free", None)
        if report.short:
            self._short = report
            self._next_pass = now + SHORT_RECHECK_S
            self._warn(report.free_after, report.target, report, now)
        self._restart_waiting(report.free_after)
        if self._again:
            self.check()

    def _tell(self, free: int, keep: int, now: float) -> None:
        short = free < keep
        if self._told is not None and self._told[1] == short and now - self._told[0] < STATUS_EVERY_S:
            return
        self._told = (now, short)
        self.space.emit(DiskStatus(free, keep, self._why(keep)))

    def _why(self, keep: int) -> str:
        return ("retention.min_free_space" if keep == self._min_free and keep > 0
                else "room to finalize the segments being written")

    def _restart_waiting(self, free: int) -> None:
        """Recorders a full disk stopped (cameras, and rooms' sound sources) start again now if there is room for
        a segment and its MP4."""
        now = time.monotonic()
        for rec in list(self._recorders.active.values()):
            last = self._restarted.get(rec.spec.key)
            if not rec.waiting_for_space or (last is not None and now - last < RESTART_EVERY_S):
                continue
            if free >= max(2 * self._segment_room(rec), MIN_ROOM):
                self._restarted[rec.spec.key] = now
                self._emit_log("info", f"{rec.spec.room}/{rec.spec.name}: {format_size(free)} free on the "
                               "recordings disk again; recording starts now", rec.spec.camera_id)
                rec.retry_now()

    def _warn(self, free: int, keep: int, short: retention.SpaceReport | None, now: float) -> None:
        if now < self._next_warning:
            return
        self._next_warning = now + WARN_EVERY_S
        cameras = self._cameras()
        stopped = [f"{r.spec.room}/{r.spec.name}" for r in cameras if r.waiting_for_space]
        rate = sum(camera_write_rate_bps(r.status()) for r in cameras)
        why = self._why(keep)
        kept = (f"{short.waiting} recording(s) ({format_size(short.waiting_bytes)}) are not uploaded yet and are "
                "kept" if short is not None else "retention.min_free_space = 0: nothing is deleted to make room")
        if stopped:
            head = f"DISK FULL: {', '.join(stopped)} stopped recording and start again as soon as there is room"
        else:
            head = f"DISK NEARLY FULL: {forecast_text(free, rate)}"
        self._emit_log("warning", f"{head}; {format_size(free)} free on {self._root}, under the "
                       f"{format_size(keep)} kept free ({why}); {kept}. Free space, fix the uploads, or lower "
                       "retention.min_free_space", None)
