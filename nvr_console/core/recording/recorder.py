"""One FFmpeg recorder (a camera, or a room's sound source) supervised as a QProcess, with its state machine.

    stopped -> starting -> recording -> (stalled | reconnecting, backoff 1, 2, 4 ... 30 s: restart_backoff) -> recording
                                     -> failed (needs the operator; still retried every 30 s)
                                     -> failed for good: a stream it cannot write (stream_support), after
                                        GIVE_UP_AFTER runs in a row; only the operator's Start tries again
    any -> stopping -> stopped

Everything here runs on the engine thread: QProcess is asynchronous, so there is no thread per camera.
The engine calls `poll()` about once a second; that drives the stall watchdog, the stop escalation
(`q` on stdin, then terminate, then kill) and the restart backoff, so a recorder owns no timers.
"""

from __future__ import annotations

import collections
import errno
import logging
import shlex
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

from nvr_console.core import process_group, process_visibility
from nvr_console.core.folder_names import folder_problem
from nvr_console.core.logging_setup import PrivateRotatingFileHandler
from nvr_console.core.masking import mask_secrets
from nvr_console.core.recording.errors import (
    DISK_FULL_MESSAGE,
    NO_SPACE,
    FfmpegErrorKind,
    classify_ffmpeg_error,
    last_error_line,
)
from nvr_console.core.recording.ffmpeg_command import build_record_command, command_for_log
from nvr_console.core.recording.probe import MediaInfo, parse_ffmpeg_output_streams
from nvr_console.core.recording.progress import ProgressParser, ProgressSnapshot, SegmentFinished
from nvr_console.core.recording.restart_backoff import RestartBackoff
from nvr_console.core.recording.segment_files import SegmentFiles
from nvr_console.core.recording.segments import FinishedSegment, name_for, raw_name_time
from nvr_console.core.recording.stream_support import stream_summary, unrecordable_reason
from nvr_console.core.schedule.boundaries import now_in
from nvr_console.core.status import CameraState, CameraStatus, LogLine

log = logging.getLogger(__name__)

