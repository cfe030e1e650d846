"""Start-up recovery without an engine: rows and raw files left by a crash become jobs; their outcome."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.recording.ffmpeg_locate import locate_tools
from nvr_console.core.recording.finalizer import finalize
from nvr_console.core.recording.lifecycle import register_segment
from nvr_console.core.recording.recovery import plan_recovery
from tests.core.engine_support import ffprobe_json
from tests.core.recording.test_finalizer import _marker_sound
from tests.support.av_markers import av_offsets, make_marker_clip

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


def test_a_folder_left_in_the_pid_folder_by_an_old_room_name_does_not_stop_recovery(
        db: Database, settings: Settings) -> None:
    # Older versions let a room '.nvr-run' with a camera '1.pid' record into the pid-file folder; the next start
    # failed with "Is a directory" and recovered no camera at all.
    root = settings.recording.dir
    odd = root / ".nvr-run" / "1.pid"
    odd.mkdir(parents=True)
    (odd / "2026-11-24_09-30-00.mkv").write_bytes(b"x")
    cam = root / "R" / "cam"
    cam.mkdir(parents=True)
    raw = cam / "2026-11-24_09-30-00.mkv"
    _ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=2", "-c:v", "libx264", "-preset",
             "ultrafast", "-f", "matroska", str(raw)])
    catalog.add_room(db, "R")
    info = catalog.add_camera(db, "R", "cam", "rtsp://127.0.0.1:1/x")
    register_segment(db, info.id, "R", "cam", raw, SLOT)
    jobs = plan_recovery(db, root, 1800, None)
    assert [j.raw for j in jobs] == [raw]
    assert (odd / "2026-11-24_09-30-00.mkv").exists()  # not ours to judge: left as it was


def _ffmpeg(args: list[str]) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=60)


def test_a_damaged_database_moved_aside_loses_no_recording(settings: Settings, tmp_path: Path) -> None:
    """The database is damaged; the operator does what the error says (move it aside, start again): every
    finished file and every raw segment on disk is registered again, ready for upload; nothing is deleted."""
    root = settings.recording.dir
    day = root / "A-101" / "front" / "2026-11-24"
    day.mkdir(parents=True)
    finals = [day / "09-30-00.mp4", day / "10-00-00.mp4"]
    for final in finals:
        _ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=2", "-f", "lavfi", "-i",
                 "sine=sample_rate=16000:duration=2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                 "-movflags", "+faststart", str(final)])
    raw = root / "A-101" / "front" / "2026-11-24_10-30-00.mkv"  # the file being written when it broke
    _ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=2", "-c:v", "libx264", "-preset",
             "ultrafast", "-f", "matroska", str(raw)])
    (day / "notes.txt").write_text("not a recording")  # other files in the folder are not ours
    sizes = {p: p.stat().st_size for p in [*finals, raw]}

    db_file = Path(make_url(settings.database.url).database or "")
    db_file.write_bytes(b"SQLite format 3\0" + b"\xff" * 4000)  # damaged beyond use
    db_file.chmod(0o600)
    proc = subprocess.run([sys.executable, "-m", "nvr_console", "rooms", "list"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "NVR_DATABASE_URL": settings.database.url})
    assert proc.returncode == 1 and proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert f"SQLite file {db_file} is damaged" in line and "recordings on disk are safe" in line
    assert f"mv {db_file} {db_file}.damaged" in line

    db_file.rename(db_file.with_name(db_file.name + ".damaged"))
    db = Database(settings.database.url)
    try:
        prepare_database(db)
        jobs = plan_recovery(db, root, 1800, None)
        assert sorted(j.final for j in jobs) == sorted([*finals, day / "10-30-00.mp4"])
        for job in jobs:
            assert finalize(job, locate_tools(), db, None).status == "ready"
        rows = {Path(r.local_path): r for r in catalog.list_recordings(db)}
        assert set(rows) == {*finals, day / "10-30-00.mp4"}
        assert all(r.status == "ready" and r.room == "A-101" and r.camera == "front" for r in rows.values())
        for final in finals:
            assert rows[final].size == sizes[final] and rows[final].duration > 1.5
            assert "recovered: final file already written" in rows[final].notes
        assert rows[finals[0]].slot_start.replace(tzinfo=UTC) == datetime(2026, 11, 24, 9, 30).astimezone(UTC)
        assert all(f.stat().st_size == sizes[f] for f in finals) and (day / "notes.txt").exists()
        assert plan_recovery(db, root, 1800, None) == []  # registered once
    finally:
        db.dispose()


def test_finished_files_are_registered_again_only_in_a_fresh_database(db: Database, settings: Settings) -> None:
    # With rows in place, a finished file without one is not recovery's to judge (kept on purpose, another
    # node's); and listing every finished file at each start would cost time proportional to the archive.
    root = settings.recording.dir
    day = root / "R" / "cam" / "2026-11-24"
    day.mkdir(parents=True)
    _ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1", "-c:v", "libx264", "-preset",
             "ultrafast", str(day / "09-30-00.mp4")])
    register_segment(db, None, "R", "other", root / "R" / "other" / "2026-11-24_09-00-00.mkv", SLOT)
    assert [j.raw.name for j in plan_recovery(db, root, 1800, None)] == ["2026-11-24_09-00-00.mkv"]
    assert (day / "09-30-00.mp4").exists()


def test_a_recovered_piece_gets_the_room_sound_of_both_sound_pieces_it_spans(db: Database, settings: Settings) -> None:
    # Only the names are left to align by (1 s). The camera piece opened at :01 (its keyframe after the
    # boundary) and runs 4 s; the sound pieces opened at :59 and :02 (3 s each); beeps and flashes at whole
    # seconds of the wall clock. The one piece chosen before covered 3 of the 4 s.
    root = settings.recording.dir
    catalog.add_room(db, "R")
    raw = root / "R" / "cam" / "2026-11-24_09-30-01.mkv"
    raw.parent.mkdir(parents=True)
    make_marker_clip(root / "clip.mkv", 4, gop=100, audio=False).rename(raw)
    sound = root / "R" / ".sound"
    _marker_sound(sound / "2026-11-24_09-29-56.mkv", 0, 3)  # ends before the video starts
    _marker_sound(sound / "2026-11-24_09-29-59.mkv", 3, 3)
    _marker_sound(sound / "2026-11-24_09-30-02.mkv", 6, 3)
    _marker_sound(sound / "2026-11-24_09-30-05.mkv", 9, 3)  # starts as the video ends
    (job,) = plan_recovery(db, root, 3, None)
    event = finalize(job, locate_tools(), db, None)
    assert event.status == "ready", event.notes
    assert "room audio muxed (2 pieces, offsets -2.000 s, +1.000 s)" in event.notes
    streams = {st["codec_type"]: float(st["duration"]) for st in ffprobe_json(Path(event.path))["streams"]}
    assert streams["audio"] >= 0.97 * streams["video"], streams
    offsets = av_offsets(Path(event.path))
    assert len(offsets) >= 3 and all(abs(o) < 0.05 for o in offsets), offsets
