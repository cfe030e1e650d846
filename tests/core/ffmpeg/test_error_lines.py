"""Which lines of FFmpeg's stderr say what went wrong."""

from __future__ import annotations

from nvr_console.core.ffmpeg.error_lines import error_lines, last_error_line, summarise

# What FFmpeg 5.1 printed remuxing onto a full disk (a stream dump, then the errors, then its closing words).
FULL_DISK = """Input #0, matroska,webm, from 'rtsp://cam:pw@10.1.1.1/a.mkv':
  Duration: N/A, start: 0.000000, bitrate: N/A
  Stream #0:0: Video: h264 (High), yuv420p(progressive), 1920x1080, 25 fps
[mp4 @ 0x55d0c8a0] Error writing trailer: No space left on device
Error closing file out.mp4.partial: No space left on device
Conversion failed!
"""


def test_the_last_error_line_skips_ffmpegs_closing_words() -> None:
    assert last_error_line(FULL_DISK) == "Error closing file out.mp4.partial: No space left on device"
    assert error_lines(FULL_DISK, 2) == ["[mp4 @ 0x55d0c8a0] Error writing trailer: No space left on device",
                                         "Error closing file out.mp4.partial: No space left on device"]


def test_no_error_line_falls_back_to_the_last_line_masked() -> None:
    assert last_error_line("Input #0, rtsp, from 'rtsp://u:p@h/x':\n") is None
    assert summarise("Input #0, rtsp, from 'rtsp://u:p@h/x':\n\n") == "Input #0, rtsp, from 'rtsp://u:***@h/x':"
    assert summarise("") == ""


def test_error_lines_are_masked() -> None:
    said = summarise("rtsp://admin:top@10.0.0.9/s: Connection refused")
    assert said == "rtsp://admin:***@10.0.0.9/s: Connection refused"
