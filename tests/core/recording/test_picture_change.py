"""The picture-change watch on FFmpeg's real trace of a stream whose picture changes in-band (H.264,
320x180 then 640x360): one sentence per run, only while the run is armed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nvr_console.core.recording.parameter_sets import SPS_WATCH_BSF, TRACE_MARK
from nvr_console.core.recording.picture_change import PictureChangeWatch


def _clip(path: Path, size: str) -> bytes:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size={size}:rate=25", "-t", "0.4", "-pix_fmt", "yuv420p", "-c:v", "libx264",
                    "-preset", "veryfast", "-bf", "2", "-g", "5", "-f", "mpegts", str(path)],
                   check=True, timeout=120, capture_output=True)
    return path.read_bytes()


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("picture")
    stream = folder / "change.ts"
    stream.write_bytes(_clip(folder / "a.ts", "320x180") + _clip(folder / "b.ts", "640x360"))
    err = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "info", "-i", str(stream), "-map",
                          "0:v:0", "-c:v", "copy", "-bsf:v", SPS_WATCH_BSF, "-f", "null", "-"],
                         capture_output=True, text=True, timeout=120).stderr
    return [line[line.find(TRACE_MARK):] for line in err.splitlines() if TRACE_MARK in line]


def test_an_armed_run_ends_once_at_the_change(trace: list[str]) -> None:
    w = PictureChangeWatch()
    said = [s for s in (w.offer(w.read(line), armed=True) for line in trace) if s]
    assert len(said) == 1 and "640x360" in said[0] and said[0][0].isupper(), said
    assert w.change == said[0] and w.picture() == (640, 360)


def test_a_run_already_stopping_or_unwanted_is_not_ended_again(trace: list[str]) -> None:
    w = PictureChangeWatch()
    assert not any(w.offer(w.read(line), armed=False) for line in trace)
    assert w.change == "" and w.picture() == (640, 360)


def test_a_new_run_forgets_the_last_picture(trace: list[str]) -> None:
    w = PictureChangeWatch()
    for line in trace:
        w.offer(w.read(line), armed=True)
    w.new_run()
    assert w.change == "" and w.picture() is None
    # The whole trace again: the new run meets the change once more.
    assert sum(1 for line in trace if w.offer(w.read(line), armed=True)) == 1


def test_raw_lines_skip_repeated_units_and_still_meet_the_change(trace: list[str]) -> None:
    read, raw = PictureChangeWatch(), PictureChangeWatch()
    by_line = [s for s in (read.offer(read.read(line), armed=True) for line in trace) if s]
    by_raw = [s for s in (raw.offer(raw.read_raw(line.encode()), armed=True) for line in trace) if s]
    assert by_raw == by_line and len(by_raw) == 1 and raw.picture() == read.picture() == (640, 360)
    # Only the units that differ from the one before were read: the first of each picture.
    assert raw.sps_read == 2 < read.sps_read
