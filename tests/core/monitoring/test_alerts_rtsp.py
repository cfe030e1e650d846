"""Alerts end to end: a real engine recording from the loopback RTSP server, mail through aiosmtpd (STARTTLS,
login), webhooks to a local receiver, uploads to the Drive test server.

- a camera whose server dies for longer than the threshold fires one alert and one resolved message, on
  both channels, and a restart of the process in the middle neither repeats nor loses it;
- an upload queue paused by Drive's storage-quota error fires, and resolves once uploads work again;
- a mail server that accepts connections and never answers does not slow recording.
No password (camera URL, SMTP login) appears in a message, a metric or a log line.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMetaObject, Qt

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import Recording
from nvr_console.core.db.session import Database
from nvr_console.core.engine.host import EngineHost
from nvr_console.core.monitoring import alert_store
from nvr_console.core.monitoring.monitor import Monitor
from nvr_console.core.status import CameraState
from tests.core.engine_support import Collected, wait_until
from tests.support.drive_server import DriveServer
from tests.support.http_receiver import HttpReceiver
from tests.support.ports import free_port
from tests.support.rtsp_peer import SECURE_PASSWORD, SECURE_USER, RtspServer
from tests.support.smtp_peer import SilentSmtp, SmtpPeer

SMTP_PASSWORD = "Mail-Pa55word"
FAST = {"alerts.check_every": "1s", "alerts.camera_down_after": "3s", "alerts.repeat_every": "off",
        "alerts.reconnects_per_hour": 0, "alerts.oldest_waiting_after": "off", "alerts.disk_forecast_under": "off",
        "recording.stall_timeout": "3", "recording.socket_timeout": "2", "recording.segment_length": "2",
        "retention.min_free_space": 0}


def smtp_settings(smtp: SmtpPeer, tmp_path: Path) -> dict[str, Any]:
    secrets = tmp_path / "smtp.toml"
    secrets.write_text(f'username = "nvr"\npassword = "{SMTP_PASSWORD}"\n')
    secrets.chmod(0o600)
    return {"email.host": "127.0.0.1", "email.port": smtp.port, "email.security": "starttls",
            "email.secrets_file": str(secrets), "email.recipients": "ops@example.edu",
            "email.ca_file": str(smtp.cert_path)}


class Running:
    """An engine and its monitor, started and stopped as the shells do (monitor first on the way down)."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.host = EngineHost(settings, db)
        self.got = Collected()
        self.got.attach(self.host.engine)
        self.monitor = Monitor(settings, db)
        self.monitor.attach(self.host.engine)
        self.monitor.start()
        self.host.start()

    def stop(self) -> None:
        self.monitor.stop()
        assert self.host.stop(30)


@pytest.fixture
def running() -> Iterator[Callable[[Settings, Database], Running]]:
    made: list[Running] = []

    def start(settings: Settings, db: Database) -> Running:
        made.append(Running(settings, db))
        return made[-1]

    yield start
    for r in made:
        if not r.host.stopped:
            r.stop()


def state_of(r: Running, camera_id: int) -> CameraState | None:
    st = r.got.latest(camera_id)
    return st.state if st else None


def of_rule(bodies: list[dict[str, Any]], rule: str) -> list[str]:
    return [b["status"] for b in bodies if b["alert"]["rule"] == rule]


def mails_of(smtp: SmtpPeer, subject_part: str) -> list[str]:
    return [m["Subject"] for m in smtp.messages if subject_part in m["Subject"]]


