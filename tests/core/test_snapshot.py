"""Snapshots: a frame from a stream (the camera dialog's Test) and a recent keyframe of a growing MKV."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from nvr_console.core.snapshot import SnapshotError, check_stream, snapshot_file
from tests.support.fixtures_rtsp import rtsp_server  # noqa: F401
from tests.support.rtsp_peer import SECURE_PASSWORD, SECURE_USER, RtspServer

FFMPEG = shutil.which("ffmpeg") or ""
pytestmark = pytest.mark.skipif(not FFMPEG, reason="needs ffmpeg on PATH")
PNG = b"\x89PNG"


def test_lavfi_stream_gives_info_and_a_picture() -> None:
    c = check_stream(FFMPEG, "lavfi:testsrc2=size=320x180:rate=25")
    assert c.png.startswith(PNG)
    assert "320x180" in c.summary() and "no audio" in c.summary()


def test_a_lavfi_url_reading_a_local_file_gives_no_picture(tmp_path: Path) -> None:
    private = tmp_path / "private.mp4"
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=160x120:rate=5:duration=1", str(private)], check=True)
    with pytest.raises(SnapshotError, match="'movie' is not an allowed video test source"):
        check_stream(FFMPEG, f"lavfi:movie={private}")


def test_refused_connection_is_named_and_password_masked() -> None:
    with pytest.raises(SnapshotError) as err:
        check_stream(FFMPEG, "rtsp://admin:hunter2@127.0.0.1:1/live", timeout_s=10)
    assert "Connection refused" in str(err.value) and "hunter2" not in str(err.value)


def test_keyframe_from_the_end_of_an_mkv(tmp_path: Path) -> None:
    mkv = tmp_path / "seg.mkv"
    # 4 s of video with a keyframe per second, written the way the recorder writes (a cluster per GOP).
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=320x180:rate=25:duration=4", "-c:v", "libx264", "-preset", "ultrafast",
                    "-g", "25", str(mkv)], check=True, timeout=60)
    last = snapshot_file(FFMPEG, mkv)
    first = subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-i", str(mkv), "-frames:v", "1",
                            "-vf", "scale=160:-2", "-f", "image2pipe", "-c:v", "png", "pipe:1"],
                           capture_output=True, check=True, timeout=60).stdout
    assert last.startswith(PNG) and last != first  # a later frame, not the file's first


def test_unreadable_file_is_an_operator_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "x.mkv"
    bad.write_bytes(b"not a video")
    with pytest.raises(SnapshotError, match="no thumbnail from x.mkv"):
        snapshot_file(FFMPEG, bad)


def test_rtsp_camera_gives_info_and_a_picture(rtsp_server: RtspServer) -> None:  # noqa: F811
    check = check_stream(FFMPEG, rtsp_server.url("/secure", SECURE_USER, SECURE_PASSWORD))
    assert check.summary() == "video h264 640x360 25 fps · no audio"
    assert check.png.startswith(b"\x89PNG")


def test_sound_source_check_reads_audio_and_refuses_a_stream_without_it(rtsp_server: RtspServer) -> None:  # noqa: F811
    sound = check_stream(FFMPEG, rtsp_server.url("/audio"), audio_only=True)
    assert sound.info.audio is not None and sound.info.audio.codec == rtsp_server.audio_codec
    assert sound.info.video is None and sound.png == b""
    # A camera with a microphone is a valid sound source too.
    assert check_stream(FFMPEG, rtsp_server.url("/cam_alaw"), audio_only=True).info.audio.codec == "pcm_alaw"
    with pytest.raises(SnapshotError) as err:
        check_stream(FFMPEG, rtsp_server.url("/secure", SECURE_USER, SECURE_PASSWORD), audio_only=True)
    assert "carries no audio" in str(err.value) and SECURE_PASSWORD not in str(err.value)
    with pytest.raises(SnapshotError) as err:
        check_stream(FFMPEG, rtsp_server.url("/no-such-sound"), audio_only=True)
    assert "No such stream path" in str(err.value)
