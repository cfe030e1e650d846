"""One FFmpeg recorder (a camera, or a room's sound source) supervised as a QProcess, with its state machine.

    stopped -> starting -> recording -> (stalled | reconnecting, backoff 1, 2, 4 ... 30 s: restart_backoff) -> recording
                                     -> failed (needs the operator; still retried every 30 s)
                                     -> failed for good: a stream it cannot write (stream_support), after
                                        GIVE_UP_AFTER runs in a row (restart_backoff); only the operator's Start
                                        tries again
    any -> stopping -> stopped

Everything here runs on the engine thread: QProcess is asynchronous, so there is no thread per camera; only
FFmpeg's stderr is read by the node's one reader thread (stderr_reader), which must drain it whatever the engine
thread is doing, and hands what matters back through a queued signal.
The engine calls `poll()` about once a second; that drives the stall watchdog, the stop escalation
(`q` on stdin, then terminate, then kill) and the restart backoff, so a recorder owns no timers.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import QObject, QProcess, Qt, QTimer, Signal

from nvr_console.core.folder_names import folder_problem
from nvr_console.core.recording.errors import (
    DISK_FULL_MESSAGE,
    NO_SPACE,
    FfmpegErrorKind,
    classify_ffmpeg_error,
)
from nvr_console.core.recording.ffmpeg_command import build_record_command, command_for_log
from nvr_console.core.recording.progress import ProgressParser, ProgressSnapshot, SegmentFinished
from nvr_console.core.recording.recorder_process import StopLadder, new_process, start_remembered
from nvr_console.core.recording.recorder_status import camera_status
from nvr_console.core.recording.recorder_stderr import RecorderStderr
from nvr_console.core.recording.restart_backoff import RestartBackoff
from nvr_console.core.recording.segment_files import SegmentFiles
from nvr_console.core.recording.segment_line_hold import SegmentLineHold
from nvr_console.core.recording.segment_names import FinishedSegment, name_for, raw_name_time
from nvr_console.core.recording.stall_watch import StallWatch
from nvr_console.core.recording.stderr_reader import StderrPipe
from nvr_console.core.recording.stream_support import unrecordable_reason
from nvr_console.core.schedule.boundaries import now_in
from nvr_console.core.status import CameraState, CameraStatus, LogLine
from nvr_console.core.system import process_group, process_visibility
from nvr_console.core.text.masking import mask_secrets

log = logging.getLogger(__name__)

STABLE_AFTER_S = 10.0  # recording this long resets the backoff
# A -progress block every 5 s, not FFmpeg's 0.5 s: each one wakes the engine's Python up, and live stats
# (fps; size comes from the file) need no more. The first block still comes at once (see ffmpeg_command).
STATS_PERIOD_S = 5.0
# The folder listing + stat of the current file (size, bitrate, new files) every 5 s rather than every poll,
# and at once after a segment closes; but at least 4 times per stall timeout, as file growth feeds the watchdog.
FILE_CHECK_S = 5.0
# Errors no retry fixes by itself: the camera shows FAILED (and is still retried slowly).
PERMANENT = frozenset({
    FfmpegErrorKind.AUTH, FfmpegErrorKind.NOT_FOUND, FfmpegErrorKind.UNSUPPORTED_CODEC,
    FfmpegErrorKind.ENCODER_MISSING, FfmpegErrorKind.PERMISSION, FfmpegErrorKind.DISK_FULL,
    FfmpegErrorKind.DNS,
})
# What the camera sends cannot be written: a few runs in a row (the camera may have been reconfigured
# meanwhile), then the recorder stops trying: an endless reconnect loop leaves a file per try.
UNWRITABLE = frozenset({FfmpegErrorKind.UNRECORDABLE, FfmpegErrorKind.UNWRITABLE})


@dataclass(frozen=True)
class RecorderSpec:
    """What to record and where. Two specs that differ mean "restart with the new one"."""

    key: str  # "camera:<id>" or "sound:<room id>"
    camera_id: int | None
    room_id: int
    room: str
    name: str
    url: str
    transport: str
    output_dir: Path
    sound_only: bool = False


@dataclass(frozen=True)
class RecorderConfig:
    ffmpeg: str
    segment_seconds: int
    timezone: str  # "local" or IANA name
    stall_timeout_s: float
    socket_timeout_s: float
    run_dir: Path
    log_dir: Path | None = None
    quit_timeout_s: float = 5.0  # after `q`, before terminate
    terminate_timeout_s: float = 5.0  # after terminate, before kill


def check_folder_names(spec: RecorderSpec) -> None:
    """Raise ValueError (one line, with the fix) if the room or camera name would escape its folder or land in
    one of the engine's own (folder_names): names saved before those rules existed are checked here."""
    named = [("room", spec.room)] + ([] if spec.sound_only else [("camera", spec.name)])
    for what, name in named:
        problem = folder_problem(name)
        if problem is not None:
            fix = (f"nvr-console rooms edit {shlex.quote(spec.room)} --rename NEW" if what == "room" else
                   f"nvr-console cameras edit --room {shlex.quote(spec.room)} --name {shlex.quote(name)} --rename NEW")
            raise ValueError(f"{what} name {name!r} cannot be a folder name: it {problem}; rename it: {fix}")


