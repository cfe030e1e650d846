"""Files whose camera timestamps jumped, made by real FFmpeg the way the recorder writes them (-c copy into
Matroska, the muxer "changing" every non-monotonous DTS), then finalized to MP4 and checked."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import imageio_ffmpeg
import pytest

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.engine.host import EngineHost
from nvr_console.core.recording.duration_check import Verdict, check_duration, video_seconds, wall_span
from nvr_console.core.recording.ffmpeg_command import build_finalize_command
from nvr_console.core.recording.mp4_boxes import read_mp4
from tests.core.engine_support import decodes_cleanly, ffprobe_json, wait_until
from tests.support.paced_http import PacedStream

ZONE = ZoneInfo("Europe/Moscow")
SECONDS = 12
OPENED = datetime(2026, 11, 27, 10, 0, 0, tzinfo=ZONE)


def _run(*argv: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", *argv], check=True, timeout=60,
                   capture_output=True)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s of H.264 25 fps (keyframe every 2 s, no B-frames) + AAC 16 kHz, as an IP camera sends."""
    out = tmp_path_factory.mktemp("src") / "src.mp4"
    _run("-f", "lavfi", "-i", f"testsrc2=size=160x90:rate=25:duration={SECONDS}", "-f", "lavfi", "-i",
         f"sine=frequency=440:sample_rate=16000:duration={SECONDS}", "-c:v", "libx264", "-preset", "ultrafast",
         "-g", "50", "-bf", "0", "-c:a", "aac", "-b:a", "48k", str(out))
    return out


def _raw(source: Path, folder: Path, video_expr: str | None, audio_expr: str | None = None,
         audio_codec: str = "copy") -> Path:
    """A raw segment as the recorder leaves it: named by when FFmpeg opened it, last written SECONDS later."""
    raw = folder / f"{OPENED:%Y-%m-%d_%H-%M-%S}.mkv"
    args = ["-i", str(source), "-map", "0", "-c:v", "copy", "-c:a", audio_codec]
    if video_expr:
        args += ["-bsf:v", f"setts=ts={video_expr}"]
    if audio_expr:
        args += ["-bsf:a", f"setts=ts={audio_expr}"]
    _run(*args, "-f", "matroska", str(raw))
    os.utime(raw, (OPENED.timestamp() + SECONDS, OPENED.timestamp() + SECONDS))
    return raw


def _finalize(raw: Path, audio_codec: str = "aac") -> Path:
    final = raw.with_suffix(".mp4")
    subprocess.run(build_finalize_command("ffmpeg", raw, final, audio_codec=audio_codec), check=True,
                   capture_output=True, timeout=60)
    return final


def _stream_seconds(path: Path) -> dict[str, float]:
    return {s["codec_type"]: float(s["duration"]) for s in ffprobe_json(path)["streams"]}


# Every 10 frames the camera clock steps back 10 frames (0.4 s): the muxer packs frames 1 ms apart.
BACKWARDS = "TS-floor(N/10)*10*512"  # video time base 1/12800: 512 ticks a frame
AUDIO_BACKWARDS = "TS-floor(N/10)*10*1024"  # AAC: 1024 samples a packet, time base 1/16000


def test_a_file_whose_video_timestamps_jumped_back_is_repaired_without_reencoding(source: Path,
                                                                                  tmp_path: Path) -> None:
    raw = _raw(source, tmp_path, BACKWARDS)
    span = wall_span(raw, ZONE)
    assert span == pytest.approx(SECONDS)
    final = _finalize(raw)
    info = read_mp4(final)
    assert info.video is not None and info.video.frames == 300
    assert video_seconds(info) < 1.0  # the lie: 300 frames in well under a second
    before = ffprobe_json(final)["streams"][0]
    verdict = check_duration(final, info, span, "ffmpeg")
    assert verdict.damaged is None
    assert "timestamps repaired" in verdict.note and "300 frames" in verdict.note
    assert video_seconds(verdict.info) == pytest.approx(SECONDS, abs=0.05)
    assert verdict.info.video is not None and verdict.info.video.frames == 300
    seconds = _stream_seconds(final)
    assert seconds["video"] == pytest.approx(SECONDS, abs=0.05) and seconds["audio"] == pytest.approx(SECONDS, abs=0.2)
    after = ffprobe_json(final)["streams"][0]
    # No re-encoding: the same codec parameters and the same bytes per frame.
    for key in ("codec_name", "profile", "level", "width", "height", "pix_fmt", "extradata_size"):
        assert after.get(key) == before.get(key), key
    assert after["nb_frames"] == before["nb_frames"] and after["bit_rate"] != "0"
    assert decodes_cleanly(final)
    assert not list(tmp_path.glob(".*.partial"))


def test_audio_that_jumped_too_is_retimed_from_its_samples(source: Path, tmp_path: Path) -> None:
    raw = _raw(source, tmp_path, BACKWARDS, AUDIO_BACKWARDS)
    final = _finalize(raw)
    assert read_mp4(final).duration_s < 1.0  # both tracks lie
    verdict = check_duration(final, read_mp4(final), wall_span(raw, ZONE), "ffmpeg")
    assert verdict.damaged is None
    seconds = _stream_seconds(final)
    assert seconds["video"] == pytest.approx(SECONDS, abs=0.05) and seconds["audio"] == pytest.approx(SECONDS, abs=0.2)
    assert decodes_cleanly(final)


