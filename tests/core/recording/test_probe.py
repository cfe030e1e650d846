"""probe(): ffprobe JSON and the ffmpeg-stderr fallback agree on real files; killed files get a duration."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nvr_console.core.recording.ffmpeg_command import build_record_command
from nvr_console.core.recording.probe import (
    ProbeError,
    find_ffprobe,
    parse_ffmpeg_stderr_info,
    probe,
)
from tests.core.recording.conftest import one_file_segment_seconds, run_recorder


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("probe") / "sample.mkv"
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=sample_rate=8000", "-t", "2",
                    "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_alaw", "-y", str(path)],
                   check=True, timeout=60)
    return path


def test_ffprobe_and_stderr_fallback_agree(ffmpeg: str, sample: Path) -> None:
    assert find_ffprobe(ffmpeg) is not None
    a = probe(sample, ffmpeg=ffmpeg)
    b = probe(sample, ffmpeg=ffmpeg, ffprobe=None)
    for info in (a, b):
        assert info.video is not None and info.audio is not None
        assert (info.video.codec, info.video.width, info.video.height, info.video.fps) == ("h264", 320, 240, 25.0)
        assert (info.audio.codec, info.audio.sample_rate, info.audio.channels) == ("pcm_alaw", 8000, 1)
        assert info.duration_s is not None and abs(info.duration_s - 2.0) < 0.1
        assert info.start_time_s == 0.0 and info.duration_source == "container"
        assert info.format_name is not None and "matroska" in info.format_name


def test_killed_recording_gets_duration_from_packets(ffmpeg: str, tmp_path: Path) -> None:
    argv = build_record_command(ffmpeg, "lavfi:testsrc2=size=320x180:rate=25", tmp_path,
                                segment_seconds=one_file_segment_seconds())
    run = run_recorder(argv, 3.0, kill=True)
    assert run.returncode == -9
    (killed,) = tmp_path.glob("*.mkv")
    for tool in ("auto", None):
        info = probe(killed, ffmpeg=ffmpeg, ffprobe=tool)
        assert info.duration_source == "packets"  # SIGKILL left no container duration
        assert info.duration_s is not None and 1.0 < info.duration_s < 3.5


def test_not_media_and_missing(ffmpeg: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(b"not media at all" * 10)
    for tool in ("auto", None):
        with pytest.raises(ProbeError, match="junk.mkv"):
            probe(junk, ffmpeg=ffmpeg, ffprobe=tool)
    with pytest.raises(ProbeError, match="no such file"):
        probe(tmp_path / "missing.mkv", ffmpeg=ffmpeg)


def test_parse_canned_ffmpeg9_dump() -> None:
    text = """Input #0, matroska,webm, from 'x.mkv':
  Metadata:
    ENCODER         : Lavf61.7.100
  Duration: 00:30:00.04, start: 0.000000, bitrate: 3012 kb/s
  Stream #0:0: Video: h264 (Main), yuv420p(tv, bt709, progressive), 1920x1080 [SAR 1:1 DAR 16:9], 25 fps, 25 tbr, 1k tbn
  Stream #0:1(und): Audio: aac (LC), 48000 Hz, stereo, fltp (default)
At least one output file must be specified
"""
    info = parse_ffmpeg_stderr_info(text)
    assert info.duration_s == pytest.approx(1800.04)
    assert info.video is not None and (info.video.width, info.video.height, info.video.fps) == (1920, 1080, 25.0)
    assert info.audio is not None
    assert (info.audio.codec, info.audio.sample_rate, info.audio.channels) == ("aac", 48000, 2)
