"""Recorder pieces that need no camera (command lines, a missing FFmpeg), and what it tells of a segment."""

from __future__ import annotations

import itertools
import os
import stat
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from nvr_console.core.recording.recorder import (
    Recorder,
    RecorderConfig,
    RecorderSpec,
    build_camera_command,
    build_sound_command,
)
from nvr_console.core.recording.segment_names import FinishedSegment, raw_name_time
from nvr_console.core.status import CameraState, LogLine
from nvr_console.core.system import process_visibility
from nvr_console.core.system.process_visibility import Exposure, PasswordNotice, Visibility
from tests.core.engine_support import wait_until
from tests.support.rtsp_peer import RtspServer


def _cfg(tmp_path: Path, ffmpeg: str = "ffmpeg") -> RecorderConfig:
    return RecorderConfig(ffmpeg, 5, "Europe/Moscow", 20.0, 10.0, tmp_path / "run", tmp_path / "log",
                          quit_timeout_s=1, terminate_timeout_s=1)


def _spec(tmp_path: Path, **kw: object) -> RecorderSpec:
    base: dict[str, object] = dict(key="camera:1", camera_id=1, room_id=1, room="R", name="50% zoom",
                                   url="rtsp://u:pw@127.0.0.1:1/x", transport="tcp",
                                   output_dir=tmp_path / "R" / "50% zoom")
    base.update(kw)
    return RecorderSpec(**base)  # type: ignore[arg-type]


def test_percent_in_names_is_literal_for_strftime(tmp_path: Path) -> None:
    argv = build_camera_command(_cfg(tmp_path), _spec(tmp_path))
    assert argv[argv.index("-progress") + 2].endswith("50%% zoom/%Y-%m-%d_%H-%M-%S.mkv")
    assert "-c:v" in argv and argv[argv.index("-c:v") + 1] == "copy"


def test_sound_source_command_keeps_only_audio(tmp_path: Path) -> None:
    argv = build_sound_command(_cfg(tmp_path), _spec(tmp_path, key="sound:1", camera_id=None, sound_only=True))
    maps = [argv[i + 1] for i, a in enumerate(argv) if a == "-map"]
    assert maps == ["0:a:0"] and "-vn" in argv
    # The same segment options as the cameras: the same cut points.
    cam = build_camera_command(_cfg(tmp_path), _spec(tmp_path))
    segment = argv[argv.index("-f"):]
    assert segment == cam[cam.index("-f"):cam.index("-f") + len(segment)]


def test_missing_ffmpeg_fails_with_a_fix(tmp_path: Path, qapp: object) -> None:
    rec = Recorder(_spec(tmp_path), _cfg(tmp_path, ffmpeg=str(tmp_path / "no-ffmpeg")))
    states: list[CameraState] = []
    rec.status_changed.connect(lambda s: states.append(s.state))
    rec.start()
    assert wait_until(lambda: rec.state is CameraState.FAILED, 5)
    assert "recording.ffmpeg" in rec.last_error and rec.status().next_retry_in > 0
    assert "pw" not in rec.status().last_error
    rec.stop()
    assert rec.state is CameraState.STOPPED and not rec.running
    rec.dispose()


def test_finished_segments_carry_the_streams_from_ffmpegs_header(tmp_path: Path, qapp: object,
                                                                  rtsp_server: RtspServer) -> None:
    # A G.711 camera: the finalizer must know to transcode its audio without probing the file.
    rec = Recorder(_spec(tmp_path, name="alaw", url=rtsp_server.url("/cam_alaw"), output_dir=tmp_path / "R" / "alaw"),
                   _cfg(tmp_path))
    finished: list[FinishedSegment] = []
    rec.segment_finished.connect(finished.append)
    rec.start()
    try:
        assert wait_until(lambda: bool(finished), 20), rec.last_error
    finally:
        rec.stop()
        assert wait_until(lambda: not rec.running, 15)
        rec.dispose()
    for seg in finished:  # the first cut, and the file closed by the stop
        assert seg.streams is not None, seg
        assert [(s.kind, s.codec) for s in seg.streams.streams] == [("video", "h264"), ("audio", "pcm_alaw")]


