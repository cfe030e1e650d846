"""A recorder's FFmpeg as a QProcess: how it is started (a session of its own, the parent-death guard, the
camera's time zone) and how it is stopped (`q` on stdin, then terminate, then SIGKILL of its process group).

Engine thread: QProcess is asynchronous, and the parent-death signal comes when the starting thread ends.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment

from nvr_console.core.recording.ffmpeg_command import recorder_environment
from nvr_console.core.system import process_group

log = logging.getLogger(__name__)


def new_process(parent: QObject, argv: list[str], timezone: str | None) -> QProcess:
    """A QProcess ready to start `argv` (not started). Engine thread."""
    if shutil.which(argv[0]):
        # Linux: FFmpeg finishes its file and stops when the engine is killed (process_group notes); a
        # missing FFmpeg keeps failing to start as itself.
        argv = process_group.parent_death_prefix() + argv
    proc = QProcess(parent)
    proc.setProgram(argv[0])
    proc.setArguments(argv[1:])
    env = QProcessEnvironment()
    for name, value in recorder_environment(os.environ, timezone).items():
        env.insert(name, value)  # TZ: FFmpeg's strftime names and clock-time cuts use it
    proc.setProcessEnvironment(env)
    process_group.use_own_session(proc)
    return proc


def start_remembered(proc: QProcess, run_dir: Path, output_dir: str) -> int:
    """Start `proc` and leave a pid file naming its output folder, so that the next engine stops it if this one
    dies (process_group.reap_leftovers); its pid, 0 if it did not start."""
    proc.start()
    pid = int(proc.processId() or 0)
    if pid:
        try:
            process_group.remember(run_dir, pid, output_dir)
        except OSError as exc:
            log.warning("cannot write pid file in %s: %s", run_dir, exc)
    return pid


class StopLadder:
    """Stopping one run: `q` (FFmpeg closes its file and lists the last segment), terminate after
    `quit_timeout_s`, SIGKILL of the group `terminate_timeout_s` later. Engine thread."""

    def __init__(self, quit_timeout_s: float, terminate_timeout_s: float) -> None:
        self.quit_timeout_s, self.terminate_timeout_s = quit_timeout_s, terminate_timeout_s
        self.asked_at: float | None = None  # when `q` was sent; None: not stopping
        self._terminated = False

    @property
    def stopping(self) -> bool:
        return self.asked_at is not None

    def reset(self) -> None:
        """A new run: not stopping."""
        self.asked_at, self._terminated = None, False

    def begin(self, proc: QProcess, now: float) -> None:
        """Ask FFmpeg to stop (once); a process that is not running yet is killed at once."""
        if self.asked_at is not None:
            return
        self.asked_at = now
        if proc.state() == QProcess.ProcessState.Running:
            proc.write(b"q")  # FFmpeg closes the file and writes the last segment line
        else:
            process_group.kill_group(proc)

    def step(self, proc: QProcess, now: float, log: Callable[[str, str], None]) -> None:
        """Escalate when FFmpeg outstays its time (called about once a second while stopping)."""
        if self.asked_at is None:
            return
        if not self._terminated and now - self.asked_at > self.quit_timeout_s:
            self._terminated = True
            log("warning", f"FFmpeg did not stop on 'q' within {self.quit_timeout_s:g}s; terminating")
            proc.terminate()
        elif self._terminated and now - self.asked_at > self.quit_timeout_s + self.terminate_timeout_s:
            log("warning", "FFmpeg ignored terminate; killing it")
            process_group.kill_group(proc)
