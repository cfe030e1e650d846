"""FFmpeg recorder/finalizer command lines, checked against real FFmpeg and a real RTSP server."""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from nvr_console.core.recording.ffmpeg_command import (
    DEMO_URL,
    build_finalize_command,
    build_record_command,
    command_for_log,
    recorder_environment,
    segment_pattern,
    sound_filter,
)
from nvr_console.core.recording.probe import probe
from tests.core.engine_support import ffprobe_json
from tests.core.recording.conftest import ffprobe_packets, one_file_segment_seconds, run_recorder
from tests.support.rtsp_peer import RtspServer

# ---------- argv shape (pure) ----------

def test_rtsp_argv_copies_into_flushed_mkv_segments_and_never_uses_nostdin(tmp_path: Path) -> None:
    argv = build_record_command("ffmpeg", "rtsp://u:p@cam/x", tmp_path, segment_seconds=1800,
                                socket_timeout_s=7)
    assert "-nostdin" not in argv  # we stop with 'q' on stdin
    joined = " ".join(argv)
    assert "-rtsp_transport tcp -timeout 7000000" in joined
    assert "-c:v copy" in joined and "-c:a copy" in joined and "-map 0:a:0?" in joined
    assert "-f segment -segment_format matroska" in joined
    assert "-segment_format_options flush_packets=1:cluster_time_limit=500" in joined
    assert "-segment_time 1800 -segment_atclocktime 1" in joined
    assert "-segment_list pipe:1 -segment_list_type csv -progress pipe:1" in joined
    assert segment_pattern(tmp_path) == str(tmp_path / "%Y-%m-%d_%H-%M-%S.mkv")
    # The segments are output #0 (the header the recorder reads); the SPS watch is output #1, to nowhere.
    assert argv[-10:] == [segment_pattern(tmp_path), "-map", "0:v:0?", "-c:v", "copy", "-bsf:v",
                          "filter_units=pass_types=7|33,trace_headers", "-f", "null", "-"]
    assert "-use_wallclock_as_timestamps" not in argv


def test_argv_options() -> None:
    udp = build_record_command("ff", "rtsp://cam/x", "d", rtsp_transport="udp", audio="none",
                               wallclock_timestamps=True, clocktime_offset_s=2)
    assert udp[udp.index("-rtsp_transport") + 1] == "udp"
    assert "-an" in udp and "-use_wallclock_as_timestamps" in udp
    assert udp[udp.index("-segment_clocktime_offset") + 1] == "2"
    aac = build_record_command("ff", "http://cam/x.ts", "d", audio="aac")
    assert "-rtsp_transport" not in aac and aac[aac.index("-c:a") + 1] == "aac"
    with pytest.raises(ValueError):
        build_record_command("ff", "rtsp://cam/x", "d", segment_seconds=0)


def test_lavfi_argv_encodes_and_adds_audio_input() -> None:
    argv = build_record_command("ff", DEMO_URL, "d")
    assert argv.count("lavfi") == 2 and argv.count("-re") == 2
    assert "testsrc2=size=640x360:rate=25" in argv and "sine=frequency=440:sample_rate=16000" in argv
    assert argv[argv.index("-c:v") + 1] == "libx264" and argv[argv.index("-c:a") + 1] == "aac"
    video_only = build_record_command("ff", "lavfi:testsrc2", "d")
    assert "-c:a" not in video_only and "1:a:0" not in video_only


def test_audio_only_argv_keeps_the_first_audio_stream_and_the_cameras_segment_options() -> None:
    snd = build_record_command("ff", "rtsp://u:p@mic/x", "d", segment_seconds=5, audio_only=True)
    cam = build_record_command("ff", "rtsp://u:p@mic/x", "d", segment_seconds=5)
    assert [snd[i + 1] for i, a in enumerate(snd) if a == "-map"] == ["0:a:0"]  # no '?': audio is required
    assert "-vn" in snd and "-c:v" not in snd and snd[snd.index("-c:a") + 1] == "copy"
    segment = snd[snd.index("-f"):]
    assert segment == cam[cam.index("-f"):cam.index("-f") + len(segment)]  # the same cut points
    assert "null" not in snd  # no SPS watch: no video
    with pytest.raises(ValueError, match="must be a network stream"):
        build_record_command("ff", DEMO_URL, "d", audio_only=True)
    with pytest.raises(ValueError, match="needs its audio"):
        build_record_command("ff", "rtsp://mic/x", "d", audio="none", audio_only=True)


