"""A recorder's status: file figures only while its FFmpeg runs, rates only while it records."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from nvr_console.core.recording.probe import MediaInfo, StreamInfo
from nvr_console.core.recording.recorder_status import camera_status
from nvr_console.core.recording.segment_files import SegmentFiles
from nvr_console.core.recording.segment_names import name_for
from nvr_console.core.status import CameraState, CameraStatus

STREAMS = MediaInfo("segment", None, None, (StreamInfo(0, "video", "h264", 1280, 720), StreamInfo(1, "audio", "aac")))


def _files(tmp_path: Path) -> SegmentFiles:
    start = datetime(2026, 12, 7, 10, 0, 0)
    files = SegmentFiles(tmp_path, None)
    files.new_run(name_for(start))
    (tmp_path / name_for(start)).write_bytes(b"x" * 1000)
    files.scan(1000.0)
    (tmp_path / name_for(start)).write_bytes(b"x" * 3000)
    files.scan(1002.0)  # 2000 bytes in 2 s: 8 kbit/s
    assert files.current == tmp_path / name_for(start)
    return files


def _status(files: SegmentFiles, **kw: Any) -> CameraStatus:
    base: dict[str, Any] = dict(camera_id=3, room="A-101", camera="front", state=CameraState.RECORDING,
                                since=500.0, running=True, files=files, fps=24.987, last_error="", next_retry_in=0.0,
                                streams=STREAMS, picture=None, down_since=0.0)
    base.update(kw)
    return camera_status(**base)


def test_a_recording_run_shows_its_file_rates_and_streams(tmp_path: Path) -> None:
    files = _files(tmp_path)
    s = _status(files)
    assert (s.camera_id, s.room, s.camera, s.state, s.since) == (3, "A-101", "front", CameraState.RECORDING, 500.0)
    assert s.current_file == str(files.current) and s.file_size == 3000
    assert s.file_started == files.current_started and s.file_started > 0
    assert s.bitrate_kbps == 8.0 and s.fps == 24.99
    assert s.stream == "H.264 1280x720 · AAC"
    assert _status(files, picture=(640, 360)).stream == "H.264 640x360 · AAC"  # the in-band picture wins
    assert _status(files, streams=None).stream == ""  # not known yet


@pytest.mark.parametrize("state", [s for s in CameraState if s is not CameraState.RECORDING])
def test_rates_only_while_recording(tmp_path: Path, state: CameraState) -> None:
    s = _status(_files(tmp_path), state=state, last_error="No new data", next_retry_in=4.0, down_since=400.0)
    assert (s.bitrate_kbps, s.fps) == (0.0, 0.0)
    assert (s.last_error, s.next_retry_in, s.down_since) == ("No new data", 4.0, 400.0)
    assert s.file_size == 3000  # its FFmpeg still runs


def test_no_file_figures_without_a_process(tmp_path: Path) -> None:
    s = _status(_files(tmp_path), state=CameraState.RECONNECTING, running=False)
    assert (s.current_file, s.file_started, s.file_size) == ("", 0.0, 0)
