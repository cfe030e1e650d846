"""The frame-exact comparison helper against a real recording: consecutive segments are seamless, a missing
segment counts as its frames, and two clients of the /frames mount get the same packets."""

from __future__ import annotations

import subprocess
import time
from itertools import pairwise
from pathlib import Path

from tests.support.fixtures_rtsp import rtsp_server  # noqa: F401
from tests.support.frames import frames_between, packet_hashes
from tests.support.rtsp_peer import RtspServer


def test_segments_of_one_recording_are_seamless_and_a_second_client_matches(
        rtsp_server: RtspServer, tmp_path: Path) -> None:  # noqa: F811
    url = rtsp_server.url("/frames")
    seg = subprocess.Popen(["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
                            "-c", "copy", "-f", "segment", "-segment_time", "2", "-reset_timestamps", "1", "-t", "9",
                            str(tmp_path / "s%02d.mkv")])
    time.sleep(2)
    late = subprocess.Popen(["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
                             "-c", "copy", "-t", "4", "-y", str(tmp_path / "late.mkv")])
    assert seg.wait(60) == 0 and late.wait(60) == 0
    parts = sorted(tmp_path.glob("s*.mkv"))
    assert len(parts) >= 4
    for a, b in pairwise(parts):
        assert frames_between(a, b, parts) == 0
    assert frames_between(parts[0], parts[2], parts) == len(packet_hashes(parts[1]))
    assert frames_between(parts[1], parts[0], parts) < 0  # recorded twice
    hashes = packet_hashes(tmp_path / "late.mkv")
    ref = [h for p in parts for h in packet_hashes(p)]
    start = ref.index(hashes[0])
    assert ref[start:start + len(hashes)] == hashes[: len(ref) - start]  # same packets, same order
