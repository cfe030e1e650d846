"""The headless runner as a real subprocess: SIGKILL mid-file, recovery at the next start, SIGTERM -> exit 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.recording.segment_names import raw_segments
from tests.core.engine_support import decodes_cleanly, ffmpeg_pids_writing_to, ffprobe_json, wait_until
from tests.support.fixtures_rtsp import rtsp_server  # noqa: F401
from tests.support.rtsp_peer import RtspServer


def _runner(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NVR_DATABASE_URL": settings.database.url,
        "NVR_RECORDING_DIR": str(settings.recording.dir),
        "NVR_LOG_DIR": str(settings.log.dir),
        "NVR_RECORDING_SEGMENT_LENGTH": "60",
        "NVR_UPLOAD_DESTINATION": "none",
    }
    return subprocess.Popen([sys.executable, "-m", "nvr_console.cli.main", "--no-gui"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log.open("ab"))


@pytest.mark.slow
def test_sigkill_mid_file_is_recovered_and_sigterm_exits_zero(
    rtsp_server: RtspServer,  # noqa: F811
    settings_factory: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    settings = settings_factory(**{"recording.segment_length": "60"})
    root = settings.recording.dir
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "R1")
    catalog.add_camera(db, "R1", "cam", rtsp_server.url("/cam"))
    cam_dir = root / "R1" / "cam"
    log = tmp_path / "runner.log"

    first = _runner(settings, log)
    try:
        # Mid-file: the raw segment being written has grown for a few seconds, and the next cut (every minute)
        # is not about to come: killed just after one, the new file would still be empty (seen in CI).
        def mid_file() -> bool:
            segs = raw_segments(cam_dir)
            return bool(segs) and segs[-1].stat().st_size > 50_000 and 60 - time.time() % 60 > 5

        assert wait_until(lambda: any(p.stat().st_size > 50_000 for p in raw_segments(cam_dir)), 40), log.read_text()
        time.sleep(5)
        assert wait_until(mid_file, 70), log.read_text()
        raw = raw_segments(cam_dir)[-1]
        killed_at = time.time()
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()

    second = _runner(settings, log)
    try:
        def recovered() -> list[catalog.RecordingInfo]:
            return [r for r in catalog.list_recordings(db) if r.status == "ready" and "recovered" in r.notes]

        assert wait_until(lambda: bool(recovered()), 60), (log.read_text()[-3000:], catalog.list_recordings(db))
        assert wait_until(lambda: any(p.name > raw.name for p in raw_segments(cam_dir)), 20)  # recording again
        second.send_signal(signal.SIGTERM)
        code = second.wait(60)
    finally:
        if second.poll() is None:
            second.kill()
    assert code == 0, log.read_text()[-3000:]
    assert not ffmpeg_pids_writing_to(root)

    rec = next(r for r in recovered() if r.local_path.endswith(raw.name.split("_")[1].replace(".mkv", ".mp4")))
    assert rec.start_time is not None
    path = Path(rec.local_path)
    assert decodes_cleanly(path)
    duration = float(ffprobe_json(path)["format"]["duration"])
    # Covers up to the kill (the flushed MKV keeps every packet written before it).
    assert duration >= killed_at - rec.start_time.timestamp() - 2.5, (duration, killed_at, rec.start_time)

    rows = catalog.list_recordings(db)
    assert rows and all(r.status == "ready" for r in rows), [(r.local_path, r.status, r.notes) for r in rows]
    for r in rows:
        assert decodes_cleanly(Path(r.local_path)), r.local_path
    assert not raw_segments(cam_dir)  # every raw segment became an MP4
    db.dispose()


def _demo_runner(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "NVR_DATABASE_URL": settings.database.url, "NVR_RECORDING_DIR": str(settings.recording.dir),
           "NVR_LOG_DIR": str(settings.log.dir), "NVR_RECORDING_SEGMENT_LENGTH": "3",
           "NVR_UPLOAD_DESTINATION": "none"}
    return subprocess.Popen([sys.executable, "-m", "nvr_console.cli.main", "--demo", "--no-gui"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log.open("wb"))


def _ready_paths(text: str) -> list[str]:
    return [line.split(": ready ", 1)[1].split(" (", 1)[0] for line in text.splitlines() if ": ready /" in line]


@pytest.mark.slow
def test_a_new_users_first_start_and_restart_say_each_thing_once(settings_factory: Callable[..., Settings],
                                                                 tmp_path: Path) -> None:
    """`nvr-console --demo --no-gui` as a new user runs it, stopped with Ctrl-C and started again: only the
    settings the user chose at info (not some fifty defaults), each finished file logged once, and no warning
    that the node 'lost' its cameras after its own clean stop."""
    settings = settings_factory()
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    for log in logs:
        proc = _demo_runner(settings, log)
        try:
            assert wait_until(lambda log=log: len(_ready_paths(log.read_text())) >= 3, 60), log.read_text()[-3000:]
            time.sleep(2)  # a few fleet turns after the files
            proc.send_signal(signal.SIGINT)
            assert proc.wait(60) == 0, log.read_text()[-3000:]
        finally:
            if proc.poll() is None:
                proc.kill()
    first, second = (log.read_text() for log in logs)
    settings_lines = [line for line in first.splitlines() if ": setting " in line]
    assert settings_lines and all(" INFO " in line and not line.endswith("(default)") for line in settings_lines)
    assert any("setting recording.segment_length = 3" in line for line in settings_lines)
    for text in (first, second):
        paths = _ready_paths(text)
        assert paths and len(paths) == len(set(paths)), "\n".join(ln for ln in text.splitlines() if "ready" in ln)
    assert "lost camera" not in second and " WARNING " not in second, second
