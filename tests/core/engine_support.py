"""Helpers for engine tests: run an Engine in its thread, collect its signals, inspect files and processes."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject

from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.engine.host import EngineHost
from nvr_console.core.status import CameraState, CameraStatus, DiskStatus, LogLine, RecordingEvent


@dataclass
class Collected:
    """Everything an engine emitted (signals may arrive on any thread: guarded by a lock)."""

    statuses: list[CameraStatus] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    finished: list[RecordingEvent] = field(default_factory=list)
    ready: list[int] = field(default_factory=list)
    logs: list[LogLine] = field(default_factory=list)
    disk: list[DiskStatus] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, engine: object) -> None:
        def add(bucket: list) -> Callable[[object], None]:
            def f(x: object) -> None:
                with self.lock:
                    bucket.append(x)
            return f

        engine.camera_status.connect(add(self.statuses))  # type: ignore[attr-defined]
        engine.camera_removed.connect(add(self.removed))  # type: ignore[attr-defined]
        engine.recording_finished.connect(add(self.finished))  # type: ignore[attr-defined]
        engine.recording_ready.connect(add(self.ready))  # type: ignore[attr-defined]
        engine.log_line.connect(add(self.logs))  # type: ignore[attr-defined]
        if hasattr(engine, "disk_status"):  # a recording engine (a control station has no disk to mind)
            engine.disk_status.connect(add(self.disk))

    def latest(self, camera_id: int) -> CameraStatus | None:
        with self.lock:
            return next((s for s in reversed(self.statuses) if s.camera_id == camera_id), None)

    def states(self, camera_id: int) -> list[CameraState]:
        with self.lock:
            return [s.state for s in self.statuses if s.camera_id == camera_id]

    def files(self, camera: str) -> list[RecordingEvent]:
        with self.lock:
            return sorted((e for e in self.finished if e.camera == camera), key=lambda e: e.path)


def start_collecting(settings: Settings, db: Database, engine: QObject) -> tuple[EngineHost, Collected]:
    """`engine` in its own thread (EngineHost), started, with everything it emits collected."""
    got = Collected()
    got.attach(engine)
    host = EngineHost(settings, db, engine)  # type: ignore[arg-type]
    host.start()
    return host, got


def wait_until(cond: Callable[[], bool], timeout_s: float, step_s: float = 0.1) -> bool:
    """Spin the Qt event loop until cond() or timeout; returns cond()."""
    deadline = time.monotonic() + timeout_s
    app = QCoreApplication.instance()
    while time.monotonic() < deadline:
        if app is not None:
            app.processEvents()
        if cond():
            return True
        time.sleep(step_s)
    return cond()


def ffprobe_json(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
                          str(path)], capture_output=True, text=True, timeout=60, check=True).stdout
    return json.loads(out)


def codecs(path: Path) -> dict[str, str]:
    """{"video": "h264", "audio": "aac"} of a file."""
    return {s["codec_type"]: s["codec_name"] for s in reversed(ffprobe_json(path)["streams"])}


def decodes_cleanly(path: Path) -> bool:
    """The whole file decodes (what a player does), errors reported by FFmpeg count as failure."""
    proc = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-f", "null", "-"],
                          capture_output=True, text=True, timeout=120, check=False)
    return proc.returncode == 0


def ffmpeg_pids_writing_to(folder: Path, *, recorders_only: bool = False) -> list[int]:
    """Live ffmpeg processes whose command line names `folder` (Linux /proc). recorders_only: not the
    finalizer's remux of a closed file, which starts at once and may still run when a recorder is gone."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        cmd = b" ".join(argv).decode("utf-8", "replace")
        if recorders_only and " -f segment " not in cmd:
            continue
        # FFmpeg itself, not the guard that starts it (process_group.parent_death_prefix), whose
        # command line names the same folder.
        if Path(argv[0].decode("utf-8", "replace")).name.startswith("ffmpeg") and str(folder) in cmd \
                and ") Z" not in stat:
            pids.append(int(proc.name))
    return pids
