"""A raw segment with no packet is told from one with media, on files FFmpeg writes; the test is one-sided."""

from __future__ import annotations

import subprocess
from pathlib import Path

from nvr_console.core.recording.matroska_media import HEADER_ONLY_MAX, holds_no_media

CLUSTER = bytes.fromhex("1f43b675")


def header_only_mkv(path: Path) -> Path:
    """What a recorder stopped before its first packet leaves: FFmpeg writes the header and the trailer of a
    Matroska file with no packet (720 bytes for the demo camera's streams)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000", "-map", "0:v", "-map", "1:a",
                    "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-c:a", "aac",
                    "-frames:v", "0", "-t", "0", "-f", "matroska", str(path)], check=True, timeout=60)
    return path


def one_frame_mkv(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25",
                    "-c:v", "libx264", "-preset", "ultrafast", "-frames:v", "1", "-f", "matroska", str(path)],
                   check=True, timeout=60)
    return path


def test_a_header_without_packets_holds_no_media(tmp_path: Path) -> None:
    raw = header_only_mkv(tmp_path / "h.mkv")
    assert 0 < raw.stat().st_size < 4096
    proc = subprocess.run(["ffprobe", "-v", "error", str(raw)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0  # ffprobe cannot read it: without this check it was kept as "unreadable"
    assert holds_no_media(raw)
    empty = tmp_path / "e.mkv"
    empty.write_bytes(b"")
    assert holds_no_media(empty)


def test_one_packet_is_media_and_so_is_anything_unsure(tmp_path: Path) -> None:
    one = one_frame_mkv(tmp_path / "one.mkv")
    assert not holds_no_media(one)
    # Cut short after the first cluster's ID (a crash): still media, as far as this test can tell.
    data = one.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[:data.index(CLUSTER) + 4])
    assert not holds_no_media(cut)
    # Not Matroska, junk behind the magic, a header cut short or with bytes after it, too big to be only a
    # header, missing: never judged empty.
    for name, junk in (("junk", b"not media"), ("magic", b"\x1a\x45\xdf\xa3garbage" * 100)):
        (tmp_path / f"{name}.mkv").write_bytes(junk)
        assert not holds_no_media(tmp_path / f"{name}.mkv"), name
    header = header_only_mkv(tmp_path / "h.mkv").read_bytes()
    for name, variant in (("short", header[:-10]), ("tail", header + b"\x00\x01")):
        (tmp_path / f"{name}.mkv").write_bytes(variant)
        assert not holds_no_media(tmp_path / f"{name}.mkv"), name
    big = tmp_path / "big.mkv"
    big.write_bytes(header_only_mkv(tmp_path / "h.mkv").read_bytes() + b"\0" * HEADER_ONLY_MAX)
    assert not holds_no_media(big)
    assert not holds_no_media(tmp_path / "missing.mkv")