STABLE_AFTER_S = 10.0  # recording this long resets the backoff
# A -progress block every 5 s, not FFmpeg's 0.5 s: each one wakes the engine's Python up, and live stats
# (fps; size comes from the file) need no more. The first block still comes at once (see ffmpeg_command).
STATS_PERIOD_S = 5.0
# The folder listing + stat of the current file (size, bitrate, new files) every 5 s rather than every poll,
# and at once after a segment closes; but at least 4 times per stall timeout, as file growth feeds the watchdog.
FILE_CHECK_S = 5.0
# FFmpeg's start-up header (input and output dumps, stream mapping) is some 20-60 lines; stop looking for
# the output streams after this many lines of a run.
HEADER_LINES = 300
# Errors no retry fixes by itself: the camera shows FAILED (and is still retried slowly).
PERMANENT = frozenset({
    FfmpegErrorKind.AUTH, FfmpegErrorKind.NOT_FOUND, FfmpegErrorKind.UNSUPPORTED_CODEC,
    FfmpegErrorKind.ENCODER_MISSING, FfmpegErrorKind.PERMISSION, FfmpegErrorKind.DISK_FULL,
    FfmpegErrorKind.DNS,
})
# What the camera sends cannot be written: a few runs in a row (the camera may have been reconfigured
# meanwhile), then the recorder stops trying: an endless reconnect loop leaves a file per try.
UNWRITABLE = frozenset({FfmpegErrorKind.UNRECORDABLE, FfmpegErrorKind.UNWRITABLE})
GIVE_UP_AFTER = 3


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
        self._unwritable_runs = 0  # runs in a row that ended on a stream it cannot write (UNWRITABLE)
        self._gave_up = False  # failed for good (UNWRITABLE, GIVE_UP_AFTER runs): only the operator restarts it
        self._unrecordable = ""  # this run's streams cannot be recorded: the reason (stream_support)
        self._wanted = False
        self._proc: QProcess | None = None
        self._pid = 0
        self._parser = ProgressParser()
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=60)
        self._stderr_buf = b""
        self._header: list[str] = []  # this run's first stderr lines, until its output streams are known
        self._streams: MediaInfo | None = None  # what this run writes into its segments, from the header
        self._last_status: CameraStatus | None = None
        self._blocks = 0  # progress blocks seen in this run
        self._held: list[SegmentFinished] = []
        self._next_file_check = 0.0
        self._backoff = RestartBackoff(last_exit)
        self._recording_since: float | None = None
        # Size of the run's file when FFmpeg's output opened with nothing written yet (out_time 0: the video's
        # first timed keyframe had not come; ffmpeg_command's notes); None when not waiting for it.
        self._open_size: int | None = None
        self._stop_at: float | None = None  # when `q` was sent
        self._terminated = False
        self._stall_restart = False
        self._last_growth = 0.0
        self._growth_key: tuple[int, int, int] = (0, 0, 0)
        self._files = SegmentFiles(spec.output_dir, _zone(cfg.timezone))
        self._fps = 0.0
        self._file_log = self._make_file_log()

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
        return self._gave_up

    def start(self) -> None:
        """Begin recording (or keep recording); a recorder that gave up stays failed (see retry_now).
        Engine thread."""
        if self._wanted and (self._proc is not None or self._backoff.pending or self._gave_up):
            return
        self._wanted = True
        self._backoff.reset()
        if self._proc is None:
            self._backoff.start_soon(time.time())
            self.poll()

    def retry_now(self) -> None:
        """Operator asked to start a camera that is failing: try again at once, backoff reset. Engine thread."""
        if self._wanted and self._proc is None and (self._backoff.pending or self._gave_up):
            self._gave_up, self._unwritable_runs = False, 0
            self._backoff.start_soon(time.time())
            self.poll()

    def stop(self) -> None:
        """Stop cleanly: `q` on stdin, escalating in poll(); `stopped` is emitted when it is gone. Engine thread."""
        self._wanted = False
        self._gave_up, self._unwritable_runs = False, 0
        self._backoff.cancel()
        if self._proc is None:
            self._set_state(CameraState.STOPPED)
            self.stopped.emit(self.spec.key)
            return
        self._begin_stop()
        self._set_state(CameraState.STOPPING)

    def status(self) -> CameraStatus:
        """The current status as plain data. Engine thread."""
        files = self._files
        return CameraStatus(
            camera_id=self.spec.camera_id if self.spec.camera_id is not None else -self.spec.room_id,
            room=self.spec.room,
            camera=self.spec.name,
            state=self.state,
            since=self.since,
            current_file=str(files.current) if files.current and self._proc is not None else "",
            file_started=files.current_started if self._proc is not None else 0.0,
            file_size=files.current_size if self._proc is not None else 0,
            bitrate_kbps=round(files.bitrate_kbps, 1) if self.state is CameraState.RECORDING else 0.0,
            fps=round(self._fps, 2) if self.state is CameraState.RECORDING else 0.0,
            last_error=self.last_error,
            next_retry_in=self._backoff.countdown(time.time()),
            stream=stream_summary(self._streams) if self._streams is not None else "",
            down_since=self.down_since,
        )

    def poll(self) -> None:
        """Watchdog, stop escalation, restart backoff, current file and statistics. Engine thread, ~1 Hz."""
        now = time.time()
        if self._proc is None:
            if self._wanted and self._backoff.due(now):
                self._launch()
            elif self._backoff.pending:
                self._emit_status()  # the countdown moves
            return
        if self._stop_at is not None:
            if not self._terminated and now - self._stop_at > self.cfg.quit_timeout_s:
                self._terminated = True
                self._log("warning", f"FFmpeg did not stop on 'q' within {self.cfg.quit_timeout_s:g}s; terminating")
                self._proc.terminate()
            elif self._terminated and now - self._stop_at > self.cfg.quit_timeout_s + self.cfg.terminate_timeout_s:
                self._log("warning", "FFmpeg ignored terminate; killing it")
                process_group.kill_group(self._proc)
            return
        # stderr is drained here, not on every readyRead: QProcess keeps reading the pipe into its own
        # buffer (FFmpeg never blocks), and one Python call per poll replaces one per FFmpeg log line.
        self._drain_stderr()
        waiting = self.state is CameraState.STARTING and self._open_size is not None
        if now >= self._next_file_check or waiting:
            self._scan_files(now)
        if waiting and self._open_size is not None and self._files.current_size > self._open_size:
            # Packets reach the file between two progress blocks (5 s apart): recording now, not at the next block.
            self._now_recording(now)
        key = (self._files.current_size, self._files.finished_count, (self._parser.last.out_time_us or 0)
               if self._parser.last else 0)
        if key != self._growth_key:
            self._growth_key = key
            self._last_growth = now
        limit = self.cfg.stall_timeout_s + (self.cfg.socket_timeout_s if self.state is CameraState.STARTING else 0)
        if now - self._last_growth > limit:
            self._stall_restart = True
            self.last_error = (f"No new data from the camera for {limit:g} s (stalled stream); "
                               "restarting the recorder.")
            self._log("warning", self.last_error)
            self._set_state(CameraState.STALLED)
            self._begin_stop()
            return
        if (self.state is CameraState.RECORDING and self._recording_since is not None
                and now - self._recording_since > STABLE_AFTER_S):
            self._backoff.reset()
            self._unwritable_runs = 0
        self._emit_status()

    def dispose(self) -> None:
        """Kill a still-running process at once (last resort at engine exit) and release the log. Engine thread."""
        if self._proc is not None and self._proc.state() != QProcess.ProcessState.NotRunning:
            process_group.kill_group(self._proc)
            self._proc.waitForFinished(3000)
        if self._file_log is not None:
            for h in list(self._file_log.handlers):
                h.close()
                self._file_log.removeHandler(h)

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
        if shutil.which(argv[0]):
            # Linux: FFmpeg finishes its file and stops when the engine is killed (process_group notes); a
            # missing FFmpeg keeps failing to start as itself.
            argv = process_group.parent_death_prefix() + argv
        proc = QProcess(self)
        proc.setProgram(argv[0])
        proc.setArguments(argv[1:])
        env = QProcessEnvironment.systemEnvironment()
        if cfg.timezone and cfg.timezone != "local":
            env.insert("TZ", cfg.timezone)  # FFmpeg's strftime names and clock-time cuts use it
        proc.setProcessEnvironment(env)
        process_group.use_own_session(proc)
        proc.readyReadStandardOutput.connect(self._on_stdout)  # live: segment ends and timeline_origin's clock
        proc.finished.connect(self._on_finished)
        proc.errorOccurred.connect(self._on_error)
        self._proc = proc
        self._parser = ProgressParser()
        self._blocks, self._held = 0, []
        self._stderr_tail.clear()
        self._stderr_buf = b""
        self._header, self._streams, self._unrecordable = [], None, ""
        self._stop_at, self._terminated, self._stall_restart = None, False, False
        self._last_growth = time.time()
        self._files.new_run(name_for(now_in(_zone(cfg.timezone)).replace(microsecond=0)))
        self._growth_key = (0, 0, 0)
        self._next_file_check = 0.0
        self._recording_since = None
        self._open_size = None
        self._set_state(CameraState.STARTING)
        self._log("info", f"starting: {command_for_log(argv)}")
        proc.start()
        pid = int(proc.processId() or 0)
        if pid:
            self._pid = pid
            try:
                process_group.remember(cfg.run_dir, pid, str(strftime_safe(spec.output_dir)))
            except OSError as exc:
                log.warning("cannot write pid file in %s: %s", cfg.run_dir, exc)

    def _begin_stop(self) -> None:
        if self._proc is None or self._stop_at is not None:
            return
        self._stop_at = time.time()
        if self._proc.state() == QProcess.ProcessState.Running:
            self._proc.write(b"q")  # FFmpeg closes the file and writes the last segment line
        else:
            process_group.kill_group(self._proc)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self._proc is not None:
            proc = self._proc
            self._proc = None
            proc.deleteLater()
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
                self._blocks += 1
                if self._blocks >= 2:
                    self._release_held()
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
                if self._blocks < 2:
                    # The first block comes before FFmpeg flushes what it buffered while probing (out_time
                    # 1 ms, then ~1 s of media at once): timeline_origin is ~1 s late until the second block,
                    # which at -stats_period 5 can follow the first cut. Wait for it (or for the exit).
                    self._held.append(event)
                else:
                    self._report_finished(event)
                self._next_file_check = 0.0  # the next file is open: name it at the next poll

    def _now_recording(self, now: float) -> None:
        self._recording_since = now
        self._open_size = None
        self.last_error, self.failure = "", None
        self._scan_files(now)  # so the first RECORDING status names its file
        self._set_state(CameraState.RECORDING)

    def _release_held(self) -> None:
        held, self._held = self._held, []
        for seg in held:
            self._report_finished(seg)

    def _drain_stderr(self) -> None:
        if self._proc is None:
            return
        data = self._proc.readAllStandardError().data()
        if not data:
            return
        self._stderr_buf += bytes(data)
        *lines, self._stderr_buf = self._stderr_buf.split(b"\n")
        kept: list[str] = []
        for raw in lines:
            line = raw.decode("utf-8", "replace").rstrip()
            if not line:
                continue
            if "://" in line or "=" in line:  # all mask_secrets can change; most lines have neither
                line = mask_secrets(line)
            self._stderr_tail.append(line)
            kept.append(line)
            if last_error_line(line):
                self._emit_log("warning", f"FFmpeg: {line}")
                if NO_SPACE in line:
                    self.out_of_space.emit(self.spec.key)  # before FFmpeg exits: the disk guard frees space now
        self._write_file_log(kept)
        self._read_header(kept)

    def _read_header(self, lines: list[str]) -> None:
        """Learn this run's output streams from FFmpeg's start-up header, so the finalizer need not
        probe each segment (an ffprobe start is ~0.1 CPU-s per file). Engine thread."""
        if self._streams is not None or len(self._header) >= HEADER_LINES or not lines:
            return
        self._header += lines[:HEADER_LINES - len(self._header)]
        self._streams = parse_ffmpeg_output_streams(self._header)
        if self._streams is not None or len(self._header) >= HEADER_LINES:
            self._header = []
        if self._streams is not None and not self.spec.sound_only:
            reason = unrecordable_reason(self._streams)
            if reason:
                # Stop at once: what it writes meanwhile is failed by the finalizer with the same reason.
                self._unrecordable = reason[0].upper() + reason[1:] + "."
                self._log("error", self._unrecordable)
                self._begin_stop()

    def _on_finished(self, exit_code: int, _status: QProcess.ExitStatus) -> None:
        proc = self._proc
        if proc is None:
            return
        self._handle_stdout(bytes(proc.readAllStandardOutput().data()) + b"\n")
        self._release_held()
        self._drain_stderr()
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
                started.timestamp() if started else None, now, self._streams))
        self._files.end_run()
        if not self._wanted:
            self._log("info", f"stopped (exit code {exit_code})")
            self._set_state(CameraState.STOPPED)
            self.stopped.emit(self.spec.key)
            return
        if self._stall_restart:
            self._schedule_restart(self.last_error, permanent=False)
            return
        if self._unrecordable:
            self._schedule_restart(self._unrecordable, permanent=True, kind=FfmpegErrorKind.UNRECORDABLE)
            return
        kind, message = classify_ffmpeg_error("\n".join(list(self._stderr_tail)[-30:]))
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
        self._unwritable_runs = self._unwritable_runs + 1 if kind in UNWRITABLE else 0
        if self._unwritable_runs >= GIVE_UP_AFTER:
            self._gave_up = True
            self._backoff.cancel()
            self.last_error = (f"{message} Tried {self._unwritable_runs} times; not retried any more: change the "
                               "camera's settings, then start the camera again.")
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
        if self._streams is None:
            self._drain_stderr()  # the header may still sit in QProcess's buffer (drained at ~1 Hz)
        origin = self._parser.timeline_origin
        start: float | None
        end: float | None
        if origin is not None:
            start, end = origin + seg.start_s, origin + seg.end_s
        else:
            named = raw_name_time(raw, _zone(self.cfg.timezone))
            start = named.timestamp() if named else None
            end = start + seg.duration_s if start is not None else None
        self.segment_finished.emit(FinishedSegment(
            self.spec.key, self.spec.camera_id, self.spec.room, self.spec.name, raw, start, end, self._streams))

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
        self._write_file_log([f"[nvr] {text}"])
        self._emit_log(level, text)

    def _write_file_log(self, lines: list[str]) -> None:
        """One log record per batch, each line stamped: logging per line was most of the stderr cost."""
        if self._file_log is not None and lines:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            self._file_log.info("\n".join(f"{stamp} {line}" for line in lines))

    def _emit_log(self, level: str, text: str) -> None:
        self.log_line.emit(LogLine(time.time(), level, self.spec.camera_id,
                                   mask_secrets(f"{self.spec.room}/{self.spec.name}: {text}")))

    def _make_file_log(self) -> logging.Logger | None:
        """FFmpeg's stderr, per camera, in `<log dir>/ffmpeg/<room>-<camera>.log` (rotating, masked)."""
        if self.cfg.log_dir is None:
            return None
        try:
            folder = self.cfg.log_dir / "ffmpeg"
            folder.mkdir(parents=True, exist_ok=True)
            logger = logging.getLogger(f"nvr_console.ffmpeg.{self.spec.key}.{id(self)}")
            logger.propagate = False
            logger.setLevel(logging.INFO)
            prefix = "sound-" if self.spec.sound_only else ""
            handler = PrivateRotatingFileHandler(
                folder / f"{prefix}{self.spec.room}-{self.spec.name}.log", maxBytes=1024 * 1024, backupCount=2,
                encoding="utf-8", delay=True)
            handler.setFormatter(logging.Formatter("%(message)s"))  # lines come stamped
            logger.addHandler(handler)
            return logger
        except OSError:
            return None


def _zone(name: str) -> ZoneInfo | None:
    return None if name == "local" else ZoneInfo(name)
