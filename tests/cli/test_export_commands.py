"""`nvr-console export` through main(), on recordings with sync markers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from nvr_console.core import catalog
from nvr_console.core.config import Settings, load_settings
from nvr_console.core.db.session import Database
from tests.support.av_markers import make_marker_clip
from tests.support.cli_run import run
from tests.support.recordings import add_local_recording

MSK = ZoneInfo("Europe/Moscow")
T0 = datetime(2026, 11, 27, 10, 15, 0, tzinfo=MSK).astimezone(UTC)


@pytest.fixture
def recorded(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[str, ...]:
    monkeypatch.setenv("NVR_RECORDING_TIMEZONE", "Europe/Moscow")
    monkeypatch.setenv("NVR_RECORDING_DIR", str(settings.recording.dir))
    msk = load_settings(overrides={"database.url": settings.database.url, "recording.dir": str(settings.recording.dir)})
    catalog.add_room(db, "A-101")
    cam = catalog.add_camera(db, "A-101", "front", "rtsp://10.0.0.5/s").id
    catalog.add_camera(db, "A-101", "back", "rtsp://10.0.0.6/s")
    clip = make_marker_clip(tmp_path / "clip.mp4", 6)
    add_local_recording(db, msk, cam, "A-101", "front", T0, clip, 6)
    add_local_recording(db, msk, cam, "A-101", "front", T0 + timedelta(seconds=6), clip, 6)
    return ("--database-url", settings.database.url)


def test_export_one_camera_to_a_file(capsys: pytest.CaptureFixture[str], recorded: tuple[str, ...],
                                     tmp_path: Path) -> None:
    out = tmp_path / "lecture.mp4"
    code, text, err = run(capsys, "export", "--room", "A-101", "--camera", "front", "--from", "2026-11-27 10:15:03",
                          "--to", "10:15:20", "-o", str(out), *recorded)
    assert code == 0, err
    assert out.is_file() and out.with_suffix(".log").is_file()
    assert f"A-101/front: {out} (" in text and "first frame at 10:15:02.00, the keyframe at or before" in text
    assert "gap 10:15:12.00-10:15:20.00 (8s): no camera events recorded for this time" in text
    assert "100.0 %  done" in err
    # No log line of the export's amid its own output (the database fixture's migration may log before it).
    assert not [line for line in err.splitlines() if " INFO " in line and "core.export" in line], err


def test_export_a_room_into_a_folder_as_json(capsys: pytest.CaptureFixture[str], recorded: tuple[str, ...],
                                             tmp_path: Path) -> None:
    code, text, err = run(capsys, "export", "--room", "A-101", "--from", "2026-11-27 10:15", "--to", "10:15:12",
                          "--exact", "--json", "-o", str(tmp_path / "room"), *recorded)
    assert code == 0, err
    data = {r["camera"]: r for r in json.loads(text)}
    assert data["back"]["path"] is None and data["back"]["gaps"][0]["cause"] == "unknown"
    front = data["front"]
    assert front["path"] == str(tmp_path / "room" / "A-101_front_2026-11-27_10-15-10-15.mp4")
    assert [p["source"] for p in front["pieces"]] == ["local", "local"] and front["first_frame"].startswith(
        "2026-11-27T10:15:00.000+03:00")


def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], recorded: tuple[str, ...],
                                          tmp_path: Path) -> None:
    base = ["export", "--room", "A-101", "--camera", "front", "-o", str(tmp_path / "x.mp4"), *recorded]
    code, _, err = run(capsys, *base, "--from", "27.11.2026 10:15", "--to", "10:20")
    assert code == 2 and err.splitlines()[-1].startswith("nvr-console: error: time '27.11.2026 10:15' cannot be read")
    code, _, err = run(capsys, *base, "--from", "2026-11-27 10:15", "--to", "10:00")
    assert code == 2 and "ends before it starts" in err.splitlines()[-1]
    code, _, err = run(capsys, "export", "--room", "A-101", "--camera", "side", "--from", "2026-11-27 10:15", "--to",
                       "10:20", "-o", str(tmp_path / "y.mp4"), *recorded)
    assert code == 2 and "side" in err.splitlines()[-1]
    code, _, err = run(capsys, *base, "--from", "2026-11-28 10:15", "--to", "10:20")
    assert code == 1 and "nothing of A-101/front was recorded in that range" in err
    assert not (tmp_path / "x.mp4").exists()


def test_a_failed_export_says_it_keeps_its_folder_and_the_next_export_removes_stale_ones(
        capsys: pytest.CaptureFixture[str], recorded: tuple[str, ...], tmp_path: Path) -> None:
    import os
    import time

    out = tmp_path / "lecture.mp4"
    args = ["export", "--room", "A-101", "--camera", "front", "--from", "2026-11-27 10:15:03", "--to", "10:15:10",
            "-o", str(out), *recorded]
    # FFmpeg cannot write the output (its partial file is a link into a folder that does not exist): the join
    # fails (and the failed export removes its partial file, here the link).
    blocker = tmp_path / ".lecture.mp4.partial"
    blocker.symlink_to(tmp_path / "no-such-folder" / "x.mp4")
    code, _, err = run(capsys, *args)
    (kept,) = tmp_path.glob(".nvr-export-*")
    last = err.splitlines()[-1]
    assert code == 1 and last.startswith("nvr-console: error: A-101/front: joining the files failed"), err
    assert f"its temporary folder {kept} is kept, so that running the same export again resumes its Drive " \
           "downloads; the next export removes it after 1 day(s), or at once with `export --clean`" in last
    # Two more left by other exports: one two days old, one from an hour ago.
    old, recent = tmp_path / ".nvr-export-0123456789ab", tmp_path / ".nvr-export-ba9876543210"
    for folder, age_h in ((old, 48), (recent, 1)):
        folder.mkdir()
        (folder / "1.mp4").write_bytes(b"partial download")
        for p in (folder / "1.mp4", folder):
            os.utime(p, (time.time() - age_h * 3600,) * 2)
    assert not blocker.is_symlink()
    code, text, err = run(capsys, *args)
    assert code == 0, err
    assert not old.exists() and recent.is_dir() and not kept.exists()  # this export's own: used, then removed
    assert f"note: removed 1 leftover temporary folder(s) (left by failed exports over 1 day(s) ago): {old.name}" \
        in text
    code, text, err = run(capsys, *args, "--clean")
    assert code == 0 and not recent.exists() and f"(--clean): {recent.name}" in text
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
