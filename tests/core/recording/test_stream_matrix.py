"""Every stream a lecture hall's cameras and encoders commonly send, recorded by the recorder's own FFmpeg
command across at least two segment boundaries and finalized to MP4 (issue 22).

All cases record at once (one FFmpeg each, against one RTSP test server) so the matrix costs about the
longest case's wall time (~40 s: the 10 s keyframe interval), not the sum. Gap-free is checked frame by
frame: every file's video packets put on the stream's timeline (the segment list's start + the packet's
pts) must follow each other at exactly 1/25 s from the first kept keyframe to the last frame, with no
packet missing or doubled at any boundary.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nvr_console.core.recording.ffmpeg_command import build_finalize_command, build_record_command
from tests.support.fixtures_rtsp import _require_gst
from tests.support.rtsp_peer import RtspServer
from tests.support.stream_matrix import FPS, MATRIX, StreamCase, encode_file, launch

SEGMENT_S = 3
FRAME_MS = 1000 / FPS


pytestmark = pytest.mark.peer  # starts an RTSP server of its own: not in scripts/test --quick


@dataclass
class CaseRun:
    case: StreamCase
    folder: Path
    returncode: int
    stderr: str


def _ffprobe(path: Path, *args: str) -> dict:  # type: ignore[type-arg]
    out = subprocess.run(["ffprobe", "-v", "error", "-of", "json", *args, str(path)], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def matrix_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, CaseRun]]:
    _require_gst()
    media = tmp_path_factory.mktemp("matrix_media")
    for case in MATRIX:
        if not case.live:
            encode_file(case, media, case.record_s + 20)
    mounts = {case.mount: launch(case, media) for case in MATRIX}
    with RtspServer(mounts=mounts) as server:
        procs: dict[str, tuple[subprocess.Popen[bytes], Path, float]] = {}
        start = time.monotonic()
        for case in MATRIX:
            folder = tmp_path_factory.mktemp(case.name)
            argv = build_record_command("ffmpeg", server.url(case.mount), folder, segment_seconds=SEGMENT_S,
                                        rtsp_transport=case.transport,
                                        segment_list_target=str(folder / "list.csv"), progress_target=os.devnull)
            # stderr into a file: read only at the end, a pipe would fill (the SPS watch traces ~5 KB/s) and
            # block FFmpeg.
            with (folder / "stderr.log").open("wb") as log:
                proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
            procs[case.name] = (proc, folder, start + case.record_s)
        runs: dict[str, CaseRun] = {}
        for case in sorted(MATRIX, key=lambda c: c.record_s):
            proc, folder, stop_at = procs[case.name]
            time.sleep(max(0.0, stop_at - time.monotonic()))
            if proc.poll() is None:
                proc.stdin.write(b"q")  # type: ignore[union-attr]
                proc.stdin.flush()  # type: ignore[union-attr]
            proc.communicate(timeout=30)
            err = (folder / "stderr.log").read_bytes()
            runs[case.name] = CaseRun(case, folder, proc.returncode, err.decode("utf-8", "replace"))
        yield runs


@pytest.mark.parametrize("case", MATRIX, ids=[c.name for c in MATRIX])
def test_stream_records_gap_free_across_boundaries_and_finalizes(case: StreamCase,
                                                                  matrix_runs: dict[str, CaseRun]) -> None:
    run = matrix_runs[case.name]
    tail = run.stderr[-1500:]
    assert run.returncode in (0, 255), tail
    assert "unknown timestamp" not in run.stderr, tail
    with (run.folder / "list.csv").open() as fh:
        listed = [(row[0], float(row[1]), float(row[2])) for row in csv.reader(fh) if row]
    assert len(listed) >= 3, f"{case.name}: {len(listed)} files, want two boundaries or more: {listed}\n{tail}"

    timeline: list[float] = []
    for name, start_s, _end_s in listed:
        raw = run.folder / name
        info = _ffprobe(raw, "-show_streams", "-show_format")
        kinds = {s["codec_type"]: s["codec_name"] for s in info["streams"]}
        assert kinds.get("video") == case.video, (name, kinds)
        assert kinds.get("audio") == case.audio, (name, kinds)
        packets = _ffprobe(raw, "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags")["packets"]
        assert packets and packets[0]["flags"].startswith("K"), f"{name} does not start on a keyframe"
        pts = sorted(float(p["pts_time"]) for p in packets)
        # A file after the first starts with the keyframe that opened it at the list's start; its own
        # timestamps may begin a little later (Matroska shifts them so no B-frame dts or sound is negative).
        # The first file keeps the stream's timeline (its list start is 0, its first kept keyframe later).
        shift = start_s - pts[0] if timeline else 0.0
        timeline += [round((t + shift) * 1000) for t in pts]

        final = raw.with_suffix(".mp4")
        argv = build_finalize_command("ffmpeg", raw, final, audio_codec=case.audio, video_codec=case.video)
        subprocess.run(argv, check=True, timeout=60, capture_output=True)
        out = _ffprobe(final, "-count_packets", "-show_streams", "-show_format")
        video = next(s for s in out["streams"] if s["codec_type"] == "video")
        assert video["codec_name"] == case.video
        if case.video == "hevc":
            assert video["codec_tag_string"] == "hvc1", f"{final.name} is tagged {video['codec_tag_string']}"
        assert int(video["nb_read_packets"]) == len(packets)
        assert abs(float(video["duration"]) - len(packets) / FPS) < 0.1, (final.name, video)
        # The first file of a run may hold sound from before the first kept keyframe (one interval at most).
        assert float(out["format"]["duration"]) < len(packets) / FPS + case.gop_s + 0.2, (final.name, out["format"])
        has_audio = any(s["codec_type"] == "audio" for s in out["streams"])
        assert has_audio == (case.audio is not None)
        # Every frame decodes: nothing the timestamp gate (a bitstream filter) passes is altered.
        decoded = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(final), "-f", "null", "-"],
                                 capture_output=True, text=True, timeout=60)
        decoder_errors = [ln for ln in decoded.stderr.splitlines() if ln.startswith(("[h264", "[hevc", "[aac"))]
        assert decoded.returncode == 0 and not decoder_errors, (final.name, decoder_errors[:5])

    # Stopped with 'q' mid-GOP, the last B-frames of the final file may not have arrived: not a boundary.
    steps = [b - a for a, b in itertools.pairwise(timeline)][:len(timeline) - 2 - case.bframes]
    bad = [(i, s) for i, s in enumerate(steps) if abs(s - FRAME_MS) > 1.5]
    assert not bad, (f"{case.name}: {len(timeline)} frames, frames missing or doubled at (index, step ms) "
                     f"{bad[:10]}")
    assert len(timeline) >= (2 * SEGMENT_S) * FPS