def test_audio_only_recorder_writes_sound_without_video(ffmpeg: str, rtsp_server: RtspServer, tmp_path: Path) -> None:
    # A stream with video and audio: the sound-source form keeps the audio alone.
    run = run_recorder(build_record_command(ffmpeg, rtsp_server.url("/cam_alaw"), tmp_path, segment_seconds=3600,
                                            audio_only=True), 4)
    assert run.returncode == 0, run.stderr[-2000:]
    (seg,) = tmp_path.glob("*.mkv")
    info = probe(seg)
    assert info.video is None and info.audio is not None and (info.duration_s or 0) > 1


def test_finalize_argv_audio_rules() -> None:
    g711 = build_finalize_command("ff", "in.mkv", "out.mp4", audio_codec="pcm_alaw")
    assert g711[g711.index("-c:a") + 1] == "aac" and "16000" in g711 and "+faststart" in g711
    aac = build_finalize_command("ff", "in.mkv", "out.mp4", audio_codec="aac")
    assert aac[aac.index("-c:a") + 1] == "copy"
    silent = build_finalize_command("ff", "in.mkv", "out.mp4", audio_codec=None)
    assert "-c:a" not in silent and "0:a:0" not in silent
    late = build_finalize_command("ff", "v.mkv", "o.mp4", audio_codec="pcm_alaw", sound=[("s.mkv", 0.25)],
                                  sound_codec="aac")
    graph = late[late.index("-filter_complex") + 1]
    assert "adelay=delays=250:all=1" in graph and late[late.index("-map", late.index("-map") + 1) + 1] == "[sound]"
    # Two pieces: the first trimmed to the video's start and cut (or padded) where the second begins.
    two = build_finalize_command("ff", "v.mkv", "o.mp4", audio_codec=None, sound=[("s1.mkv", -1.5), ("s2.mkv", 0.75)],
                                 sound_codec="pcm_alaw", max_duration_s=10)
    assert two.index("s1.mkv") < two.index("s2.mkv") and two[two.index("-t") + 1] == "10.000" and "16000" in two
    assert sound_filter([-1.5, 0.75]) == (
        "[1:a]atrim=start=1.500000:end=2.250000,asetpts=PTS-STARTPTS,apad=whole_dur=0.750000[s0];"
        "[2:a]atrim=start=0.000000,asetpts=PTS-STARTPTS[s1];[s0][s1]concat=n=2:v=0:a=1[sound]")
    assert "-err_detect" in build_finalize_command("ff", "a.mkv", "b.mp4", audio_codec="aac", tolerant=True)


def test_command_for_log_masks_password() -> None:
    line = command_for_log(build_record_command("ffmpeg", "rtsp://admin:s3cret@10.0.0.5/x", "/r"))
    assert "s3cret" not in line and "rtsp://admin:***@10.0.0.5/x" in line


def test_recorder_environment_sets_tz() -> None:
    assert recorder_environment({"A": "1"}, "Europe/Moscow") == {"A": "1", "TZ": "Europe/Moscow"}
    assert recorder_environment({"A": "1"}, None) == {"A": "1"}
    assert recorder_environment({"A": "1"}, "local") == {"A": "1"}  # the machine's zone: FFmpeg inherits it


# ---------- real recordings ----------

def _start_of(name: str) -> datetime:
    return datetime.strptime(Path(name).stem, "%Y-%m-%d_%H-%M-%S")


