"""The headless runner as a real subprocess with monitoring on: metrics served while it records, and the
systemd watchdog fed from its event loop while the engine thread answers (NOTIFY_SOCKET in the test)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from tests.support.ports import free_port
from tests.support.rtsp_peer import SECURE_PASSWORD, SECURE_USER, RtspServer


def camera_up(url: str) -> float | None:
    try:
        text = urllib.request.urlopen(url, timeout=5).read().decode()
    except OSError:
        return None
    assert SECURE_PASSWORD not in text
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "nvr_camera_up" and s.labels == {"room": "R1", "camera": "cam"}:
                return s.value
    return None


@pytest.mark.slow
def test_headless_serves_metrics_and_feeds_the_watchdog(
    rtsp_server: RtspServer, settings_factory: Callable[..., Settings], tmp_path: Path,
) -> None:
    settings = settings_factory()
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "R1")
    catalog.add_camera(db, "R1", "cam", rtsp_server.url("/secure", SECURE_USER, SECURE_PASSWORD))
    db.dispose()
    port = free_port()
    sock_dir = tempfile.mkdtemp(prefix="nvr-sd-", dir="/tmp")  # AF_UNIX paths are short
    path = os.path.join(sock_dir, "notify")
    got: list[str] = []
    log = tmp_path / "runner.log"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sd:
        sd.bind(path)
        sd.settimeout(0.2)
        env = {**os.environ, "NVR_DATABASE_URL": settings.database.url,
               "NVR_RECORDING_DIR": str(settings.recording.dir), "NVR_LOG_DIR": str(settings.log.dir),
               "NVR_UPLOAD_DESTINATION": "none", "NVR_METRICS_LISTEN": f"127.0.0.1:{port}",
               "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"}
        proc = subprocess.Popen([sys.executable, "-m", "nvr_console.cli.main", "--no-gui"], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log.open("ab"))
        try:
            deadline = time.monotonic() + 60
            up = None
            while time.monotonic() < deadline and (got.count("WATCHDOG=1") < 5 or up != 1.0):
                with contextlib.suppress(TimeoutError):
                    got.append(sd.recv(4096).decode())
                up = camera_up(f"http://127.0.0.1:{port}/metrics")
            assert up == 1.0, log.read_text()[-3000:]
            assert any(m.startswith("READY=1") for m in got) and got.count("WATCHDOG=1") >= 5, got
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
            while True:
                try:
                    got.append(sd.recv(4096).decode())
                except TimeoutError:
                    break
        finally:
            if proc.poll() is None:
                proc.kill()
            os.unlink(path)
            os.rmdir(sock_dir)
    assert code == 0, log.read_text()[-3000:]
    assert "STOPPING=1" in got
    assert SECURE_PASSWORD not in log.read_text()
