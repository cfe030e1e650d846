from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from nvr_console.core.recording.segment_names import (
    final_path_for,
    name_for,
    partial_path_for,
    raw_name_time,
    raw_path_for,
    raw_segments,
)


def test_raw_and_final_names_map_both_ways(tmp_path: Path) -> None:
    raw = tmp_path / "A-101" / "front" / "2026-11-24_09-30-00.mkv"
    final = final_path_for(raw)
    assert final == tmp_path / "A-101" / "front" / "2026-11-24" / "09-30-00.mp4"
    assert raw_path_for(final) == raw
    assert ":" not in str(final.relative_to(tmp_path))
    assert partial_path_for(final).name.startswith(".") and partial_path_for(final).parent == final.parent


def test_name_time_in_configured_zone() -> None:
    msk = ZoneInfo("Europe/Moscow")
    t = raw_name_time(Path("2026-11-24_09-30-01.mkv"), msk)
    assert t == datetime(2026, 11, 24, 9, 30, 1, tzinfo=msk)
    assert raw_name_time(Path("notes.mkv"), msk) is None
    assert name_for(t) == "2026-11-24_09-30-01.mkv"


def test_raw_segments_sorted_and_filtered(tmp_path: Path) -> None:
    for name in ("2026-11-24_10-00-00.mkv", "2026-11-23_23-59-55.mkv", "other.mkv", "2026-11-24_10-00-05.mp4"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in raw_segments(tmp_path)] == ["2026-11-23_23-59-55.mkv", "2026-11-24_10-00-00.mkv"]
    assert raw_segments(tmp_path / "missing") == []
