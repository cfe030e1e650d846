"""Start and stop tests/support/rtsp_server.py (GStreamer RTSP server) from the venv's pytest.

The server needs the system python's ``gi``; this module only runs it as a subprocess.

    with RtspServer() as server:
        url = server.url("/cam")                          # rtsp://127.0.0.1:<port>/cam
        secure = server.url("/secure", "admin", "s3cret-pass")
        server.stop(); server.start()                      # same port: a camera that reboots
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import IO
from urllib.parse import quote

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("rtsp_server.py")
SECURE_USER = "admin"
SECURE_PASSWORD = "s3cret-pass"


def gst_rtsp_server_available(python: str = SYSTEM_PYTHON) -> tuple[bool, str]:
    """(True, "") when `python` can import GstRtspServer; else (False, reason)."""
    if not Path(python).exists():
        return False, f"{python} not found"
    code = "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=30, check=False)
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "import failed"
        return False, (f"{python} cannot import GstRtspServer ({last}); install python3-gi "
                       "gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-{good,bad,ugly} gstreamer1.0-libav")
    return True, ""


class RtspServer:
    """A live RTSP server on 127.0.0.1 in its own process group."""

    def __init__(self, port: int | None = None, python: str = SYSTEM_PYTHON, ready_timeout_s: float = 20.0,
                 auto_restart: bool = False, mounts: dict[str, str] | None = None) -> None:
        """mounts: extra unshared mounts, path -> gst-launch description (rtsp_server.py --mount)."""
        # 0 until the first start: the server binds any free port itself and says which (READY <port>), so
        # two servers started at once (pytest-xdist workers) cannot both be handed one port by free_port().
        # Restarts keep the port, as a rebooting camera does.
        self.port = port or 0
        self.mounts = dict(mounts or {})
        # GStreamer's RTSP server 1.22 can abort when many clients PLAY one shared media at once
        # (gst_rtsp_media_get_rates assertion): like a rebooting camera, it comes back on the same port.
        self.auto_restart = auto_restart
        self.restarts = 0
        self._lock = threading.Lock()
        self.python = python
        self.ready_timeout_s = ready_timeout_s
        self.audio_codec: str | None = None  # codec of /audio, as the server reports it
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: deque[str] = deque(maxlen=400)  # the server's last lines (both streams)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def url(self, mount: str = "/cam", user: str | None = None, password: str | None = None) -> str:
        mount = mount if mount.startswith("/") else f"/{mount}"
        auth = ""
        if user is not None:
            auth = quote(user, safe="")
            if password is not None:
                auth += ":" + quote(password, safe="")
            auth += "@"
        return f"rtsp://{auth}127.0.0.1:{self.port}{mount}"

    def start(self) -> RtspServer:
        """Start (or restart) on self.port; returns once the server prints READY."""
        if self.running:
            return self
        deadline = time.monotonic() + self.ready_timeout_s
        while True:
            proc = subprocess.Popen(
                [self.python, str(SCRIPT), "--port", str(self.port),
                 *(f"--mount={path}={launch}" for path, launch in self.mounts.items())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                # GStreamer ERROR lines, so a failing test shows why the server refused a client.
                env={**os.environ, "GST_DEBUG": os.environ.get("GST_DEBUG", "1"), "GST_DEBUG_NO_COLOR": "1"},
                text=True,
                start_new_session=True,  # its own process group, killed as a whole in stop()
            )
            assert proc.stdout is not None and proc.stderr is not None
            threading.Thread(target=self._drain, args=(proc.stderr,), daemon=True).start()
            line = ""
            for line in proc.stdout:
                if line.startswith("AUDIO "):
                    self.audio_codec = line.split()[1]
                if line.startswith(("READY", "FAILED")):
                    break
            if line.startswith("READY"):
                with self._lock:
                    self._proc = proc
                    self.port = int(line.split()[1])
                threading.Thread(target=self._drain, args=(proc.stdout,), daemon=True).start()
                if self.auto_restart:
                    threading.Thread(target=self._supervise, args=(proc,), daemon=True).start()
                return self
            self._kill(proc)
            # The port may still be held by the previous run's sockets for a moment after a restart.
            if time.monotonic() > deadline:
                raise RuntimeError(f"RTSP server did not start on port {self.port}: {line.strip()} "
                                   f"{self.log_tail(2000)}")
            time.sleep(0.2)

    def _supervise(self, proc: subprocess.Popen[str]) -> None:
        """Restart a server that died on its own (not one stopped by stop()); noted in the log tail."""
        proc.wait()
        with self._lock:
            if self._proc is not proc:
                return  # stopped or replaced on purpose
            self._proc = None
        self._kill(proc)  # closes its pipes
        self._stderr.append(f"RESTART: the server died (exit {proc.returncode}); starting it again on port "
                            f"{self.port}\n")
        self.restarts += 1
        try:
            self.start()
        except RuntimeError as exc:
            self._stderr.append(f"RESTART failed: {exc}\n")

    def _drain(self, stream: IO[str]) -> None:
        # stop() closes the pipes while this thread may still be reading: that ends the drain, nothing else.
        with contextlib.suppress(ValueError, OSError):
            for line in stream:
                self._stderr.append(line)

    @staticmethod
    def _kill(proc: subprocess.Popen[str]) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):  # a drain thread may be reading it
                    stream.close()

    def stop(self) -> None:
        """Stop the server (clients see the connection drop); start() brings it back on the same port."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None:
            self._kill(proc)

    def ensure_running(self) -> str | None:
        """Restart a server that died (GStreamer can crash under load); returns its last stderr if it did."""
        if self._proc is None or self.running:
            return None
        tail = self.log_tail(2000)
        self._proc = None
        self.start()
        return tail

    def log_tail(self, chars: int = 3000) -> str:
        """The server's last output lines (GStreamer errors, HEAL notes), for a failing test's report."""
        return "".join(list(self._stderr))[-chars:]

    def break_pipelines(self) -> None:
        """Put every mount's current shared pipeline into an error state, as an encoder fault would."""
        assert self._proc is not None, "start() the server first"
        os.kill(self._proc.pid, signal.SIGUSR1)

    def close(self) -> None:
        self.stop()

    def __enter__(self) -> RtspServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
