"""classify_ffmpeg_error on FFmpeg's real stderr from a real RTSP server, plus canned lines."""

from __future__ import annotations

import socket
import subprocess
import threading
from pathlib import Path

import pytest

from nvr_console.core.recording.errors import (
    DISK_FULL_MESSAGE,
    FfmpegErrorKind,
    classify_ffmpeg_error,
    last_error_line,
)
from tests.support.ports import free_port
from tests.support.rtsp_peer import SECURE_USER, RtspServer


def _ffmpeg_stderr(ffmpeg: str, url: str, *extra: str) -> str:
    proc = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-timeout", "2000000",
                           *extra, "-i", url, "-t", "1", "-f", "null", "-"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode != 0
    return proc.stderr


def test_wrong_password_is_auth_and_masked(ffmpeg: str, rtsp_server: RtspServer) -> None:
    stderr = _ffmpeg_stderr(ffmpeg, rtsp_server.url("/secure", SECURE_USER, "Wr0ngPa55"))
    assert "Wr0ngPa55" in stderr  # FFmpeg itself prints the password...
    kind, message = classify_ffmpeg_error(stderr)
    assert kind is FfmpegErrorKind.AUTH and "wrong user or password" in message
    assert "Wr0ngPa55" not in message and f"{SECURE_USER}:***@" in message  # ...we never do


def test_wrong_path_is_not_found(ffmpeg: str, rtsp_server: RtspServer) -> None:
    kind, message = classify_ffmpeg_error(_ffmpeg_stderr(ffmpeg, rtsp_server.url("/no_such_path")))
    assert kind is FfmpegErrorKind.NOT_FOUND and "no such stream path" in message.lower()


def test_closed_port_is_connection_refused(ffmpeg: str) -> None:
    kind, message = classify_ffmpeg_error(_ffmpeg_stderr(ffmpeg, f"rtsp://u:pw1@127.0.0.1:{free_port()}/cam"))
    assert kind is FfmpegErrorKind.CONNECTION_REFUSED and "port" in message and "pw1" not in message


def test_silent_server_is_protocol_error(ffmpeg: str) -> None:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        accepted: list[socket.socket] = []
        threading.Thread(target=lambda: accepted.append(srv.accept()[0]), daemon=True).start()
        kind, _ = classify_ffmpeg_error(_ffmpeg_stderr(ffmpeg, f"rtsp://127.0.0.1:{port}/cam"))
        for c in accepted:
            c.close()
    assert kind is FfmpegErrorKind.PROTOCOL


def test_g711_into_mp4_is_unsupported_codec(ffmpeg: str, rtsp_server: RtspServer, tmp_path: Path) -> None:
    proc = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i",
                           rtsp_server.url("/cam_alaw"), "-t", "1", "-c", "copy", "-y", str(tmp_path / "x.mp4")],
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode != 0
    kind, message = classify_ffmpeg_error(proc.stderr)
    assert kind is FfmpegErrorKind.UNSUPPORTED_CODEC and "pcm_alaw" in message


@pytest.mark.parametrize(("line", "kind"), [
    ("rtsp://a:b@cam/x: Connection timed out", FfmpegErrorKind.TIMEOUT),
    ("[tcp @ 0x1] Failed to resolve hostname cam.invalid: Name or service not known", FfmpegErrorKind.DNS),
    ("[tcp @ 0x1] Connection to tcp://10.0.0.9:554 failed: No route to host", FfmpegErrorKind.HOST_UNREACHABLE),
    ("av_interleaved_write_frame(): No space left on device", FfmpegErrorKind.DISK_FULL),
    ("/rec/x.mkv: Permission denied", FfmpegErrorKind.PERMISSION),
    ("Unknown encoder 'libx264'", FfmpegErrorKind.ENCODER_MISSING),
    ("[segment @ 0x1] Failed to open segment '/r/2026/x.mkv'\nNo such file or directory", FfmpegErrorKind.NO_SUCH_FILE),
    ("Stream #0:0: Video: h264\nsomething odd failed", FfmpegErrorKind.UNKNOWN),
])
def test_canned_lines(line: str, kind: FfmpegErrorKind) -> None:
    got, message = classify_ffmpeg_error("Input #0, rtsp, from 'rtsp://a:b@cam/x':\n" + line)
    assert got is kind
    assert ":b@" not in message and message


def test_no_error_line_means_stream_ended() -> None:
    kind, message = classify_ffmpeg_error("frame= 73 fps= 42 q=-1.0 Lsize= 46kB time=00:00:02.80\n")
    assert kind is FfmpegErrorKind.STREAM_ENDED and "ended" in message
    assert last_error_line("") is None


def test_a_disk_full_message_reads_as_disk_full_again() -> None:
    # What a camera stopped by a full disk shows as CameraStatus.last_error (after FFmpeg's exit, or when its
    # folder could not even be made) is classified as disk full once more: coverage reasons read it back.
    kind, shown = classify_ffmpeg_error("av_interleaved_write_frame(): No space left on device\nConversion failed!")
    assert kind is FfmpegErrorKind.DISK_FULL and shown.startswith(DISK_FULL_MESSAGE)
    for last_error in (shown, f"{DISK_FULL_MESSAGE} (No space left on device)"):
        assert classify_ffmpeg_error(last_error)[0] is FfmpegErrorKind.DISK_FULL


@pytest.mark.peer
def test_untimed_b_frame_stream_without_the_gate_is_unwritable(ffmpeg: str, tmp_path: Path) -> None:
    # What the recorder did before issue 22 (no timestamp gate): a lecture-hall encoder's H.264 High with
    # B-frames, copied into Matroska. The words say what to change on the camera.
    from tests.support.fixtures_rtsp import _require_gst
    from tests.support.stream_matrix import MATRIX, encode_file, launch

    _require_gst()
    hall = next(c for c in MATRIX if c.name == "h264_high_bf3_aac")
    encode_file(hall, tmp_path, 20)
    with RtspServer(mounts={"/hall": launch(hall, tmp_path)}) as server:
        proc = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i", server.url("/hall"),
                               "-map", "0", "-c", "copy", "-t", "5", "-f", "matroska", str(tmp_path / "x.mkv")],
                              capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0, proc.stderr[-500:]
    kind, message = classify_ffmpeg_error(proc.stderr)
    assert kind is FfmpegErrorKind.UNWRITABLE, message
    assert message.startswith("The camera sends video packets without timestamps, which cannot be recorded because")
    assert "B-frames off" in message and "Can't write packet with unknown timestamp" in message
