"""systemd's notify protocol over a real unix datagram socket, and the headless runner speaking it."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from nvr_console.core.system.systemd_notify import SystemdNotifier


def _listener(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(30)
    return sock


def test_messages_arrive_and_nothing_happens_outside_systemd(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    with _listener(path) as sock:
        n = SystemdNotifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "20000000"})
        assert n.enabled and n.watchdog_interval_s == 10.0
        assert n.ready("recording") and n.watchdog() and n.stopping()
        got = [sock.recv(256).decode() for _ in range(3)]
    assert got == ["READY=1\nSTATUS=recording", "WATCHDOG=1", "STOPPING=1"]
    quiet = SystemdNotifier({})
    assert not quiet.enabled and not quiet.ready() and quiet.watchdog_interval_s == 0
    # A watchdog meant for another process is not ours to feed.
    assert SystemdNotifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"}
                           ).watchdog_interval_s == 0


def test_abstract_socket_name(tmp_path: Path) -> None:
    name = f"nvr-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(10)
        assert SystemdNotifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert sock.recv(64) == b"READY=1"


def test_headless_runner_reports_ready_watchdog_and_stopping(tmp_path: Path, settings_factory) -> None:
    settings = settings_factory(**{"upload.destination": "none"})
    path = tmp_path / "notify"
    env = {**os.environ, "NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000",
           "NVR_DATABASE_URL": settings.database.url, "NVR_RECORDING_DIR": str(settings.recording.dir),
           "NVR_LOG_DIR": str(settings.log.dir), "NVR_UPLOAD_DESTINATION": "none"}
    with _listener(path) as sock:
        proc = subprocess.Popen([sys.executable, "-m", "nvr_console", "--no-gui"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            messages = []
            while "WATCHDOG=1" not in messages:
                messages.append(sock.recv(256).decode())
            assert messages[0].startswith("READY=1")
            proc.send_signal(signal.SIGTERM)
            while "STOPPING=1" not in messages:
                messages.append(sock.recv(256).decode())
            assert proc.wait(60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
