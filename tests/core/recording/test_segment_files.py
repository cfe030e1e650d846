"""A recorder's view of its folder: files opened and closed, the current one, its size and rate."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from nvr_console.core.recording import segment_files
from nvr_console.core.recording.segment_files import SegmentFiles

ZONE = ZoneInfo("Europe/Moscow")


def _write(folder: Path, name: str, size: int) -> Path:
    p = folder / f"{name}.mkv"
    p.write_bytes(b"\0" * size)
    return p


def test_scan_reports_each_new_file_once_and_follows_the_current_one(tmp_path: Path) -> None:
    files = SegmentFiles(tmp_path, ZONE)
    _write(tmp_path, "2026-11-24_08-59-30", 10)  # an earlier run's file
    files.new_run("2026-11-24_09-00-00")
    assert files.scan(1000.0) == [] and files.current is None and files.current_size == 0
    a = _write(tmp_path, "2026-11-24_09-00-00", 1000)
    assert files.scan(1000.0) == [a]
    assert files.current == a and files.current_size == 1000
    assert files.current_started == datetime(2026, 11, 24, 9, 0, tzinfo=ZONE).timestamp()  # from its name
    a.write_bytes(b"\0" * 126_000)  # 125 000 bytes in 2 s: 500 kbit/s
    assert files.scan(1002.0) == []
    assert files.current_size == 126_000 and files.bitrate_kbps == 500.0

    b = _write(tmp_path, "2026-11-24_09-00-30", 10)
    files.mark_finished(a.name)
    assert files.finished_count == 1
    assert files.scan(1003.0) == [b] and files.current == b and files.is_finished(a.name)
    assert files.unfinished() == [b]
    files.end_run()
    assert files.current is None


def test_mark_started_is_true_once_and_memory_stays_bounded(tmp_path: Path) -> None:
    files = SegmentFiles(tmp_path, None)
    raw = tmp_path / "x.mkv"
    assert files.mark_started(raw) and not files.mark_started(raw)
    for i in range(segment_files.REMEMBER_MAX + 1):
        files.mark_started(tmp_path / f"2026-01-01_00-00-{i:04d}.mkv")
        files.mark_finished(f"2026-01-01_00-00-{i:04d}.mkv")
    assert files.finished_count <= segment_files.REMEMBER_MAX


def test_the_rate_counts_every_byte_across_cuts_even_with_segments_shorter_than_a_look(tmp_path: Path) -> None:
    # 2 s segments, a look every 5 s: the recorder never sees one file twice. It writes 250 000 bytes a second.
    files = SegmentFiles(tmp_path, None)
    files.new_run("2026-11-24_09-00-00")
    a = _write(tmp_path, "2026-11-24_09-00-00", 250_000)
    files.scan(1000.0)  # a is current, 1 s in
    a.write_bytes(b"\0" * 500_000)
    files.mark_finished(a.name)  # closed at 2 s; the finalizer removes it next
    a.unlink()
    b = _write(tmp_path, "2026-11-24_09-00-02", 500_000)
    files.mark_finished(b.name)  # 2 s to 4 s, never seen as current
    b.unlink()
    c = _write(tmp_path, "2026-11-24_09-00-04", 500_000)
    files.scan(1005.0)  # 6 s in: c is current, 2 s old
    assert files.current == c
    assert files.bitrate_kbps == 2000.0  # (250 000 + 500 000 + 500 000) bytes in 5 s: 2 Mbit/s
