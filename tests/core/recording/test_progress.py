"""ProgressParser on canned bytes in awkward chunks, and on a real FFmpeg run."""

from __future__ import annotations

from pathlib import Path

from nvr_console.core.recording.ffmpeg_command import build_record_command
from nvr_console.core.recording.progress import ProgressParser, ProgressSnapshot, SegmentFinished
from tests.core.recording.conftest import run_recorder

BLOCK = (b"frame=42\nfps=25.01\nstream_0_0_q=-1.0\nbitrate= 812.3kbits/s\ntotal_size=1024\n"
         b"out_time_us=1680000\nout_time_ms=1680000\nout_time=00:00:01.680000\ndup_frames=0\n"
         b"drop_frames=1\nspeed=1.01x\nprogress=continue\n")


def test_chunked_blocks_and_segment_lines() -> None:
    data = BLOCK + b"2026-01-02_10-00-00.mkv,0.000000,4.007000\n" + BLOCK.replace(b"continue", b"end")
    parser = ProgressParser()
    events = []
    for i in range(0, len(data), 7):  # split mid-line and mid-key
        events += parser.feed(data[i:i + 7], now=100.0)
    assert [type(e) for e in events] == [ProgressSnapshot, SegmentFinished, ProgressSnapshot]
    first = events[0]
    assert isinstance(first, ProgressSnapshot)
    assert (first.frame, first.fps, first.bitrate_kbps, first.total_size, first.out_time_us, first.speed,
            first.drop_frames, first.ended) == (42, 25.01, 812.3, 1024, 1680000, 1.01, 1, False)
    assert first.out_time_s == 1.68
    assert events[1] == SegmentFinished("2026-01-02_10-00-00.mkv", 0.0, 4.007)
    assert parser.segments == [events[1]] and parser.last is events[2] and events[2].ended
    assert parser.timeline_origin == 100.0 - 1.68


def test_na_values_and_quoted_names() -> None:
    parser = ProgressParser()
    events = parser.feed(b"frame=0\nfps=0.00\nbitrate=N/A\ntotal_size=N/A\nout_time_us=N/A\nspeed=N/A\n"
                         b"progress=continue\n\"a,b.mkv\",1.5,2.5\nnot a line\n")
    snap, seg = events
    assert isinstance(snap, ProgressSnapshot) and snap.bitrate_kbps is None and snap.out_time_us is None
    assert snap.speed is None and snap.total_size is None
    assert seg == SegmentFinished("a,b.mkv", 1.5, 2.5) and seg.duration_s == 1.0
    assert parser.timeline_origin is None
    assert parser.feed(b"frame=1") == []  # incomplete line waits for more


def test_real_ffmpeg_progress_and_segment_list(ffmpeg: str, tmp_path: Path) -> None:
    argv = build_record_command(ffmpeg, "lavfi:testsrc2=size=320x180:rate=25", tmp_path, segment_seconds=1)
    run = run_recorder(argv, 3.0)
    assert run.returncode == 0, run.stderr[-1500:]
    snaps = [e for e in ProgressParser().feed(run.stdout, 0.0) if isinstance(e, ProgressSnapshot)]
    assert len(snaps) >= 3 and snaps[-1].ended and not snaps[0].ended
    assert snaps[-1].frame is not None and snaps[-1].frame >= 40  # ~2.5 s at 25 fps after start-up
    times = [s.out_time_us or 0 for s in snaps]
    assert times == sorted(times)
    assert len(run.parser.segments) >= 2
    assert {s.filename for s in run.parser.segments} == {p.name for p in tmp_path.glob("*.mkv")}
    # The live origin estimate is close to when the run started.
    assert run.parser.timeline_origin is not None
    assert abs(run.parser.timeline_origin - run.started_at) < 1.5


def test_an_observed_cut_lowers_a_late_origin_and_a_later_one_does_not_raise_it() -> None:
    parser = ProgressParser()
    parser.feed(BLOCK, now=103.0)  # read 1.32 s late: origin 103 - 1.68
    parser.observe(at=104.5, out_time_s=4.5)  # the file the cut closed was written at 104.5
    assert parser.timeline_origin == 100.0
    parser.observe(at=110.0, out_time_s=8.0)
    parser.observe(at=50.0, out_time_s=0.0)  # nothing written yet says nothing
    assert parser.timeline_origin == 100.0