def test_segments_are_gapless_g711_finalizes_to_aac_and_room_sound_aligns(
        ffmpeg: str, rtsp_server: RtspServer, tmp_path: Path) -> None:
    cam_dir, snd_dir = tmp_path / "cam", tmp_path / "sound"
    cam_dir.mkdir()
    snd_dir.mkdir()
    cam_argv = build_record_command(ffmpeg, rtsp_server.url("/cam_alaw"), cam_dir, segment_seconds=5)
    snd_argv = build_record_command(ffmpeg, rtsp_server.url("/audio"), snd_dir, segment_seconds=5, audio_only=True)
    # The room's sound source records alongside, as the engine would run it.
    snd = subprocess.Popen(snd_argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    from nvr_console.core.recording.progress import ProgressParser
    snd_parser = ProgressParser()
    import threading
    t = threading.Thread(target=lambda: [snd_parser.feed(c, time.time())
                                         for c in iter(lambda: os.read(snd.stdout.fileno(), 4096), b"")],  # type: ignore[union-attr]
                         daemon=True)
    t.start()
    run = run_recorder(cam_argv, 16.5)
    snd.stdin.write(b"q")  # type: ignore[union-attr]
    snd.stdin.close()  # type: ignore[union-attr]
    snd.wait(timeout=20)
    t.join(5)
    assert run.returncode == 0, run.stderr[-2000:]

    segs = run.parser.segments
    files = sorted(p.name for p in cam_dir.glob("*.mkv"))
    assert [s.filename for s in segs] == files and len(files) >= 3, (files, segs)
    # Boundaries: each segment ends exactly where the next begins (1 ms rounding of the list).
    for a, b in itertools.pairwise(segs):
        assert abs(a.end_s - b.start_s) <= 0.002, (a, b)
    # Every frame FFmpeg read is in exactly one file: per-file frame counts add up to the total.
    frames = [len(ffprobe_packets(cam_dir / f)) for f in files]
    assert run.parser.last is not None and run.parser.last.ended
    assert sum(frames) == run.parser.last.frame, (frames, run.parser.last)
    # Durations: probed files cover the listed span; the span covers the run minus connect time.
    durations = [probe(cam_dir / f).duration_s or 0 for f in files]
    span = segs[-1].end_s - segs[0].start_s
    assert abs(sum(d for d in durations) - span) < 0.2 * len(files) + 0.3, (durations, span)
    first_start = _start_of(files[0]).timestamp()
    # The first file is named when its header is written, after FFmpeg's input probing, while its
    # content starts at the first packet read: so its name can be up to the probe time (~1-2 s on a
    # loaded machine) later than its first frame, plus 1 s of name truncation.
    assert run.stopped_at - first_start - 1.0 <= span <= run.stopped_at - first_start + 3.0
    # Cuts happen on the 5 s wall-clock grid, at most one GOP (2 s) + delivery later.
    for f in files[1:]:
        assert _start_of(f).second % 5 <= 3, files

    # G.711 is kept in the MKV and becomes AAC in the final MP4.
    middle = cam_dir / files[1]
    info = probe(middle)
    assert info.audio is not None and info.audio.codec == "pcm_alaw"
    final = tmp_path / "final.mp4"
    subprocess.run(build_finalize_command(ffmpeg, middle, final, audio_codec=info.audio.codec), check=True, timeout=60)
    out = probe(final)
    assert out.video is not None and out.video.codec == "h264" and out.audio is not None
    assert (out.audio.codec, out.audio.sample_rate) == ("aac", 16000)
    assert abs((out.duration_s or 0) - (info.duration_s or 0)) < 0.3
    head = final.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and head.find(b"moov") < final.read_bytes().find(b"mdat")  # faststart

    # Room sound: every sound piece the camera piece overlaps on the wall clock, each at its offset from both
    # recorders' timelines, muxed in place of camera audio. The camera cut at its first keyframe after the
    # boundary (up to one GOP, 2 s on the test server, plus delivery), the sound at the boundary: the camera
    # piece runs into the next sound piece, and its sound must cover it all.
    v_origin, s_origin = run.parser.timeline_origin, snd_parser.timeline_origin
    assert v_origin is not None and s_origin is not None
    seg = segs[1]
    v_start, v_end = v_origin + seg.start_s, v_origin + seg.end_s
    pieces = [(snd_dir / s.filename, s_origin + s.start_s - v_start) for s in snd_parser.segments
              if min(s_origin + s.end_s, v_end) - max(s_origin + s.start_s, v_start) > 0]
    assert pieces and all(abs(offset) < 8.0 for _, offset in pieces), pieces
    sound_info = probe(pieces[0][0])
    assert sound_info.video is None and sound_info.audio is not None
    mixed = tmp_path / "mixed.mp4"
    subprocess.run(build_finalize_command(ffmpeg, middle, mixed, audio_codec="pcm_alaw", sound=pieces,
                                          sound_codec=sound_info.audio.codec, max_duration_s=info.duration_s),
                   check=True, timeout=60)
    m = probe(mixed)
    assert m.video is not None and m.audio is not None and m.audio.codec == "aac"
    assert m.audio.sample_rate == sound_info.audio.sample_rate  # the room's audio, not the camera's 8 kHz
    assert abs((m.duration_s or 0) - (info.duration_s or 0)) < 0.3
    streams = {st["codec_type"]: float(st["duration"]) for st in ffprobe_json(mixed)["streams"]}
    assert streams["audio"] >= 0.97 * streams["video"], (streams, pieces)


def test_sigkill_leaves_a_playable_segment_and_recovery_gives_mp4(
        ffmpeg: str, rtsp_server: RtspServer, tmp_path: Path) -> None:
    argv = build_record_command(ffmpeg, rtsp_server.url("/cam_alaw"), tmp_path,
                                segment_seconds=one_file_segment_seconds())
    run = run_recorder(argv, 6.0, kill=True)
    assert run.returncode == -9
    (partial,) = tmp_path.glob("*.mkv")
    assert run.parser.segments == []  # never reported finished: the engine must recover it
    info = probe(partial)
    assert info.duration_source == "packets"  # no container duration after a kill
    read = (run.parser.last.out_time_s or 0) if run.parser.last else 0
    assert info.duration_s is not None and info.duration_s > 2.5 and info.duration_s >= read - 1.0, (info, read)
    assert info.audio is not None and info.audio.codec == "pcm_alaw"
    fixed = tmp_path / "recovered.mp4"
    proc = subprocess.run(build_finalize_command(ffmpeg, partial, fixed, audio_codec=info.audio.codec, tolerant=True),
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    out = probe(fixed)
    assert out.duration_source == "container" and out.video is not None and out.audio is not None
    assert out.audio.codec == "aac"
    assert abs((out.duration_s or 0) - info.duration_s) < 0.5
    # Decodes end to end without errors.
    check = subprocess.run([ffmpeg, "-v", "error", "-nostdin", "-i", str(fixed), "-f", "null", "-"],
                           capture_output=True, text=True, timeout=60, check=False)
    assert check.returncode == 0, check.stderr
    assert "error while decoding" not in check.stderr and "Invalid data" not in check.stderr, check.stderr


def test_lavfi_demo_records_and_midnight_goes_to_the_new_date(ffmpeg: str, tmp_path: Path) -> None:
    """TZ decides names and cut points: a POSIX TZ whose local midnight comes 6 s after start."""
    # FFmpeg must have written its first file before midnight: at a load average of 50 it took more than the
    # 2.5 s this test once gave it (every file then carried the new date), so midnight is 6 s away.
    now = time.time() + 6
    utc = datetime.utcfromtimestamp(now) if hasattr(datetime, "utcfromtimestamp") else None
    assert utc is not None
    secs = utc.hour * 3600 + utc.minute * 60 + utc.second
    # local = utc + shift must be 00:00:00 at `now`; POSIX TZ offset sign is inverted (west positive).
    shift = (86400 - secs) % 86400
    if shift > 12 * 3600:
        shift -= 86400
    sign = "-" if shift > 0 else "+"
    a = abs(shift)
    tz = f"XXX{sign}{a // 3600:02d}:{a % 3600 // 60:02d}:{a % 60:02d}"
    env = recorder_environment(os.environ, tz)
    argv = build_record_command(ffmpeg, DEMO_URL, tmp_path, segment_seconds=2)
    run = run_recorder(argv, 9.5, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    files = sorted(p.name for p in tmp_path.glob("*.mkv"))
    assert len(files) >= 2, files
    dates = {f[:10] for f in files}
    assert len(dates) == 2, files  # crossed local midnight: names carry both dates
    assert any(f[11:19] in ("00-00-00", "00-00-01") for f in files), files
    info = probe(tmp_path / files[-2]) if len(files) > 2 else probe(tmp_path / files[0])
    assert info.video is not None and info.video.codec == "h264" and (info.video.width, info.video.height) == (640, 360)
    assert info.audio is not None and info.audio.codec == "aac"
    assert [s.filename for s in run.parser.segments] == files
    # day after the first file's date
    first = datetime.strptime(min(dates), "%Y-%m-%d")
    assert max(dates) == (first + timedelta(days=1)).strftime("%Y-%m-%d")
