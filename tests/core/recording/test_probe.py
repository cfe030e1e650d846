"""probe(): ffprobe JSON and the ffmpeg-stderr fallback agree on real files; killed files get a duration."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nvr_console.core.recording.ffmpeg_command import DEMO_URL, build_record_command
from nvr_console.core.recording.probe import (
    ProbeError,
    find_ffprobe,
    parse_ffmpeg_output_streams,
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


# What FFmpeg 5.1 printed recording a G.711 camera (trimmed): the output dump before the mapping.
FFMPEG5_HEADER = """ffmpeg stats and -progress period set to 5.
Input #0, rtsp, from 'rtsp://u:***@127.0.0.1:8554/cam_alaw':
  Metadata:
    title           : Session streamed with GStreamer
  Duration: N/A, start: 0.000000, bitrate: N/A
  Stream #0:0: Video: h264 (Constrained Baseline), yuv420p(progressive), 640x360, 25 fps, 25 tbr, 90k tbn
  Stream #0:1: Audio: pcm_alaw, 8000 Hz, mono, s16, 64 kb/s
[segment @ 0x564601b27380] Opening 'pipe:1' for writing
[segment @ 0x564601b27380] Opening '/rec/R/cam/2026-11-24_09-30-00.mkv' for writing
Output #0, segment, to '/rec/R/cam/%Y-%m-%d_%H-%M-%S.mkv':
  Metadata:
    encoder         : Lavf59.27.100
  Stream #0:0: Video: h264 (Constrained Baseline), yuv420p(progressive), 640x360, q=2-31, 25 fps, 25 tbr, 1k tbn
  Stream #0:1: Audio: pcm_alaw ([6][0][0][0] / 0x0006), 8000 Hz, mono, s16, 64 kb/s
Stream mapping:
  Stream #0:0 -> #0:0 (copy)
  Stream #0:1 -> #0:1 (copy)
Press [q] to stop, [?] for help
""".splitlines()

# Newer FFmpeg prints the mapping first and the output dump when the output opens; another thread's
# log lines can come in between.
FFMPEG7_HEADER = """Input #0, rtsp, from 'rtsp://127.0.0.1:8554/cam':
  Stream #0:0: Video: hevc (Main), yuv420p(tv), 1920x1080, 20 fps, 20 tbr, 90k tbn
  Stream #0:1: Audio: aac (LC), 16000 Hz, mono, fltp
Stream mapping:
  Stream #0:0 -> #0:0 (copy)
  Stream #0:1 -> #0:1 (copy)
Press [q] to stop, [?] for help
[segment @ 0x55d0c1b3e2c0] Opening '/rec/R/cam/2026-11-24_09-30-00.mkv' for writing
Output #0, segment, to '/rec/R/cam/%Y-%m-%d_%H-%M-%S.mkv':
  Metadata:
    encoder         : Lavf61.7.100
  Stream #0:0: Video: hevc (Main), yuv420p(tv), 1920x1080, q=2-31, 20 fps, 20 tbr, 1k tbn
[rtsp @ 0x55d0c1b2a100] max delay reached. need to consume packet
  Stream #0:1: Audio: aac (LC) ([255][0][0][0] / 0x00FF), 16000 Hz, mono, fltp
""".splitlines()


def test_output_streams_from_the_recorders_header() -> None:
    info = parse_ffmpeg_output_streams(FFMPEG5_HEADER)
    assert info is not None and info.format_name == "segment"
    assert info.video is not None and (info.video.codec, info.video.width, info.video.height) == ("h264", 640, 360)
    assert info.audio is not None and (info.audio.codec, info.audio.sample_rate) == ("pcm_alaw", 8000)
    newer = parse_ffmpeg_output_streams(FFMPEG7_HEADER)
    assert newer is not None
    assert [(s.kind, s.codec) for s in newer.streams] == [("video", "hevc"), ("audio", "aac")]


def test_output_streams_unknown_until_the_header_is_complete() -> None:
    for header in (FFMPEG5_HEADER, FFMPEG7_HEADER):
        # Every shorter prefix lacks a mapped stream's dump line or the end of the mapping: never a
        # guess that would leave out the audio.
        for n in range(len(header)):
            info = parse_ffmpeg_output_streams(header[:n])
            assert info is None or len(info.streams) == 2, header[:n]
    assert parse_ffmpeg_output_streams(FFMPEG5_HEADER[:-5]) is None  # mapping not finished
    assert parse_ffmpeg_output_streams(FFMPEG7_HEADER[:-1]) is None  # audio not dumped yet
    assert parse_ffmpeg_output_streams([]) is None


def test_output_streams_from_a_real_recorder(ffmpeg: str, tmp_path: Path) -> None:
    argv = build_record_command(ffmpeg, DEMO_URL, tmp_path, segment_seconds=one_file_segment_seconds())
    run = run_recorder(argv, 2.5)
    info = parse_ffmpeg_output_streams(run.stderr.splitlines())
    assert info is not None, run.stderr
    # What the segment really holds (the demo encodes its raw lavfi input), as ffprobe says.
    (segment,) = tmp_path.glob("*.mkv")
    real = probe(segment, ffmpeg=ffmpeg)
    assert [(s.kind, s.codec) for s in info.streams] == [(s.kind, s.codec) for s in real.streams] == \
        [("video", "h264"), ("audio", "aac")]
