"""Fixtures for recording tests: the real RTSP server, FFmpeg, and a recorder runner."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from nvr_console.core.recording.progress import ProgressParser
from tests.support.fixtures_rtsp import rtsp_server  # noqa: F401


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    return path


@dataclass
class RecorderRun:
    returncode: int
    stdout: bytes
    stderr: str
    parser: ProgressParser
    started_at: float
    stopped_at: float


def run_recorder(argv: list[str], seconds: float, *, kill: bool = False,
                 env: dict[str, str] | None = None) -> RecorderRun:
    """Run a recorder argv for `seconds`, then stop it with 'q' (or SIGKILL), parsing stdout live."""
    parser = ProgressParser()
    started = time.time()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    chunks: list[bytes] = []
    err: list[bytes] = []

    def read_out() -> None:
        fd = proc.stdout.fileno()  # type: ignore[union-attr]
        while data := os.read(fd, 4096):
            chunks.append(data)
            parser.feed(data, time.time())

    t_out = threading.Thread(target=read_out, daemon=True)
    t_err = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    t_out.start()
    t_err.start()
    deadline = started + seconds
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    stopped = time.time()
    if proc.poll() is None:
        if kill:
            proc.send_signal(signal.SIGKILL)
        else:
            proc.stdin.write(b"q")
            proc.stdin.flush()
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.close()
    rc = proc.wait(timeout=20)
    t_out.join(5)
    t_err.join(5)
    return RecorderRun(rc, b"".join(chunks), b"".join(err).decode("utf-8", "replace"), parser, started, stopped)


@pytest.fixture
def recorder() -> Callable[..., RecorderRun]:
    return run_recorder


def ffprobe_packets(path: Path, stream: str = "v:0") -> list[float]:
    """pts (seconds) of every packet of one stream, via the real ffprobe."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", stream, "-show_entries", "packet=pts_time",
         "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True, timeout=60).stdout
    return [float(x) for x in out.split() if x and x != "N/A"]


def one_file_segment_seconds(margin_s: int = 15) -> int:
    """A segment length that yields exactly one file for a short recording: a day, whose only wall-clock
    cut is local midnight; if midnight is under `margin_s` away, wait until it has passed."""
    now = datetime.now()
    to_midnight = 86400 - (now.hour * 3600 + now.minute * 60 + now.second)
    if to_midnight < margin_s:
        time.sleep(to_midnight + 1)
    return 86400
