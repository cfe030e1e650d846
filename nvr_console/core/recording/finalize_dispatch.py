"""Finalizing dispatch: from the recorders' segment signals to finished MP4s.

A segment FFmpeg opens gets its Recording row (lifecycle.register_segment); one it closes begins finalizing,
waits for the room's sound when the room has a sound source (sound_pairing), and then runs on a small pool
of worker threads (finalizer.finalize: probe, remux, mux room audio, the row ready or failed). Each result
comes back to the engine thread as `job_done`. A segment whose MP4 found no room on a full disk stays
`finalizing` and runs again as soon as there is room for it (recovery takes it at the next start otherwise).

Threads: everything here runs on the engine thread except `_run_job`, which runs on a worker thread and
talks back only through the queued `_worker_done` signal.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import QObject, Signal
from sqlalchemy.exc import SQLAlchemyError

from nvr_console.core.config import Settings, default
from nvr_console.core.config.holder import SettingsHolder
from nvr_console.core.db.models import RecordingStatus
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.recording import lifecycle
from nvr_console.core.recording.ffmpeg_locate import Tools
from nvr_console.core.recording.finalizer import FinalizeJob, NoRoom, SoundPiece, finalize
from nvr_console.core.recording.recorder import RecorderSpec
from nvr_console.core.recording.recovery import plan_recovery
from nvr_console.core.recording.segment_names import FinishedSegment, raw_name_time
from nvr_console.core.recording.sound_pairing import SoundPairing, SoundSourceState
from nvr_console.core.schedule.boundaries import slot_of_epoch
from nvr_console.core.status import RecordingEvent
from nvr_console.core.text.masking import mask_secrets

log = logging.getLogger(__name__)

FINALIZE_WORKERS = 2

# (level, text, camera id or None): the engine's log, which also reaches the console.
LogFn = Callable[[str, str, int | None], None]


class FinalizingDispatch(QObject):
    """Rows for segments, room sound pairing and the finalizer pool. Create and use on the engine thread."""

    job_done = Signal(object)  # RecordingEvent (ready or failed), on the engine thread
    _worker_done = Signal(object)  # internal: (RecordingEvent, the job again if it found no room) from a worker

    def __init__(self, db: Database, sound_source: SoundSourceState, emit_log: LogFn,
                 parent: QObject | None = None, node: str = "",
                 token_for: Callable[[int | None], int | None] = lambda _camera_id: None) -> None:
        super().__init__(parent)
        self.db = db
        self.node = node  # rows are this node's (recordings.node)
        self._token_for = token_for  # the lease token this node holds for a camera now, if any
        # Finished segments the database could not take (down, or cut off): registered and finalized as soon as
        # it answers, oldest first, without waiting for a restart.
        self._deferred: list[FinishedSegment] = []
        self._deferred_logged = False
        self._sound_source = sound_source
        self._emit_log = emit_log
        self._tools: Tools | None = None
        self._zone: ZoneInfo | None = None
        self._segment_length: float = default("recording.segment_length")  # until follow()
        self.pairing = SoundPairing(self._segment_length)
        self.rooms_with_sound: set[str] = set()
        self._rows: dict[Path, int] = {}  # raw file -> its row, from the moment FFmpeg opens it
        self._in_flight: dict[int, FinalizeJob] = {}
        self._no_room: list[FinalizeJob] = []  # their MP4 did not fit: again when there is room
        self._executor: ThreadPoolExecutor | None = None
        self._recovered_late = False
        self._worker_done.connect(self._on_worker_done)

    def configure(self, tools: Tools | None, zone: ZoneInfo | None, segment_length: float) -> None:
        """Tools and the slot grid (from the settings); again after the settings change. Engine thread."""
        self._tools, self._zone, self._segment_length = tools, zone, segment_length
        self.pairing.segment_length, self.pairing.zone = segment_length, zone

    def follow(self, holder: SettingsHolder, tools: Callable[[], Tools | None]) -> None:
        """Take the slot grid (and `tools()`, the FFmpeg the recorder setup found) from the holder now and at
        every change of the recording settings. Engine thread."""
        def take(settings: Settings) -> None:
            self.configure(tools(), settings.recording.zone(), settings.recording.segment_length)

        holder.subscribe(("recording",), take, now=True)

    def start(self) -> None:
        """Open the worker pool. Engine thread."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=FINALIZE_WORKERS, thread_name_prefix="nvr-finalize")

    def recover(self, root: Path, before: float | None = None, reap_first: bool = True) -> None:
        """Finalize what a crash left unfinished on this node, keeping its sound segments for those jobs. At
        start-up; or later (`before` = this process's start, `reap_first` False) when the database could not be
        reached at start-up. Engine thread; raises OSError or a database error for the engine to report."""
        if self._tools is None:
            return
        for job in plan_recovery(self.db, root, self._segment_length, self._zone, node=self.node, before=before,
                                 reap_first=reap_first):
            self.submit(job)
        self.pairing.adopt_leftovers(root, self._zone)

    def recover_late(self, root: Path, started_at: float) -> None:
        """After a start without the database, once this node is registered: finish what an earlier process of
        this node left (its files only), once. Engine thread; errors are logged and it tries again next time."""
        if self._recovered_late:
            return
        try:
            self.recover(root, before=started_at, reap_first=False)
        except (OSError, DatabaseUnavailable, SQLAlchemyError) as exc:
            self._emit_log("error", f"start-up recovery failed: {mask_secrets(str(exc))}", None)
            return
        self._recovered_late = True

    def shutdown(self) -> None:
        """Close the pool without waiting; jobs not started are dropped (recovery finishes them). Engine thread."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    @property
    def busy(self) -> bool:
        """Segments waiting for room sound or being finalized."""
        return self.pairing.waiting or bool(self._in_flight)

    def busy_with(self, camera_id: int) -> bool:
        """Whether a segment of this camera is still waiting or being finalized. Engine thread."""
        return (self.pairing.waiting_for(camera_id) or any(j.camera_id == camera_id for j in self._in_flight.values())
                or any(seg.camera_id == camera_id for seg in self._deferred))

    # --- from the recorders (engine thread) ---------------------------------------------------------

    def segment_started(self, item: tuple[RecorderSpec, Path]) -> None:
        """FFmpeg opened a raw segment: its row says `recording` from now on. Engine thread."""
        spec, raw = item
        if spec.sound_only:
            return
        if self._deferred:
            return  # the database was just down: the row comes with the segment's end, in order
        try:
            named = raw_name_time(raw, self._zone)  # the piece's own start (a reconnect begins mid-slot)
            self._rows[raw] = lifecycle.register_segment(self.db, spec.camera_id, spec.room, spec.name, raw,
                                                         self._slot(raw), node=self.node,
                                                         lease_token=self._token_for(spec.camera_id),
                                                         start_time=named.astimezone(UTC) if named else None)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            log.info("cannot record %s in the database now (%s); its row comes when it is finished", raw.name,
                     mask_secrets(str(exc)))

    def segment_finished(self, seg: FinishedSegment) -> None:
        """FFmpeg closed a raw segment: finalize it (after its room sound, if the room has a source). Engine thread."""
        if seg.source_key.startswith("sound:"):
            self.pairing.add_sound(seg.room, SoundPiece(seg.raw_path, seg.wall_start, seg.wall_end))
            self.tick()
            return
        if self._deferred:
            self._deferred.append(seg)  # behind the ones waiting for the database
            self._catch_up()
            return
        if not self._finish(seg):
            self._deferred.append(seg)

    def _finish(self, seg: FinishedSegment) -> bool:
        """Register a finished segment and send it on; False if the database cannot be reached now."""
        try:
            rid = self._rows.pop(seg.raw_path, None)
            if rid is None:
                rid = lifecycle.register_segment(self.db, seg.camera_id, seg.room, seg.name, seg.raw_path,
                                                 self._slot(seg.raw_path), node=self.node,
                                                 lease_token=self._token_for(seg.camera_id))
            lifecycle.begin_finalizing(self.db, rid)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            if not self._deferred_logged:
                self._deferred_logged = True
                self._emit_log("error", f"cannot finalize {seg.raw_path.name} now ({mask_secrets(str(exc))}); "
                               "finished segments wait on disk and are finalized as soon as the database answers",
                               seg.camera_id)
            return False
        if seg.room in self.rooms_with_sound:
            self.pairing.wait(seg, rid)
            self.tick()
        else:
            self.submit(_job(seg, rid, (), ""))
        return True

    def _catch_up(self) -> None:
        """Register and finalize the segments that waited for the database, oldest first. Engine thread."""
        while self._deferred:
            if not self._finish(self._deferred[0]):
                return
            self._deferred.pop(0)
        if self._deferred_logged:
            self._deferred_logged = False
            self._emit_log("info", "the database answers again: finished segments registered and finalized", None)

    @property
    def deferred(self) -> int:
        """Finished segments waiting for the database."""
        return len(self._deferred)

    def tick(self) -> None:
        """Send on the segments whose room sound is complete or will not come, and those that found no room
        once there is; retry the ones that waited for the database. Engine thread, ~1 Hz."""
        if self._deferred:
            self._catch_up()
        for p in self.pairing.resolve(self._sound_source):
            self.submit(_job(p.segment, p.recording_id, p.sounds, p.note))
        if self._no_room:
            self._retry_no_room()

    def _retry_no_room(self) -> None:
        """Run again each segment with room for its MP4 and as much to spare (the cameras write meanwhile)."""
        waiting, self._no_room = self._no_room, []
        spare: dict[Path, int] = {}
        for job in waiting:
            try:
                need = job.raw.stat().st_size
                free = spare.get(job.raw.parent)
                if free is None:
                    free = shutil.disk_usage(job.raw.parent).free
            except OSError:
                self.submit(job)  # gone or unreadable: the finalizer says so in its row
                continue
            if free >= 2 * need:
                spare[job.raw.parent] = free - need
                self.submit(job)
            else:
                self._no_room.append(job)

    def drop_old_sound(self, everything: bool = False) -> None:
        """Delete sound segments no camera segment can still need. Engine thread."""
        self.pairing.drop_old({s.path for j in self._in_flight.values() for s in j.sounds}, everything)

    def _slot(self, raw: Path) -> datetime:
        named = raw_name_time(raw, self._zone)
        epoch = named.timestamp() if named else time.time()
        return slot_of_epoch(epoch, self._segment_length, self._zone).astimezone(UTC)

    # --- the pool ---------------------------------------------------------------------------------

    def submit(self, job: FinalizeJob) -> None:
        """Finalize on a worker thread; `job_done` follows. Engine thread."""
        if self._executor is None or self._tools is None:
            return
        self._in_flight[job.recording_id] = job
        self._executor.submit(self._run_job, job, self._tools, self._zone)

    def _run_job(self, job: FinalizeJob, tools: Tools, zone: ZoneInfo | None) -> None:
        """Worker thread: never raises (an exception here would be lost); the row stays for recovery."""
        again: FinalizeJob | None = None
        try:
            event = finalize(job, tools, self.db, zone)
        except NoRoom as exc:
            again = job
            event = RecordingEvent(job.recording_id, job.camera_id, job.room, job.camera, str(job.final),
                                   RecordingStatus.FINALIZING.value, job.wall_start or 0.0, 0.0, 0,
                                   f"{exc}; finalized as soon as there is room (the raw segment is kept)")
        except Exception as exc:  # database down, disk gone...: recovery retries at the next start
            log.exception("finalizing %s failed", job.raw)
            event = RecordingEvent(job.recording_id, job.camera_id, job.room, job.camera, str(job.final),
                                   RecordingStatus.FINALIZING.value, job.wall_start or 0.0, 0.0, 0,
                                   f"finalizing failed: {mask_secrets(str(exc))}")
        self._worker_done.emit((event, again))

    def _on_worker_done(self, done: tuple[RecordingEvent, FinalizeJob | None]) -> None:
        event, again = done
        self._in_flight.pop(event.recording_id, None)
        if again is not None:
            self._no_room.append(again)
        self.job_done.emit(event)


def _job(seg: FinishedSegment, rid: int, sounds: tuple[SoundPiece, ...], note: str) -> FinalizeJob:
    return FinalizeJob(rid, seg.camera_id, seg.room, seg.name, seg.raw_path, seg.wall_start, seg.wall_end,
                       sounds, note, streams=seg.streams)
