"""Prometheus metrics scraped over HTTP and read back with prometheus_client's own parser."""

from __future__ import annotations

import math
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import RecordingStatus
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import leases, registry
from nvr_console.core.monitoring.monitor import Monitor
from nvr_console.core.status import (
    CameraState,
    QueueStatus,
    RecordingEvent,
    UploadProgress,
    UploadState,
)
from tests.support.fleet_units import wanted_units
from tests.support.recording_rows import add_recording
from tests.ui.engine_double import EngineDouble

PASSWORD = "Cam3raPa55"


def scrape(url: str) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return text, samples


def wait(cond: Callable[[], bool], timeout_s: float = 20) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


@pytest.fixture
def monitored(settings_factory: Callable[..., Settings], tmp_path: Path) -> Iterator[tuple[Monitor, EngineDouble]]:
    settings = settings_factory(**{"metrics.listen": "127.0.0.1:0", "alerts.check_every": "1s"})
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "A-101")
    cam = catalog.add_camera(db, "A-101", "front", f"rtsp://admin:{PASSWORD}@127.0.0.1:1/stream")
    engine = EngineDouble({cam.id: ("A-101", "front")})
    monitor = Monitor(settings, db, node="node-a")
    monitor.attach(engine)
    monitor.start()
    try:
        yield monitor, engine
    finally:
        monitor.stop()
        db.dispose()


def test_scrape_reports_cameras_queue_and_disk(monitored: tuple[Monitor, EngineDouble]) -> None:
    monitor, engine = monitored
    assert monitor.metrics is not None
    cid = next(iter(engine.cameras))
    cam = (("camera", "front"), ("room", "A-101"))
    engine.status(cid, CameraState.STARTING)
    engine.status(cid, CameraState.RECORDING, current_file="/r/a.mkv", file_size=1000, bitrate_kbps=800.0)
    engine.status(cid, CameraState.RECORDING, current_file="/r/a.mkv", file_size=5000, bitrate_kbps=800.0)
    engine.status(cid, CameraState.RECONNECTING, last_error=f"rtsp://admin:{PASSWORD}@127.0.0.1:1/stream refused")
    engine.status(cid, CameraState.RECORDING, current_file="/r/b.mkv", file_size=700, bitrate_kbps=800.0)
    engine.recording_finished.emit(RecordingEvent(1, cid, "A-101", "front", "/r/a.mp4", "ready", 0, 30, 4000))
    engine.recording_finished.emit(RecordingEvent(2, cid, "A-101", "front", "/r/x.mp4", "failed", 0, 0, 0))
    engine.upload_progress.emit(UploadProgress(1, cid, UploadState.UPLOADED, 4000, 4000))
    engine.upload_progress.emit(UploadProgress(3, cid, UploadState.RETRYING, 0, 9))
    engine.queue_status.emit(QueueStatus(files=2, bytes=123456, rate_bps=1e6, paused=True, reason="Drive is full"))
    checks = monitor.checks
    assert wait(lambda: monitor.checks > checks)

    text, m = scrape(monitor.metrics.url)
    assert m[("nvr_camera_up", cam)] == 1.0
    assert m[("nvr_camera_should_record", cam)] == 1.0
    assert m[("nvr_camera_state", (*cam, ("state", "recording")))] == 1.0
    assert m[("nvr_camera_state", (*cam, ("state", "reconnecting")))] == 0.0
    assert m[("nvr_camera_written_bytes_total", cam)] == 5700.0  # 1000 + 4000 more + 700 of the next file
    assert m[("nvr_camera_reconnects_total", cam)] == 1.0
    assert m[("nvr_camera_segments_finalized_total", cam)] == 1.0
    assert m[("nvr_camera_segments_failed_total", cam)] == 1.0
    assert m[("nvr_camera_recorded_seconds_total", cam)] >= 0.0
    assert m[("nvr_upload_queue_files", ())] == 2.0 and m[("nvr_upload_queue_bytes", ())] == 123456.0
    assert m[("nvr_upload_paused", ())] == 1.0 and m[("nvr_upload_rate_bytes_per_second", ())] == 1e6
    assert m[("nvr_uploads_total", ())] == 1.0 and m[("nvr_uploaded_bytes_total", ())] == 4000.0
    assert m[("nvr_upload_retries_total", ())] == 1.0
    assert m[("nvr_disk_write_rate_bytes_per_second", ())] == 100_000.0  # 800 kbit/s
    assert m[("nvr_disk_free_bytes", ())] > 0
    assert m[("nvr_disk_full_in_seconds", ())] > 0
    assert m[("nvr_node_info", (("node", "node-a"), ("version", "0.1.0")))] == 1.0
    assert ("process_cpu_seconds_total", ()) in m
    # The paused queue fired an alert (uploads_paused_after = 0s) and is counted.
    assert wait(lambda: scrape(monitor.metrics.url)[1].get(
        ("nvr_alerts_firing", (("rule", "uploads_paused"), ("severity", "warning")))) == 1.0)
    assert PASSWORD not in text and "rtsp://" not in text