def strftime_safe(folder: Path) -> Path:
    """The folder as FFmpeg's strftime pattern must spell it: a '%' in a room or camera name is literal."""
    return Path(str(folder).replace("%", "%%"))


def build_camera_command(cfg: RecorderConfig, spec: RecorderSpec) -> list[str]:
    """A camera recorder's FFmpeg argv."""
    return _record_command(cfg, spec, audio_only=False)


def build_sound_command(cfg: RecorderConfig, spec: RecorderSpec) -> list[str]:
    """A room sound source recorder's FFmpeg argv: only its audio (required), cut at the cameras' points."""
    return _record_command(cfg, spec, audio_only=True)


def _record_command(cfg: RecorderConfig, spec: RecorderSpec, audio_only: bool) -> list[str]:
    return build_record_command(
        cfg.ffmpeg, spec.url, strftime_safe(spec.output_dir), segment_seconds=cfg.segment_seconds,
        rtsp_transport="udp" if spec.transport == "udp" else "tcp",
        socket_timeout_s=cfg.socket_timeout_s, audio="copy", stats_period_s=STATS_PERIOD_S, audio_only=audio_only,
    )


class Recorder(QObject):
    """Supervises one FFmpeg. Create, use and delete it on the engine thread only."""

    status_changed = Signal(object)  # CameraStatus
    segment_started = Signal(object)  # (RecorderSpec, Path of the raw file FFmpeg opened)
    segment_finished = Signal(object)  # FinishedSegment
    log_line = Signal(object)  # LogLine
    stopped = Signal(str)  # spec.key, once the process is gone after stop()
    out_of_space = Signal(str)  # spec.key: FFmpeg met a full disk (said so, or exited for it), at once
    _stderr_news = Signal()  # from the stderr reader's thread: errors, streams or a picture change wait

    def __init__(self, spec: RecorderSpec, cfg: RecorderConfig, parent: QObject | None = None,
                 last_exit: float = 0.0) -> None:
        """`last_exit`: when the previous recorder of the same key exited (its successor must not start FFmpeg
        in that same second). Engine thread."""
        super().__init__(parent)
        self.spec = spec
        self.cfg = cfg
        self.state = CameraState.STOPPED
        self.since = time.time()
        self.down_since = 0.0  # CameraStatus.down_since: wanted and not recording since (0: recording or unwanted)
        self.last_error = ""
        self.failure: FfmpegErrorKind | None = None  # why the last run failed, until it records again
        self._unrecordable = ""  # this run's streams cannot be recorded: the reason (stream_support)
        self._wanted = False
        self._proc: QProcess | None = None
        self._pid = 0
        self._parser = ProgressParser()
        self.picture_changes = 0  # runs ended so (tests, logs)
        self._last_status: CameraStatus | None = None
        self._lines = SegmentLineHold()  # segment lines before the run's second progress block
        self._next_file_check = 0.0
        self._backoff = RestartBackoff(last_exit)
        self._recording_since: float | None = None
        # Size of the run's file when FFmpeg's output opened with nothing written yet (out_time 0: the video's
        # first timed keyframe had not come; ffmpeg_command's notes); None when not waiting for it.
        self._open_size: int | None = None
        self._stopping = StopLadder(cfg.quit_timeout_s, cfg.terminate_timeout_s)
        self._stall = StallWatch()
        self._files = SegmentFiles(spec.output_dir, _zone(cfg.timezone))
        self._fps = 0.0
        self._stderr = RecorderStderr(cfg.log_dir, spec.key,
                                      f"{'sound-' if spec.sound_only else ''}{spec.room}-{spec.name}",
                                      notify=self._stderr_news.emit)
        self._stderr_news.connect(self._take_stderr, Qt.ConnectionType.QueuedConnection)
        self._pipe: StderrPipe | None = None  # this run's stderr

    # --- public, engine thread -----------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether an FFmpeg process exists (starting, recording or stopping)."""
        return self._proc is not None

    @property
    def wanted(self) -> bool:
        return self._wanted

    @property
    def waiting_for_space(self) -> bool:
        """Wanted, but its FFmpeg ended on a full disk and has not been started again yet. Engine thread."""
        return self._wanted and self._proc is None and self.failure is FfmpegErrorKind.DISK_FULL

    @property
    def last_exit(self) -> float:
        """When this recorder's FFmpeg last exited (epoch s; 0: never ran): hand it to a successor. Engine thread."""
        return self._backoff.last_exit

    @property
    def gave_up(self) -> bool:
        """Failed for good: what the camera sends cannot be written (GIVE_UP_AFTER runs in a row); nothing but
        the operator's Start (retry_now) or a changed camera (a new recorder) tries again. Engine thread."""
        return self._backoff.gave_up

    def start(self) -> None:
        """Begin recording (or keep recording); a recorder that gave up stays failed (see retry_now).
        Engine thread."""
        if self._wanted and (self._proc is not None or self._backoff.pending or self._backoff.gave_up):
            return
        self._wanted = True
        self._backoff.reset()
        if self._proc is None:
            self._backoff.start_soon(time.time())
            self.poll()

    def retry_now(self) -> None:
        """Operator asked to start a camera that is failing: try again at once, backoff reset. Engine thread."""
        if self._wanted and self._proc is None and (self._backoff.pending or self._backoff.gave_up):
            self._backoff.clear_failures()
            self._backoff.start_soon(time.time())
            self.poll()

    def stop(self) -> None:
        """Stop cleanly: `q` on stdin, escalating in poll(); `stopped` is emitted when it is gone. Engine thread."""
        self._wanted = False
        self._backoff.clear_failures()
        self._backoff.cancel()
        if self._proc is None:
            self._set_state(CameraState.STOPPED)
            self.stopped.emit(self.spec.key)
            return
        self._begin_stop()
        self._set_state(CameraState.STOPPING)

    def status(self) -> CameraStatus:
        """The current status as plain data. Engine thread."""
        return camera_status(
            camera_id=self.spec.camera_id if self.spec.camera_id is not None else -self.spec.room_id,
            room=self.spec.room, camera=self.spec.name, state=self.state, since=self.since,
            running=self._proc is not None, files=self._files, fps=self._fps, last_error=self.last_error,
            next_retry_in=self._backoff.countdown(time.time()), streams=self._stderr.streams,
            picture=self._stderr.picture.picture(), down_since=self.down_since)

    def poll(self) -> None:
        """Watchdog, stop escalation, restart backoff, current file and statistics. Engine thread, ~1 Hz."""
        now = time.time()
        if self._proc is None:
            if self._wanted and self._backoff.due(now):
                self._launch()
            elif self._backoff.pending:
                self._emit_status()  # the countdown moves
            return
        if self._stopping.stopping:
            self._stopping.step(self._proc, now, self._log)
            return
        waiting = self.state is CameraState.STARTING and self._open_size is not None
        looked = now >= self._next_file_check or waiting
        if looked:
            self._scan_files(now)
        if waiting and self._open_size is not None and self._files.current_size > self._open_size:
            # Packets reach the file between two progress blocks (5 s apart): recording now, not at the next block.
            self._now_recording(now)
        progress = (self._files.current_size, self._files.finished_count, (self._parser.last.out_time_us or 0)
                    if self._parser.last else 0)
        limit = self.cfg.stall_timeout_s + (self.cfg.socket_timeout_s if self.state is CameraState.STARTING else 0)
        if self._stall.check(now, progress, limit):
            self.last_error = (f"No new data from the camera for {limit:g} s (stalled stream); "
                               "restarting the recorder.")
            self._log("warning", self.last_error)
            self._set_state(CameraState.STALLED)
            self._begin_stop()
            return
        if (self.state is CameraState.RECORDING and self._recording_since is not None
                and now - self._recording_since > STABLE_AFTER_S):
            self._backoff.healthy()
        if looked:  # between state changes (sent at once) a status moves only with a look at the files or a
            self._emit_status()  # progress block, both 5 s apart (every second: 4 % of the engine at 128 cameras)

    def dispose(self) -> None:
        """Kill a still-running process at once (last resort at engine exit) and release the log. Engine thread."""
        if self._proc is not None and self._proc.state() != QProcess.ProcessState.NotRunning:
            process_group.kill_group(self._proc)
            self._proc.waitForFinished(3000)
        self._close_stderr()
        self._stderr.close()

    # --- process handling -----------------------------------------------------------------------

    def _launch(self) -> None:
        spec, cfg = self.spec, self.cfg
        try:
            check_folder_names(spec)
            argv = build_sound_command(cfg, spec) if spec.sound_only else build_camera_command(cfg, spec)
            spec.output_dir.mkdir(parents=True, exist_ok=True)
        except (OSError, ValueError) as exc:
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                self._fail(f"{DISK_FULL_MESSAGE} ({exc.strerror})", permanent=True, kind=FfmpegErrorKind.DISK_FULL)
            else:
                self._fail(f"Cannot start recording: {mask_secrets(str(exc))}", permanent=True)
            return
        process_visibility.NOTICE.once(spec.url, self._log)
        proc = new_process(self, argv, cfg.timezone)
        proc.readyReadStandardOutput.connect(self._on_stdout)  # live: segment ends and timeline_origin's clock
        # stderr goes to the reader thread: an in-band picture change (SPS trace lines, a burst per keyframe) cuts
        # the file within ~0.3 s (docs/streams.md, "In-band changes"), and FFmpeg never waits on the engine.
        pipe = self._pipe = StderrPipe(proc, self._stderr.feed)
        proc.finished.connect(self._on_finished)
        proc.errorOccurred.connect(self._on_error)
        self._proc = proc
        self._parser = ProgressParser()
        self._lines.new_run()
        self._stderr.new_run()
        self._unrecordable = ""
        self._stopping.reset()
        self._stall.new_run(time.time())
        self._files.new_run(name_for(now_in(_zone(cfg.timezone)).replace(microsecond=0)))
        self._next_file_check = 0.0
        self._recording_since = None
        self._open_size = None
        self._set_state(CameraState.STARTING)
        self._log("info", f"starting: {command_for_log(argv)}")
        self._pid = start_remembered(proc, cfg.run_dir, str(strftime_safe(spec.output_dir)))
        pipe.started()  # (a start that failed at once has closed it already)

    def _begin_stop(self) -> None:
        if self._proc is not None:
            self._stopping.begin(self._proc, time.time())

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self._proc is not None:
            proc = self._proc
            self._proc = None
            proc.deleteLater()
            self._close_stderr()
            self._backoff.exited(time.time())
            self._fail(f"FFmpeg could not be started ({self.cfg.ffmpeg}): install FFmpeg or set recording.ffmpeg",
                       permanent=True)

    def _on_stdout(self) -> None:
        if self._proc is None:
            return
        self._handle_stdout(bytes(self._proc.readAllStandardOutput().data()))

    def _handle_stdout(self, data: bytes) -> None:
        for event in self._parser.feed(data):
            if isinstance(event, ProgressSnapshot):
                for line in self._lines.block():
                    self._report_finished(line)
                if event.fps is not None:
                    self._fps = event.fps
                if self.state is not CameraState.STARTING:
                    pass
                elif event.out_time_us and event.out_time_us > 0:
                    self._now_recording(time.time())
                elif self._open_size is None:
                    # The output is open but holds nothing yet: poll() watches the file grow (at 1 Hz).
                    self._scan_files(time.time())
                    self._open_size = self._files.current_size
            elif isinstance(event, SegmentFinished):
                for line in self._lines.segment(event):  # held until the second block (segment_line_hold)
                    self._report_finished(line)
                self._next_file_check = 0.0  # the next file is open: name it at the next poll

    def _now_recording(self, now: float) -> None:
        self._recording_since = now
        self._open_size = None
        self.last_error, self.failure = "", None
        self._scan_files(now)  # so the first RECORDING status names its file
        self._set_state(CameraState.RECORDING)

    def _close_stderr(self) -> None:
        """The run is over: what FFmpeg said last is read (its exit's reason) and acted on."""
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None
        self._take_stderr()

    def _take_stderr(self) -> None:
        news = self._stderr.take()
        armed = self._proc is not None and not self._stopping.stopping and self._wanted
        for change in news.changes:
            if self._stderr.picture.offer(change, armed):
                # The segment muxer would copy the new SPS into the open file: stop this run (the file closes
                # whole) and start the next at once; its first file holds only the new picture.
                self._log("info", f"{change}: a new file begins (the recorder restarts)")
                self._begin_stop()
        for line in news.errors:
            self._emit_log("warning", f"FFmpeg: {line}")
            if NO_SPACE in line:
                self.out_of_space.emit(self.spec.key)  # before FFmpeg exits: the disk guard frees space now
        streams = self._stderr.streams
        if news.learnt and streams is not None and not self.spec.sound_only and (
                reason := unrecordable_reason(streams)):
            # Stop at once: what it writes meanwhile is failed by the finalizer with the same reason.
            self._unrecordable = reason[0].upper() + reason[1:] + "."
            self._log("error", self._unrecordable)
            self._begin_stop()

    def _on_finished(self, exit_code: int, _status: QProcess.ExitStatus) -> None:
        proc = self._proc
        if proc is None:
            return
        self._handle_stdout(bytes(proc.readAllStandardOutput().data()) + b"\n")
        for line in self._lines.release():
            self._report_finished(line)
        self._close_stderr()
        self._proc = None
        proc.deleteLater()
        now = time.time()
        self._backoff.exited(now)
        if self._pid:
            process_group.forget(self.cfg.run_dir, self._pid)
            self._pid = 0
        self._scan_files(now)
        # A crash (or kill) writes no segment line for the file being written: report it ourselves.
        for raw in self._files.unfinished():
            self._files.mark_finished(raw.name)
            started = raw_name_time(raw, _zone(self.cfg.timezone))
            self.segment_finished.emit(FinishedSegment(
                self.spec.key, self.spec.camera_id, self.spec.room, self.spec.name, raw,
                started.timestamp() if started else None, now, self._stderr.streams))
        self._files.end_run()
        if not self._wanted:
            self._log("info", f"stopped (exit code {exit_code})")
            self._set_state(CameraState.STOPPED)
            self.stopped.emit(self.spec.key)
            return
        if self._stderr.picture.change:
            # Not a failure: as soon as a new FFmpeg may start (never in the exit's second: file names).
            self.picture_changes += 1
            self._backoff.start_soon(now)
            self._set_state(CameraState.STARTING)
            delay = max(0.0, (self._backoff.restart_at or now) - now)
            QTimer.singleShot(int(delay * 1000) + 20, self.poll)
            return
        if self._stall.stalled:
            self._schedule_restart(self.last_error, permanent=False)
            return
        if self._unrecordable:
            self._schedule_restart(self._unrecordable, permanent=True, kind=FfmpegErrorKind.UNRECORDABLE)
            return
        kind, message = classify_ffmpeg_error(self._stderr.tail_text(30))
        self._log("warning", f"FFmpeg exited (code {exit_code}): {message}")
        self._schedule_restart(message, permanent=kind in PERMANENT, kind=kind)

    def _fail(self, message: str, permanent: bool, kind: FfmpegErrorKind | None = None) -> None:
        self._log("error", message)
        self._schedule_restart(message, permanent, kind)

    def _schedule_restart(self, message: str, permanent: bool, kind: FfmpegErrorKind | None = None) -> None:
        self.last_error = message
        self.failure = kind
        if not self._wanted:
            self._set_state(CameraState.STOPPED)
            self.stopped.emit(self.spec.key)
            return
        if self._backoff.count_run(kind in UNWRITABLE):
            self.last_error = (f"{message} Tried {self._backoff.unwritable_runs} times; not retried any more: change "
                               "the camera's settings, then start the camera again.")
            self._set_state(CameraState.FAILED)
            return
        if kind in UNWRITABLE:
            # Failed (the camera needs changing), but the next tries come soon so giving up does not take minutes.
            self._backoff.after_failure(time.time(), permanent=False)
            self._set_state(CameraState.FAILED)
            return
        self._set_state(self._backoff.after_failure(time.time(), permanent))
        if kind is FfmpegErrorKind.DISK_FULL:
            self.out_of_space.emit(self.spec.key)

    # --- files and statistics -------------------------------------------------------------------

    def _report_finished(self, seg: SegmentFinished) -> None:
        raw = self.spec.output_dir / seg.filename
        if self._files.is_finished(seg.filename):
            return
        if self._files.mark_started(raw):
            self.segment_started.emit((self.spec, raw))
        self._files.mark_finished(seg.filename)
        if self._stderr.streams is None and self._pipe is not None:
            self._pipe.pump()  # the header, should the reader thread not have read it yet
            self._take_stderr()
        with contextlib.suppress(OSError):
            # Under load the engine thread reads FFmpeg's blocks late and the origin from them is late with it
            # (files 0.54 s too late, overlapping the next); the file's own last write dates its cut.
            self._parser.observe(raw.stat().st_mtime, seg.end_s)
        start, end = segment_span(seg, raw, self._parser.timeline_origin, _zone(self.cfg.timezone))
        self.segment_finished.emit(FinishedSegment(
            self.spec.key, self.spec.camera_id, self.spec.room, self.spec.name, raw, start, end,
            self._stderr.streams))

    def _scan_files(self, now: float) -> None:
        self._next_file_check = now + min(FILE_CHECK_S, self.cfg.stall_timeout_s / 4)
        for raw in self._files.scan(now):
            self.segment_started.emit((self.spec, raw))

    # --- status and logs --------------------------------------------------------------------------

    def _emit_status(self) -> None:
        """Emit the status when it differs from the last one sent (the UI runs its own clocks)."""
        status = self.status()
        if status != self._last_status:
            self._last_status = status
            self.status_changed.emit(status)

    def _set_state(self, state: CameraState) -> None:
        if state is not self.state:
            self.state = state
            self.since = time.time()
            # The outage runs from the first attempt that did not record through every retry, not per state.
            if state is CameraState.RECORDING or not self._wanted:
                self.down_since = 0.0
            elif not self.down_since:
                self.down_since = self.since
            self._log("info", f"state {state.value}" + (f": {self.last_error}" if self.last_error and state in (
                CameraState.FAILED, CameraState.RECONNECTING, CameraState.STALLED) else ""))
        self._last_status = self.status()
        self.status_changed.emit(self._last_status)

    def _log(self, level: str, text: str) -> None:
        text = mask_secrets(text)
        log.log(getattr(logging, level.upper()), "%s/%s: %s", self.spec.room, self.spec.name, text)
        self._stderr.write([f"[nvr] {text}"])
        self._emit_log(level, text)

    def _emit_log(self, level: str, text: str) -> None:
        self.log_line.emit(LogLine(time.time(), level, self.spec.camera_id,
                                   mask_secrets(f"{self.spec.room}/{self.spec.name}: {text}")))


def segment_span(seg: SegmentFinished, raw: Path, origin: float | None,
                 zone: ZoneInfo | None) -> tuple[float | None, float | None]:
    """A closed segment's wall-clock start and end (epoch s): on FFmpeg's timeline once its origin is known,
    else from the file's name (1 s resolution) and its duration."""
    if origin is not None:
        return origin + seg.start_s, origin + seg.end_s
    named = raw_name_time(raw, zone)
    start = named.timestamp() if named else None
    return start, (start + seg.duration_s if start is not None else None)


def _zone(name: str) -> ZoneInfo | None:
    return None if name == "local" else ZoneInfo(name)