def _fails_at_once(rec: Recorder) -> str:
    rec.start()
    try:
        assert wait_until(lambda: rec.state is CameraState.FAILED, 5)
        assert not rec.running  # no FFmpeg was started
        return rec.last_error
    finally:
        rec.stop()
        rec.dispose()


def test_a_stored_name_reaching_the_engines_own_folders_records_nothing(tmp_path: Path, qapp: object) -> None:
    # Saved by an older version: room '.nvr-run' + camera '1.pid' wrote into the pid-file folder.
    root = tmp_path / "rec"
    cfg = _cfg(root)
    error = _fails_at_once(Recorder(_spec(tmp_path, room=".nvr-run", name="1.pid",
                                          output_dir=root / ".nvr-run" / "1.pid"), cfg))
    assert "room name '.nvr-run' cannot be a folder name: it starts with '.'" in error
    assert "nvr-console rooms edit .nvr-run --rename NEW" in error and "pw" not in error
    assert not (root / ".nvr-run").exists()
    error = _fails_at_once(Recorder(_spec(tmp_path, name=".sound", output_dir=root / "R" / ".sound"), cfg))
    assert "camera name '.sound'" in error and "cameras edit --room R --name .sound --rename NEW" in error
    assert not (root / "R").exists()


def test_a_stored_lavfi_url_that_reads_a_file_records_nothing(tmp_path: Path, qapp: object) -> None:
    secret = tmp_path / "private.mp4"
    error = _fails_at_once(Recorder(_spec(tmp_path, url=f"lavfi:movie={secret}"), _cfg(tmp_path)))
    assert "'movie' is not an allowed video test source" in error
    assert not (tmp_path / "R").exists()
    # The camera's own log says why, and is for its owner and group only.
    log_file = tmp_path / "log" / "ffmpeg" / "R-50% zoom.log"
    assert "not an allowed video test source" in log_file.read_text()
    assert os.name != "posix" or stat.S_IMODE(log_file.stat().st_mode) == 0o640


def test_the_password_notice_comes_once_from_the_first_camera_with_a_password(
        tmp_path: Path, qapp: object, monkeypatch: pytest.MonkeyPatch) -> None:
    checks: list[int] = []

    def exposed() -> Visibility:
        checks.append(1)
        return Visibility(Exposure.EXPOSED, "every local user can read them")

    monkeypatch.setattr(process_visibility, "NOTICE", PasswordNotice(exposed))
    lines: list[LogLine] = []
    recs = [Recorder(_spec(tmp_path, key=f"camera:{i}", camera_id=i, name=f"c{i}", url=url,
                           output_dir=tmp_path / "R" / f"c{i}"), _cfg(tmp_path))
            for i, url in enumerate(["rtsp://127.0.0.1:1/open", "rtsp://u:pw@127.0.0.1:1/a",
                                     "rtsp://u:pw2@127.0.0.1:1/b"])]
    for rec in recs:
        rec.log_line.connect(lines.append)
        rec.start()
    try:
        assert wait_until(lambda: all(r.last_error for r in recs), 15)
    finally:
        for rec in recs:
            rec.stop()
        assert wait_until(lambda: not any(r.running for r in recs), 15)
        for rec in recs:
            rec.dispose()
    notes = [x for x in lines if "command line" in x.text]
    assert len(notes) == 1 and len(checks) == 1
    assert notes[0].level == "warning" and notes[0].camera_id == 1
    assert "camera passwords are in FFmpeg's command line while it records: every local user" in notes[0].text