@pytest.mark.parametrize("ffmpeg", ["debian", "imageio-ffmpeg"])
def test_a_forward_jump_of_an_hour_is_repaired(source: Path, tmp_path: Path, ffmpeg: str) -> None:
    """With both FFmpegs the product may run (their setts differ: see the module notes)."""
    exe = "ffmpeg" if ffmpeg == "debian" else imageio_ffmpeg.get_ffmpeg_exe()
    raw = _raw(source, tmp_path, "TS+if(gte(N\\,100)\\,3600*12800\\,0)")
    final = _finalize(raw)
    info = read_mp4(final)
    assert video_seconds(info) > 3600
    verdict = check_duration(final, info, wall_span(raw, ZONE), exe)
    assert verdict.damaged is None and video_seconds(verdict.info) == pytest.approx(SECONDS, abs=0.05)
    assert verdict.info.duration_s == pytest.approx(SECONDS, abs=0.2)


def test_a_healthy_file_is_left_alone(source: Path, tmp_path: Path) -> None:
    raw = _raw(source, tmp_path, None)
    final = _finalize(raw)
    stat = final.stat()
    info = read_mp4(final)
    assert check_duration(final, info, wall_span(raw, ZONE), "ffmpeg") == Verdict(info)
    assert final.stat().st_ino == stat.st_ino and final.stat().st_mtime_ns == stat.st_mtime_ns


def test_too_few_frames_for_the_span_is_damaged_and_kept(source: Path, tmp_path: Path) -> None:
    raw = _raw(source, tmp_path, BACKWARDS)
    os.utime(raw, (OPENED.timestamp() + 3600, OPENED.timestamp() + 3600))  # 300 frames for an hour
    final = _finalize(raw)
    data = final.read_bytes()
    verdict = check_duration(final, read_mp4(final), wall_span(raw, ZONE), "ffmpeg")
    assert verdict.damaged is not None and "0.08 frames a second" in verdict.damaged
    assert "3600.0 s of wall clock" in verdict.damaged and verdict.note == ""
    assert final.read_bytes() == data  # kept as it was


def test_audio_that_cannot_be_retimed_without_reencoding_leaves_the_file_damaged(source: Path,
                                                                                  tmp_path: Path) -> None:
    raw = _raw(source, tmp_path, None, "TS-floor(N/10)*10*1152", audio_codec="libmp3lame")
    final = _finalize(raw, audio_codec="mp3")  # MP3 goes into the MP4 as it is
    info = read_mp4(final)
    assert info.audio is not None and info.audio.codec == "mp3"
    verdict = check_duration(final, info, wall_span(raw, ZONE), "ffmpeg")
    assert verdict.damaged is not None and "mp3 audio cannot be re-timed" in verdict.damaged
    assert decodes_cleanly(final)


def test_a_lying_file_whose_span_is_unknown_is_damaged_not_guessed(source: Path, tmp_path: Path) -> None:
    raw = _raw(source, tmp_path, BACKWARDS)
    final = _finalize(raw)
    info = read_mp4(final)
    for span in (None, 2.0, 5 * 86400.0):  # no name, too short to trust, longer than any file can be
        verdict = check_duration(final, info, span, "ffmpeg")
        assert verdict.damaged is not None and "span it covers is unknown" in verdict.damaged
    raw.unlink()
    assert wall_span(raw, ZONE) is None


def test_a_healthy_file_copied_back_later_is_not_suspected(source: Path, tmp_path: Path) -> None:
    """Its modification time is days after its name (a restore from a backup): its own numbers are sane."""
    raw = _raw(source, tmp_path, None)
    final = _finalize(raw)
    os.utime(raw, (OPENED.timestamp() + 4 * 86400, OPENED.timestamp() + 4 * 86400))
    info = read_mp4(final)
    assert check_duration(final, info, wall_span(raw, ZONE), "ffmpeg") == Verdict(info)


@pytest.mark.slow
def test_the_engine_repairs_files_from_a_camera_whose_timestamps_jump(
        tmp_path: Path, settings_factory: Callable[..., Settings], qapp: object) -> None:
    """A live camera (MPEG-TS over HTTP at its own pace) whose clock sticks for ten seconds at a time: the
    recorder logs "Non-monotonous DTS ... changing to" for every frame and writes frames a tick apart; the
    finalizer catches every such file and rewrites its timestamps."""
    clip, stuck = tmp_path / "clip.mp4", tmp_path / "stuck.ts"
    _run("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=40", "-c:v", "libx264", "-preset", "ultrafast",
         "-g", "50", "-bf", "0", str(clip))
    _run("-i", str(clip), "-c", "copy", "-bsf:v", "setts=ts=floor(N/250)*250*512", "-f", "mpegts", str(stuck))
    settings = settings_factory(**{"recording.segment_length": "4", "recording.timezone": "Europe/Moscow",
                                   "upload.destination": "none"})
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "A-101")
    catalog.add_camera(db, "A-101", "jumpy", "http://127.0.0.1:1/cam")  # replaced below, once the port is known
    with PacedStream(stuck, 40) as cam:
        catalog.edit_camera(db, "A-101", "jumpy", url=cam.url)
        host = EngineHost(settings, db)
        try:
            host.start()
            # The first file may be too short to judge (the stream starts mid-slot); wait for whole ones.
            assert wait_until(lambda: any("timestamps repaired" in r.notes for r in catalog.list_recordings(db)),
                              40), [(r.local_path, r.duration, r.notes) for r in catalog.list_recordings(db)]
        finally:
            assert host.stop(60)
    rows = [r for r in catalog.list_recordings(db) if r.status == "ready"]
    repaired = [r for r in rows if "timestamps repaired" in r.notes]
    assert repaired, [(r.local_path, r.duration, r.notes) for r in rows]
    for r in repaired:
        info = read_mp4(Path(r.local_path))
        span = (r.end_time - r.start_time).total_seconds()
        assert r.damaged is None and video_seconds(info) == pytest.approx(span, abs=0.2) and span > 1.5, r
        assert decodes_cleanly(Path(r.local_path))
    db.dispose()
