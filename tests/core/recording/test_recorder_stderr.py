"""A recorder's stderr: lines split across reads, masked, the output streams learnt from a real FFmpeg's header,
the error lines, and the per-camera log file."""

from __future__ import annotations

import subprocess
from pathlib import Path

from nvr_console.core.recording.recorder_stderr import RecorderStderr


def _real_header(ffmpeg: str, tmp_path: Path) -> bytes:
    """What FFmpeg prints at -loglevel info when it starts writing (input and output dumps, stream mapping)."""
    proc = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "info", "-y", "-f", "lavfi", "-i",
                           "testsrc2=size=160x120:rate=10", "-f", "lavfi", "-i", "sine=sample_rate=16000", "-t", "1",
                           "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-f", "matroska",
                           str(tmp_path / "x.mkv")], capture_output=True, check=True, timeout=60)
    return proc.stderr


def test_streams_are_learnt_from_the_header_however_the_reads_split_it(ffmpeg: str, tmp_path: Path) -> None:
    header = _real_header(ffmpeg, tmp_path)
    announced: list[int] = []
    err = RecorderStderr(tmp_path / "logs", "camera:1", "A-101-front", notify=lambda: announced.append(1))
    learnt = []
    for i in range(0, len(header), 37):  # a read takes whatever the pipe held: lines cut anywhere
        err.feed(header[i:i + 37])
        learnt.append(err.take().learnt)
    assert learnt.count(True) == 1 and len(announced) == 1
    assert err.streams is not None and err.streams.video is not None and err.streams.audio is not None
    assert (err.streams.video.codec, err.streams.audio.codec) == ("h264", "aac")
    err.new_run()  # the next FFmpeg says it all again
    assert err.streams is None and not err.tail
    err.close()


def test_error_lines_are_masked_kept_in_the_tail_and_logged(tmp_path: Path) -> None:
    announced: list[int] = []
    err = RecorderStderr(tmp_path / "logs", "camera:1", "A-101-front", notify=lambda: announced.append(1))
    err.feed(b"Input #0, rtsp, from 'rtsp://admin:s3cret@10.0.0.5/s':\n"
             b"[rtsp @ 0x1] method DESCRIBE failed: 401 Unauth")
    assert not err.take() and not announced  # the second line is not whole yet: nothing to act on
    err.feed(b"orized\n")
    err.feed(b"[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized\n")
    # One announcement for news not taken yet, however many feeds add to it.
    assert err.take().errors == ["[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized"] * 2
    assert len(announced) == 1
    assert err.tail_text() == ("Input #0, rtsp, from 'rtsp://admin:***@10.0.0.5/s':\n"
                               "[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized\n"
                               "[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized")
    err.write(["[nvr] state reconnecting"])
    err.close()
    logged = (tmp_path / "logs" / "ffmpeg" / "A-101-front.log").read_text(encoding="utf-8").splitlines()
    assert [line[20:] for line in logged] == ["Input #0, rtsp, from 'rtsp://admin:***@10.0.0.5/s':",
                                              "[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized",
                                              "[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized",
                                              "[nvr] state reconnecting"]
    assert "s3cret" not in "\n".join(logged)


def test_without_a_log_folder_nothing_is_written(tmp_path: Path) -> None:
    err = RecorderStderr(None, "camera:1", "A-101-front")
    err.feed(b"Connection refused\n")
    assert err.take().errors == ["Connection refused"]
    err.close()
    assert not list(tmp_path.iterdir())