def test_a_starved_engine_thread_still_dates_each_file_by_its_cut(tmp_path: Path, qapp: object) -> None:
    # Under load the engine thread reads FFmpeg's progress blocks late; dating files from them alone made a file
    # start 0.54 s before the previous one ended (a full run beside others). Starve the thread 1.9 s in every 2 s.
    cfg = RecorderConfig("ffmpeg", 2, "Europe/Moscow", 20.0, 10.0, tmp_path / "run", tmp_path / "log",
                         quit_timeout_s=2, terminate_timeout_s=2)
    rec = Recorder(_spec(tmp_path, url="lavfi:testsrc2=size=320x180:rate=25", output_dir=tmp_path / "R" / "c"), cfg)
    finished: list[FinishedSegment] = []
    rec.segment_finished.connect(finished.append)
    rec.start()
    try:
        deadline = time.monotonic() + 25
        while len(finished) < 6 and time.monotonic() < deadline:
            wait_until(lambda: False, 0.05)  # the event loop runs...
            time.sleep(1.9)  # ...and then it does not
    finally:
        rec.stop()
        assert wait_until(lambda: not rec.running, 15)
        rec.dispose()
    # The last file is the one the stop closed.
    cut = [s for s in finished if s.wall_start is not None and s.wall_end is not None][:-1]
    assert len(cut) >= 5, finished
    zone = ZoneInfo("Europe/Moscow")
    for seg in cut[1:]:  # FFmpeg names each file by the wall-clock second it opened it (its cut)
        named = raw_name_time(seg.raw_path, zone)
        assert named is not None and seg.wall_start is not None
        late = seg.wall_start - named.timestamp()
        assert -0.05 <= late < 1.05, (seg.raw_path.name, late)
    for before, after in itertools.pairwise(cut):
        assert before.wall_end is not None and after.wall_start is not None
        overlap = before.wall_end - after.wall_start
        assert overlap <= 0.05, (before.raw_path.name, after.raw_path.name, overlap)


def test_a_camera_at_a_closed_port_is_down_since_its_first_attempt_through_every_retry(
        tmp_path: Path, qapp: object, ffmpeg: str) -> None:
    from tests.support.ports import free_port

    rec = Recorder(_spec(tmp_path, url=f"rtsp://u:pw@127.0.0.1:{free_port()}/x"), _cfg(tmp_path, ffmpeg))
    seen: list[tuple[CameraState, float, str]] = []
    rec.status_changed.connect(lambda s: seen.append((s.state, s.down_since, s.last_error)))
    before = time.time()
    rec.start()
    try:
        # Two failed runs: connection refused, a retry after the backoff, refused again.
        assert wait_until(lambda: (rec.poll(), sum(1 for s in seen if s[0] is CameraState.RECONNECTING) >= 2)[1],
                          20), seen
    finally:
        rec.stop()
        assert wait_until(lambda: (rec.poll(), not rec.running)[1], 15)
        rec.dispose()
    first = seen[0]
    assert first[0] is CameraState.STARTING and before <= first[1] <= time.time()
    down = [s for s in seen if s[0] is not CameraState.STOPPED]
    # One outage from the first attempt on, however many states its retries passed through.
    assert {s[1] for s in down} == {first[1]}, down
    status = rec.status()
    assert status.state is CameraState.STOPPED and status.down_since == 0.0 and not status.is_down
    reconnecting = next(s for s in seen if s[0] is CameraState.RECONNECTING)
    assert reconnecting[2].startswith("Connection refused")


def test_ffmpeg_cuts_on_while_the_engine_thread_is_held_up(tmp_path: Path, qapp: object,
                                                           rtsp_server: RtspServer) -> None:
    # The parameter-set watch traces every keyframe's SPS on stderr. An engine thread held up (the database away
    # for 14 s in the partition test) read nothing: the 64 KiB pipe filled, FFmpeg blocked writing to it, and
    # cut no file until the thread came back (one 7.3 s file where 3 s ones were due).
    cfg = RecorderConfig("ffmpeg", 2, "UTC", 60.0, 10.0, tmp_path / "run", tmp_path / "log",
                         quit_timeout_s=5, terminate_timeout_s=2)
    out = tmp_path / "R" / "c"
    rec = Recorder(_spec(tmp_path, url=rtsp_server.url("/cam"), output_dir=out), cfg)
    rec.start()
    try:
        assert wait_until(lambda: rec.state is CameraState.RECORDING, 20), rec.last_error
        held = time.time()
        time.sleep(30)  # the engine thread reads nothing meanwhile
        opened = sorted(p.name for p in out.glob("*.mkv"))
    finally:
        rec.stop()
        assert wait_until(lambda: not rec.running, 15)
        rec.dispose()
    zone = ZoneInfo("UTC")
    never = datetime.min.replace(tzinfo=UTC)
    during = [n for n in opened if held + 2 < (raw_name_time(out / n, zone) or never).timestamp() < held + 30]
    # A cut every 2 s (on the camera's 2 s keyframes): about 14 files opened while the thread was held.
    assert len(during) >= 10, (held, opened)
