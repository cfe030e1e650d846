"""The desktop console as a real subprocess (offscreen): SIGTERM/SIGINT do what Quit does — recorders stop
cleanly, files are finalized, and the process exits 0 — also while the first-run welcome dialog is open."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from nvr_console.core.config import Settings
from tests.core.engine_support import decodes_cleanly, wait_until

EXIT_WAIT_S = 30  # a clean stop takes a second or two; generous for a loaded 2-core box


def _console(settings: Settings, log: Path, *args: str) -> subprocess.Popen[bytes]:
    # HOME/XDG_* already point into this test's home (tests/conftest.py isolated_env).
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "NVR_DATABASE_URL": settings.database.url,
        "NVR_RECORDING_DIR": str(settings.recording.dir),
        "NVR_LOG_DIR": str(settings.log.dir),
        "NVR_RECORDING_SEGMENT_LENGTH": "60",
        "NVR_UPLOAD_DESTINATION": "none",
    }
    return subprocess.Popen([sys.executable, "-m", "nvr_console", *args], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=log.open("ab"))


def _stop(proc: subprocess.Popen[bytes], sig: signal.Signals, log: Path) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(EXIT_WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        pytest.fail(f"the console was still running {EXIT_WAIT_S} s after {sig.name}:\n{log.read_text()[-3000:]}")


@pytest.mark.slow
def test_sigterm_stops_recorders_finalizes_files_and_exits_zero(
    settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = settings_factory()
    log = tmp_path / "console.log"
    root = settings.recording.dir
    proc = _console(settings, log, "--demo")
    try:
        assert wait_until(lambda: any(p.stat().st_size > 0 for p in root.rglob("*.mkv")), 40), log.read_text()[-3000:]
        code = _stop(proc, signal.SIGTERM, log)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert "SIGTERM received" in text and "engine stopped" in text
    finals = list(root.rglob("*.mp4"))
    assert finals, text[-3000:]  # the raw segments were finalized before the exit
    assert not list(root.rglob("*.mkv")), text[-3000:]
    for mp4 in finals:
        assert decodes_cleanly(mp4), mp4


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_while_the_welcome_dialog_is_open_exits_zero(
    sig: signal.Signals, settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    # The packaged console's first run: an empty database, so the welcome dialog is up when SIGTERM comes.
    settings = settings_factory()
    log = tmp_path / "console.log"
    proc = _console(settings, log)
    try:
        assert wait_until(lambda: "showing the welcome" in log.read_text(), 40), log.read_text()[-3000:]
        code = _stop(proc, sig, log)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, log.read_text()[-3000:]
    assert f"{sig.name} received" in log.read_text() and "engine stopped" in log.read_text()


def test_no_record_opens_a_control_station_that_records_nothing(
    settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    from nvr_console.core.db.session import Database
    from nvr_console.core.fleet import registry

    settings = settings_factory()
    log = tmp_path / "console.log"
    proc = _console(settings, log, "--demo", "--no-record")
    db = Database(settings.database.url)
    try:
        def station() -> bool:
            try:
                return any(n.role == "control" and n.alive for n in registry.list_nodes(db))
            except Exception:  # the console has not made its tables yet
                return False

        assert wait_until(station, 40), log.read_text()[-3000:]
        assert wait_until(lambda: "control station" in log.read_text(), 20), log.read_text()[-3000:]
        code = _stop(proc, signal.SIGTERM, log)
    finally:
        if proc.poll() is None:
            proc.kill()
        db.dispose()
    assert code == 0, log.read_text()[-3000:]
    # The demo cameras exist, but this console holds no lease and started no FFmpeg: no file anywhere.
    assert not list(settings.recording.dir.rglob("*.mkv")) and not list(settings.recording.dir.rglob("*.mp4"))