def test_nothing_written_means_no_forecast(monitored: tuple[Monitor, EngineDouble]) -> None:
    monitor, _engine = monitored
    assert monitor.metrics is not None
    checks = monitor.checks
    assert wait(lambda: monitor.checks > checks)
    _text, m = scrape(monitor.metrics.url)
    assert math.isinf(m[("nvr_disk_full_in_seconds", ())])
    assert m[("nvr_upload_queue_oldest_age_seconds", ())] == 0.0


def test_port_in_use_is_reported_and_recording_goes_on(settings_factory: Callable[..., Settings],
                                                      caplog: pytest.LogCaptureFixture) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        settings = settings_factory(**{"metrics.listen": f"127.0.0.1:{port}"})
        db = Database(settings.database.url)
        prepare_database(db)
        monitor = Monitor(settings, db)
        monitor.start()
        try:
            assert monitor.metrics is None
        finally:
            monitor.stop()
            db.dispose()
    assert f"metrics.listen = 127.0.0.1:{port} cannot be used" in caplog.text


def test_every_node_sharing_the_database_with_its_leases_and_oldest_file(
        monitored: tuple[Monitor, EngineDouble]) -> None:
    monitor, _engine = monitored
    assert monitor.metrics is not None
    db = monitor.db
    registry.register(db, "node-a", "recorder", lease_ttl=30, process="a:1")
    registry.register(db, "node-b", "recorder", lease_ttl=30, process="b:1")
    registry.unregister(db, "node-b", "b:1")
    leases.ensure_rows(db, wanted_units(db))
    (unit,) = leases.read_table(db).leases
    assert leases.acquire(db, unit, "node-a", 30, 0) == 1
    cam = catalog.list_cameras(db)[0]
    finished = datetime.now(UTC) - timedelta(minutes=10)
    add_recording(db, cam, RecordingStatus.READY, finished, node="node-b", end_time=finished)
    checks = monitor.checks
    assert wait(lambda: monitor.checks > checks + 1)
    _text, m = scrape(monitor.metrics.url)
    a, b = (("node", "node-a"),), (("node", "node-b"),)
    assert (m[("nvr_node_up", a)], m[("nvr_node_up", b)]) == (1.0, 0.0)
    assert (m[("nvr_node_leases", a)], m[("nvr_node_leases", b)]) == (1.0, 0.0)
    assert m[("nvr_node_queue_oldest_age_seconds", a)] == 0.0
    assert 590 < m[("nvr_node_queue_oldest_age_seconds", b)] < 700
    assert m[("nvr_upload_queue_oldest_age_seconds", ())] == 0.0  # node-b's file is not this node's


def test_drive_bytes_today_per_account(settings_factory: Callable[..., Settings], tmp_path: Path) -> None:
    """Every node's uploads together, per Google account, for Drive's day (Pacific time)."""
    from nvr_console.core.upload import drive_usage
    from tests.support.drive_token import write_fresh_token

    write_fresh_token(tmp_path / "default.json")
    settings = settings_factory(**{
        "metrics.listen": "127.0.0.1:0", "upload.destination": "drive", "drive.token": tmp_path / "default.json",
        "drive.accounts": '{"campus2": {"token": "c2.json"}}', "drive.daily_limit": "750GB"})
    db = Database(settings.database.url)
    prepare_database(db)
    drive_usage.add(db, "default", 123_000)
    drive_usage.add(db, "default", 1_000)  # another node's upload of the same day
    drive_usage.add(db, "campus2", 5_000)
    drive_usage.add(db, "campus2", 7_000, datetime.now(UTC) - timedelta(days=1))  # yesterday's: not counted
    monitor = Monitor(settings, db, node="node-a", channels=[])
    monitor.start()
    try:
        assert monitor.metrics is not None
        assert wait(lambda: monitor.checks > 0)
        _text, m = scrape(monitor.metrics.url)
        assert m[("nvr_drive_uploaded_bytes_today", (("account", "default"),))] == 124_000.0
        assert m[("nvr_drive_uploaded_bytes_today", (("account", "campus2"),))] == 5_000.0
        assert m[("nvr_drive_daily_limit_bytes", (("account", "campus2"),))] == 750e9
    finally:
        monitor.stop()
        db.dispose()