@pytest.mark.slow
def test_dead_camera_fires_once_and_resolves_once_across_a_restart(
    settings_factory: Callable[..., Settings], tmp_path: Path, qapp: object, running: Callable[..., Running],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with RtspServer() as camera_server, SmtpPeer("starttls", "nvr", SMTP_PASSWORD) as smtp, HttpReceiver() as hook:
        settings = settings_factory(**FAST, **smtp_settings(smtp, tmp_path), **{
            "upload.destination": "none", "webhook.url": hook.url("/hooks/SECRET-PATH"),
            "metrics.listen": "127.0.0.1:0"})
        db = Database(settings.database.url)
        prepare_database(db)
        catalog.add_room(db, "A-101")
        cam = catalog.add_camera(db, "A-101", "front", camera_server.url("/secure", SECURE_USER, SECURE_PASSWORD))
        first = running(settings, db)
        assert wait_until(lambda: state_of(first, cam.id) is CameraState.RECORDING, 30)

        camera_server.stop()  # the camera dies
        died = time.monotonic()
        assert wait_until(lambda: of_rule(hook.bodies(), "camera_down") == ["firing"], 40), hook.bodies()
        assert len(smtp.wait_for(1, 20)) >= 1
        fired_after = time.monotonic() - died
        [body] = [b for b in hook.bodies() if b["alert"]["rule"] == "camera_down"]
        assert body["alert"]["subject"] == "A-101 / front" and body["alert"]["severity"] == "critical"
        assert mails_of(smtp, "A-101 / front") == ["[nvr-console] CRITICAL: A-101 / front: camera not recording"]
        assert first.monitor.metrics is not None
        metrics_text = urllib.request.urlopen(first.monitor.metrics.url, timeout=10).read().decode()
        assert 'nvr_camera_up{camera="front",room="A-101"} 0.0' in metrics_text

        # The process restarts while the camera is still dead: no second "firing", and not forgotten.
        first.stop()
        second = running(settings, db)
        checks = second.monitor.checks
        assert wait_until(lambda: second.monitor.checks >= checks + 6, 30)  # twice the threshold, evaluated
        assert of_rule(hook.bodies(), "camera_down") == ["firing"]
        assert len(mails_of(smtp, "A-101 / front")) == 1
        assert [a.key for a in alert_store.firing(db)] == [f"camera_down:camera:{cam.id}"]

        camera_server.start()  # the camera comes back on the same address
        assert wait_until(lambda: of_rule(hook.bodies(), "camera_down") == ["firing", "resolved"], 60), hook.bodies()
        smtp.wait_for(2, 20)
        assert mails_of(smtp, "A-101 / front") == [
            "[nvr-console] CRITICAL: A-101 / front: camera not recording",
            "[nvr-console] RESOLVED: A-101 / front: camera not recording"]
        time.sleep(2.5)  # a few more checks: nothing else is sent
        assert of_rule(hook.bodies(), "camera_down") == ["firing", "resolved"]
        assert alert_store.firing(db) == []
        assert alert_store.owed(db) == []  # every message was delivered and settled
        second.stop()
        db.dispose()
    assert fired_after < 3 + 30  # threshold + FFmpeg noticing the loss + one check (a deadline, not a figure)
    everything = [r.body.decode() for r in hook.received] + [raw.decode() for raw in smtp.raw] + [metrics_text,
                                                                                                 caplog.text]
    for text in everything:
        assert SECURE_PASSWORD not in text and SMTP_PASSWORD not in text and "SECRET-PATH" not in text


@pytest.mark.slow
def test_paused_queue_fires_and_resolves(
    settings_factory: Callable[..., Settings], tmp_path: Path, qapp: object, running: Callable[..., Running],
) -> None:
    with DriveServer() as drive, HttpReceiver() as hook:
        settings = settings_factory(**FAST, **{
            "upload.destination": "drive", "drive.api_root": drive.root_url, "drive.credentials": "anonymous",
            "upload.chunk_size": "256KiB", "retention.delete_after": "never", "webhook.url": hook.url(),
            "webhook.format": "slack"})
        db = Database(settings.database.url)
        prepare_database(db)
        files = tmp_path / "files"
        files.mkdir()
        for i in range(2):
            path = files / f"clip-{i}.mp4"
            path.write_bytes(os.urandom(300_000))
            with db.session() as s:
                s.add(Recording(room_name="A-101", camera_name="front", slot_start=datetime.now(UTC),
                                local_path=str(path), local_path_key=catalog.path_key(str(path)), status="ready",
                                size=300_000))
        drive.fail_next("create_session", "storage_quota")
        r = running(settings, db)
        assert wait_until(lambda: any("uploads paused" in b["text"] for b in hook.bodies()), 40), hook.bodies()
        [fired] = hook.bodies()
        assert fired["text"].startswith("WARNING: upload queue on ") and "storage is full" in fired["text"]
        assert fired["username"] == "nvr-console"
        # The operator freed space and resumes: uploads work, the alert resolves, once.
        QMetaObject.invokeMethod(r.host.engine, "resume_uploads", Qt.ConnectionType.QueuedConnection)
        assert wait_until(lambda: len(hook.bodies()) == 2, 40), hook.bodies()
        assert hook.bodies()[1]["text"].startswith("RESOLVED: upload queue on ")
        time.sleep(2.5)
        assert len(hook.bodies()) == 2
        r.stop()
        db.dispose()


@pytest.mark.slow
def test_dead_mail_server_does_not_slow_recording(
    settings_factory: Callable[..., Settings], rtsp_server: RtspServer, qapp: object, tmp_path: Path,
    running: Callable[..., Running],
) -> None:
    with SilentSmtp() as silent, HttpReceiver() as hook:
        settings = settings_factory(**{**FAST, "alerts.camera_down_after": "1s"}, **{
            "upload.destination": "none", "webhook.url": hook.url(),
            "email.host": "127.0.0.1", "email.port": silent.port, "email.security": "none",
            "email.recipients": "ops@example.edu"})
        db = Database(settings.database.url)
        prepare_database(db)
        catalog.add_room(db, "A-101")
        catalog.add_camera(db, "A-101", "good", rtsp_server.url("/cam"))
        catalog.add_camera(db, "A-101", "dead", f"rtsp://127.0.0.1:{free_port()}/cam")  # fires camera_down
        r = running(settings, db)
        # The alert went out by webhook, and the mail channel is stuck waiting for a greeting.
        assert wait_until(lambda: any(b["alert"]["subject"] == "A-101 / dead" for b in hook.bodies()), 30)
        assert wait_until(lambda: silent.connections >= 1, 10)
        stuck_from = len(r.got.files("good"))
        assert wait_until(lambda: len(r.got.files("good")) >= stuck_from + 5, 30)
        assert silent.connections <= 2 and alert_store.owed(db)  # the mail is still owed throughout
        # Every 2 s slot of the good camera was finalized in turn while the mail waited: no gap, no lag.
        finished = [e for e in r.got.files("good") if e.status == "ready"]
        slots = sorted(e.slot_start for e in finished)
        assert all(b - a == 2 for a, b in itertools.pairwise(slots[1:])), slots  # the first may start mid-slot
        r.stop()
        db.dispose()
