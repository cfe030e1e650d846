"""Start-up recovery without an engine: rows and raw files left by a crash become jobs; their outcome."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.recording.ffmpeg_locate import locate_tools
from nvr_console.core.recording.finalizer import finalize
from nvr_console.core.recording.lifecycle import register_segment
from nvr_console.core.recording.recovery import plan_recovery

SLOT = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def test_rows_and_stray_files_are_recovered(db: Database, settings: Settings) -> None:
    root = settings.recording.dir
    cam = root / "R" / "cam"
    cam.mkdir(parents=True)
    catalog.add_room(db, "R")
    info = catalog.add_camera(db, "R", "cam", "rtsp://127.0.0.1:1/x")
    # 1. a row left in `recording` whose raw file is there (crash mid-file, truncated MKV)
    with_row = cam / "2026-11-24_09-30-00.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=3",
                    "-c:v", "libx264", "-preset", "ultrafast", "-f", "matroska", str(with_row)], check=True)
    data = with_row.read_bytes()
    with_row.write_bytes(data[: len(data) * 2 // 3])  # cut like a SIGKILL would
    register_segment(db, info.id, "R", "cam", with_row, SLOT)
    # 2. a raw file with no row at all
    stray = cam / "2026-11-24_10-00-00.mkv"
    stray.write_bytes(data)
    # 3. a row whose file vanished
    register_segment(db, info.id, "R", "cam", cam / "2026-11-24_10-30-00.mkv", SLOT)
    # 4. a half-written MP4 from an interrupted remux
    (cam / "2026-11-24").mkdir()
    partial = cam / "2026-11-24" / ".09-30-00.mp4.partial"
    partial.write_bytes(b"half")

    jobs = plan_recovery(db, root, 1800, None)
    assert sorted(j.raw.name for j in jobs) == sorted([with_row.name, stray.name, "2026-11-24_10-30-00.mkv"])
    assert all(j.recovery for j in jobs)
    assert not partial.exists()
    events = {e.path: e for e in (finalize(j, locate_tools(), db, None) for j in jobs)}
    rows = {r.local_path: r for r in catalog.list_recordings(db)}
    ok1 = str(cam / "2026-11-24" / "09-30-00.mp4")
    ok2 = str(cam / "2026-11-24" / "10-00-00.mp4")
    gone = str(cam / "2026-11-24" / "10-30-00.mp4")
    assert rows[ok1].status == "ready" and rows[ok1].duration > 1.0 and "recovered" in rows[ok1].notes
    assert rows[ok2].status == "ready" and rows[ok2].camera_id == info.id
    assert rows[gone].status == "failed" and "vanished" in rows[gone].last_error
    assert events[ok1].status == "ready"
    assert not list(cam.glob("*.mkv"))
    # Nothing left to do the second time.
    assert plan_recovery(db, root, 1800, None) == []


def test_recovery_of_an_empty_folder(db: Database, tmp_path: Path) -> None:
    assert plan_recovery(db, tmp_path / "nothing", 1800, None) == []
