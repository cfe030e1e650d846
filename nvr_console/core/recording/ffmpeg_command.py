r"""FFmpeg argument lists for recording, finalizing and recovering camera segments (pure functions).

Measured facts (Debian FFmpeg 5.1, GStreamer RTSP server on loopback, H.264 640x360 25 fps,
keyframe every 2 s; see tests/core/recording/test_ffmpeg_command.py):

- Container while recording: Matroska. It takes any camera audio with ``-c copy`` (G.711 A-law/µ-law,
  AAC, Opus...), so "unknown audio" needs no decision at record time. MP4 refuses G.711
  ("Could not find tag for codec pcm_alaw", exit 1, nothing recorded).
- SIGKILL: the segment muxer's inner muxer buffers its output; a plain ``-f segment`` MKV or fragmented
  MP4 killed after 7 s was 0 bytes (MKV) / 28 bytes (fMP4), and ~256 KiB after 15 s. The top-level
  ``-flush_packets 1`` does NOT reach the inner muxer; ``-segment_format_options flush_packets=1`` does.
  Matroska still holds the open cluster in memory (up to one GOP, ~1.4 s lost in one run), so
  ``cluster_time_limit=500`` closes a cluster every 0.5 s: a SIGKILLed MKV then keeps all but the last
  half second or so, plays, and remuxes to MP4 (build_finalize_command, tolerant).
  Its container duration is missing (ffprobe says N/A), so probe.py falls back to reading packets.
- Boundaries: ``-f segment -segment_atclocktime 1 -reset_timestamps 1`` cuts at the first keyframe after
  each wall-clock boundary, so a file starts up to one GOP after the boundary. Nothing is lost between
  files: over 17 s with 5 s segments the per-file video frame counts (102+153+102+72) summed to exactly
  the 429 frames FFmpeg read, and segment i's end time equalled segment i+1's start (to 1 ms).
- ``-use_wallclock_as_timestamps 1``: on loopback no difference at all (same frames, same cut points,
  same frame-interval jitter sd 5.4 ms). It replaces the camera's clock with packet arrival times, which
  on a real network bakes jitter into every frame, so it is off by default and an option for cameras
  whose own timestamps jump. With ``-copyts`` it would put epoch times in the segment list, but then the
  FIRST file keeps epoch timestamps (reset_timestamps subtracts 0 for it): not used.
- How the engine learns a segment is finished: ``-segment_list pipe:1 -segment_list_type csv`` writes
  ``name,start,end`` to stdout when a segment is closed (also the last one on ``q``), interleaved
  cleanly with the ``-progress pipe:1`` blocks (both are written by FFmpeg's one muxing thread);
  progress.ProgressParser splits them. Names in the list are basenames only, so the date must be part
  of the file name: segments are written flat as ``<dir>/%Y-%m-%d_%H-%M-%S.mkv``.
- File names are the wall-clock time the file was opened. For the first file of a run that is after
  input probing, so its first frame can be ~1-2 s older than its name (the list's times are exact).
- strftime does not create directories: a pattern ``%Y-%m-%d/...`` whose directory is missing fails at
  start ("Failed to open segment ... No such file or directory", exit 1) and would stop the recording at
  midnight. Hence the flat names above; the finalizer writes ``<YYYY-MM-DD>/<HH-MM-SS>.mp4``.
- Time zone: strftime names and the clock-time cut points use the local time of the FFmpeg process;
  set ``TZ`` in its environment (recorder_environment()). Names have 1 s resolution and the segment
  muxer overwrites silently, so a recorder must not be restarted within the same second.
- Stopping: ``q`` on stdin (so never ``-nostdin`` for a recorder). A stalled source ends FFmpeg with
  "Connection timed out" after ``-timeout``, and a server that closes the stream ends it with no error
  at all; both exit with status 0, so the exit code alone does not tell "stopped" from "lost".
- lavfi (demo) inputs give raw frames: ``-re -f lavfi``, encode libx264 ultrafast with a keyframe
  every second (forced by time, so cut points exist whatever the frame rate), audio AAC.
- ``-stats_period 5``: the first progress block still comes as soon as the output is open (out_time
  1 ms, 1.3 s after start), later ones every 5 s instead of every 0.5 s. Each block costs the engine a
  Python wake-up: with 8 cameras its steady CPU went from 0.106-0.111 to 0.085-0.097 % of a core per camera.
  With the keyframe gate below, that first block says out_time 0 (nothing written yet; measured on /cam:
  block 1 at 1.3 s with out_time_us=0, block 2 at 6.3 s), so the recorder watches the file grow instead of
  waiting 5 s for the next block (recorder.py).
- B-frames (H.264 Main/High, H.265 with B-frames; what lecture-hall encoders send): over RTSP FFmpeg 5.1
  gives the first keyframe no pts and no dts (``ffprobe -show_packets``: ``N/A,N/A,K_``) and the next few
  packets no dts. Matroska refuses the first one (``Can't write packet with unknown timestamp``, exit 1,
  a 5 KB file with 4 packets) and the recorder never records; ``+genpts``, ``+igndts`` and
  ``-use_wallclock_as_timestamps 1`` do not help. The muxing layer fills a missing dts from the pts
  (reorder buffer) but never a missing pts. So video goes through the ``noise`` bitstream filter with a
  ``drop`` expression that discards packets until the first keyframe that has both timestamps
  (UNTIMED_KEYFRAME_GATE; ``st(0)``/``ld(0)`` keep "seen one" across packets). Measured on a pre-encoded
  High-profile file with 3 B-frames, 1 s GOP, AAC: 10.6 s recorded into 4 files of 25+75+75+67 video
  packets = the 242 frames FFmpeg read, each file starting on a keyframe; the first 1 s (the untimed
  GOP) is what is lost. Baseline streams start the same way (``N/A,N/A,K_`` then ``3600,3600``): without
  B-frames the muxer used to guess the first keyframe's timestamps, so they now lose their first GOP
  too; a client joining a shared stream mid-GOP already lost up to a GOP before its first keyframe. A
  camera with a 10 s keyframe interval loses up to 10 s per (re)connect (README "Supported streams").
  Keeping the first keyframe with ``setts=pts='if(eq(N\,0)*eq(PTS\,NOPTS)\,0\,PTS)'`` does not work: FFmpeg
  has already shifted the stream so that the first TIMED packet is 0, so the right value is unknown
  (Baseline: "Non-monotonous DTS ... previous 0, current 0"); 5.1's setts cannot look ahead.
  The filter passes packets unchanged (``amount`` defaults to 0 when ``drop`` is set; a bare ``noise``
  corrupts data): the stream matrix decodes every file without a decoder error.
  Rejected: another inner container. The MP4 muxer accepts the untimed packet but writes a guessed dts
  and keeps MP4's SIGKILL problem (no moov); MPEG-TS needs a pts too; keeping Matroska keeps every
  crash-safety measurement above.
- Open GOP (H.265 CRA with leading RASL pictures, x265's default): a cut at a CRA puts its leading
  pictures, which reference the previous GOP, into the new file where they cannot be decoded (3 of 76
  packets per file at bframes=4, "failed to avoid negative pts" warnings). Nothing is lost from the
  stream, but those frames do not play: cameras send closed GOPs (IDR) by default; the README says so.
- H.265 in MP4: tagged ``hvc1`` (``-tag:v hvc1``); FFmpeg's default ``hev1`` does not play in Apple's
  players and Safari.
- In-band picture change (a new SPS inside one session): the segment muxer copies it into the open file. A
  second output, ``-map 0:v:0? -c:v copy -bsf:v filter_units=pass_types=7|33,trace_headers -f null -``, traces
  only the SPS on stderr (~65 lines per keyframe; +0.01 CPU-s per 40 s of 640x360); parameter_sets.py reads it
  and the recorder restarts at a change (docs/streams.md "In-band changes": the old file ends 6-10 frames into
  the new picture, 1.3-1.6 s lost). stderr must be read continuously: a pipe left unread fills and blocks FFmpeg.
- Wall-clock start of a segment (to align a room's sound source): the segment list gives times on
  FFmpeg's output timeline; ProgressParser.timeline_origin estimates that timeline's epoch from when
  progress blocks arrive and when each closed file was last written (its cut, stamped by the kernel, which
  a late-reading engine thread cannot delay), so start = origin + list start.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from nvr_console.core.config import default
from nvr_console.core.recording.parameter_sets import SPS_WATCH_BSF
from nvr_console.core.stream_url import is_lavfi, lavfi_graphs
from nvr_console.core.text.masking import mask_secrets

RECORDING_EXTENSION = "mkv"
SEGMENT_NAME_FORMAT = "%Y-%m-%d_%H-%M-%S"
# A demo camera needing no network: colour bars with a moving counter, plus a tone.
DEMO_URL = "lavfi:testsrc2=size=640x360:rate=25;sine=frequency=440:sample_rate=16000"

# Audio codecs a browser-playable MP4 may carry as they are; everything else becomes AAC.
MP4_AUDIO_COPY_CODECS = frozenset({"aac", "mp3"})
# Narrow-band telephone codecs: upsample so every browser accepts the AAC track.
NARROWBAND_CODECS = frozenset({"pcm_alaw", "pcm_mulaw", "adpcm_g726", "adpcm_g726le", "g723_1", "g729"})

AudioMode = Literal["copy", "aac", "none"]

# Video bitstream filter for copied network streams: drop packets until the first keyframe with a pts and a
# dts (B-frame streams over RTSP start with an untimed keyframe that Matroska refuses: module notes).
UNTIMED_KEYFRAME_GATE = r"noise=drop='not(st(0\,ld(0)+key*not(eq(pts\,nopts))*not(eq(dts\,nopts))))'"
# Video codecs a final MP4 holds as they are, playable in browsers: what the recorder accepts from a camera.
RECORDABLE_VIDEO_CODECS = frozenset({"h264", "hevc"})


def segment_pattern(output_dir: str | os.PathLike[str]) -> str:
    """The strftime output pattern for a camera's raw segments (flat: see module notes)."""
    return str(Path(output_dir) / f"{SEGMENT_NAME_FORMAT}.{RECORDING_EXTENSION}")


def recorder_environment(base: Mapping[str, str], timezone: str | None) -> dict[str, str]:
    """Environment for a recorder: TZ decides file names and cut points (POSIX and IANA names work on
    Linux/macOS; the Windows C runtime only understands POSIX-style TZ strings)."""
    env = dict(base)
    if timezone and timezone != "local":  # "local": the machine's own zone, which FFmpeg inherits
        env["TZ"] = timezone
    return env


def _input_args(
    input_url: str,
    *,
    rtsp_transport: str,
    socket_timeout_s: float,
    wallclock_timestamps: bool,
) -> list[str]:
    if is_lavfi(input_url):
        # Checked again here: a URL saved before the allow-list existed must not read files either.
        video, audio = lavfi_graphs(input_url)
        args = ["-re", "-f", "lavfi", "-i", video]
        if audio:
            args += ["-re", "-f", "lavfi", "-i", audio]
        return args
    args = []
    if input_url.lower().startswith(("rtsp://", "rtsps://")):
        args += ["-rtsp_transport", rtsp_transport]
        # Socket I/O timeout in microseconds (FFmpeg >= 5; in 4.x this was -stimeout).
        args += ["-timeout", str(int(socket_timeout_s * 1_000_000))]
    if wallclock_timestamps:
        args += ["-use_wallclock_as_timestamps", "1"]
    # genpts: some cameras send packets without pts; discardcorrupt: drop frames the RTP depacketizer
    # knows are damaged instead of writing grey smears.
    args += ["-fflags", "+genpts+discardcorrupt", "-i", input_url]
    return args


def build_record_command(
    ffmpeg: str,
    input_url: str,
    output_dir: str | os.PathLike[str],
    *,
    segment_seconds: int = int(default("recording.segment_length")),
    rtsp_transport: Literal["tcp", "udp"] = "tcp",
    socket_timeout_s: float = 10.0,
    audio: AudioMode = "copy",
    wallclock_timestamps: bool = False,
    clocktime_offset_s: float = 0.0,
    progress_target: str = "pipe:1",
    segment_list_target: str = "pipe:1",
    loglevel: str = "info",
    stats_period_s: float | None = None,
    audio_only: bool = False,
    watch_parameter_sets: bool = True,
) -> list[str]:
    """argv of one camera's continuous recorder: copy, cut on wall-clock boundaries, MKV segments.

    stats_period_s: seconds between -progress blocks (None: FFmpeg's 0.5 s).
    audio: "copy" keeps the camera's audio as it is (MKV takes G.711 too; finalize converts it),
    "aac" encodes while recording, "none" drops it. lavfi inputs are always encoded (raw frames); a lavfi
    graph that is not allowed (stream_url.lavfi_graphs) raises InvalidInput, a ValueError.
    audio_only: a room's sound source: its first audio stream (required) and no video, with the same
    segment options as the cameras so the cut points line up; a network stream only, not a test source.
    watch_parameter_sets: a second output (null) tracing the camera's in-band SPS on stderr, so the recorder
    cuts a new file when the picture changes inside the session (parameter_sets.py); copied network video only.
    Stop the process with b"q" on stdin.
    """
    if segment_seconds <= 0:
        raise ValueError("segment_seconds must be positive")
    if rtsp_transport not in ("tcp", "udp"):
        raise ValueError(f"rtsp_transport must be tcp or udp, not {rtsp_transport!r}")
    if audio_only and is_lavfi(input_url):
        raise ValueError("a room sound source must be a network stream (rtsp://...), not a test source")
    if audio_only and audio == "none":
        raise ValueError("a sound source recorder needs its audio: audio must be copy or aac")
    args = [ffmpeg, "-hide_banner", "-loglevel", loglevel, "-nostats", "-y"]
    args += _input_args(
        input_url,
        rtsp_transport=rtsp_transport,
        socket_timeout_s=socket_timeout_s,
        wallclock_timestamps=wallclock_timestamps,
    )
    args += _stream_args(input_url, audio, audio_only=audio_only)
    if stats_period_s is not None:
        # How often a -progress block comes (FFmpeg's default: 0.5 s). See the module notes.
        args += ["-stats_period", f"{stats_period_s:g}"]
    args += _segment_args(output_dir, segment_seconds, clocktime_offset_s, segment_list_target, progress_target)
    if watch_parameter_sets and not audio_only and not is_lavfi(input_url):
        # '?': a camera that sends only sound has nothing to watch (FFmpeg 5.1 accepts the empty output).
        args += ["-map", "0:v:0?", "-c:v", "copy", "-bsf:v", SPS_WATCH_BSF, "-f", "null", "-"]
    return args


def _stream_args(input_url: str, audio: AudioMode, *, audio_only: bool) -> list[str]:
    """Which streams the recorder writes, and how: copied from a camera (its audio as `audio` says), only the
    audio of a sound source, or encoded from a test source (raw frames)."""
    args: list[str] = []
    if audio_only:
        args += ["-map", "0:a:0", "-vn"]
        args += ["-c:a", "copy"] if audio == "copy" else ["-c:a", "aac", "-b:a", "64k"]
    elif is_lavfi(input_url):
        has_audio = ";" in input_url and audio != "none"
        args += ["-map", "0:v:0", *(["-map", "1:a:0"] if has_audio else [])]
        args += [
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
            # A keyframe every second whatever the rate: the segment muxer can only cut at keyframes.
            "-force_key_frames", "expr:gte(t,n_forced*1)",
        ]
        if has_audio:
            args += ["-c:a", "aac", "-b:a", "64k"]
    else:
        # '?' on video too: a camera that sends only sound still records rather than failing.
        args += ["-map", "0:v:0?"]
        if audio == "none":
            args += ["-an", "-c:v", "copy"]
        else:
            # '?': a camera without audio is fine.
            args += ["-map", "0:a:0?", "-c:v", "copy"]
            args += ["-c:a", "copy"] if audio == "copy" else ["-c:a", "aac", "-b:a", "64k"]
        args += ["-bsf:v", UNTIMED_KEYFRAME_GATE]
    return args


def _segment_args(output_dir: str | os.PathLike[str], segment_seconds: int, clocktime_offset_s: float,
                  segment_list_target: str, progress_target: str) -> list[str]:
    """The segment muxer: MKV pieces cut on the wall clock, named by strftime, each closed one listed."""
    args: list[str] = []
    args += [
        "-f", "segment",
        "-segment_format", "matroska",
        # Without this the inner muxer buffers ~256 KiB and a SIGKILL loses it (see module notes).
        "-segment_format_options", "flush_packets=1:cluster_time_limit=500",
        "-segment_time", str(segment_seconds),
        "-segment_atclocktime", "1",
    ]
    if clocktime_offset_s:
        args += ["-segment_clocktime_offset", f"{clocktime_offset_s:g}"]
    args += [
        "-reset_timestamps", "1",
        "-strftime", "1",
        "-segment_list", segment_list_target,
        "-segment_list_type", "csv",
        "-progress", progress_target,
        segment_pattern(output_dir),
    ]
    return args


def _audio_encode_args(codec: str | None, stream: str = "a") -> list[str]:
    if codec in MP4_AUDIO_COPY_CODECS:
        return [f"-c:{stream}", "copy"]
    args = [f"-c:{stream}", "aac", f"-b:{stream}", "64k"]
    if codec in NARROWBAND_CODECS:
        args += ["-ar", "16000"]
    return args


def build_finalize_command(
    ffmpeg: str,
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    audio_codec: str | None,
    video_codec: str | None = None,
    sound: Sequence[tuple[str | os.PathLike[str], float]] = (),
    sound_codec: str | None = None,
    max_duration_s: float | None = None,
    tolerant: bool = False,
    has_video: bool = True,
) -> list[str]:
    """argv turning a finished segment into the final browser-playable MP4.

    has_video False: a camera that sends only sound (its segment has no video track): an audio-only MP4.

    audio_codec: the segment's audio codec from probe (None: no audio). Video is always copied; video_codec
    "hevc" is tagged hvc1 (module notes).
    sound: the room's audio-only pieces overlapping the video, each with (its start - video start) in
    wall-clock seconds, in order; they replace the camera audio (sound_filter). max_duration_s caps the
    output (the sound may run longer than the video).
    tolerant: read a damaged (crash-truncated) source without stopping at the first error.
    """
    args = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    if tolerant:
        args += ["-err_detect", "ignore_err", "-fflags", "+genpts+discardcorrupt"]
    args += ["-i", str(source)]
    if sound:
        for path, _ in sound:
            args += ["-i", str(path)]
        args += ["-filter_complex", sound_filter([offset for _, offset in sound]), "-map", "0:v:0", "-map", "[sound]",
                  "-c:v", "copy", "-c:a", "aac", "-b:a", "64k"]
        if sound_codec in NARROWBAND_CODECS:
            args += ["-ar", "16000"]
    elif not has_video:
        args += ["-map", "0:a:0", *_audio_encode_args(audio_codec)]
    else:
        args += ["-map", "0:v:0", "-c:v", "copy"]
        if audio_codec:
            args += ["-map", "0:a:0", *_audio_encode_args(audio_codec)]
    if video_codec == "hevc":
        args += ["-tag:v", "hvc1"]
    if max_duration_s is not None:
        args += ["-t", f"{max_duration_s:.3f}"]
    # faststart: moov first, so a browser can start playing and seeking before the download ends.
    args += ["-movflags", "+faststart", "-f", "mp4", str(target)]
    return args


def sound_filter(offsets: Sequence[float]) -> str:
    """A filtergraph laying the room's sound pieces (inputs 1..n, in order) on the video's timeline as one
    stream `[sound]`: piece i starts at offsets[i] (its wall-clock start - the video's). A camera cuts at the
    first keyframe after a boundary and the sound recorder at the boundary itself, so a camera piece spans
    the end of one sound piece and the start of the next (docs in finalizer.py). Each piece is cut where the
    next one begins (overlap) or padded with silence up to it (a gap), so every later piece stays in sync;
    the first is delayed (it starts after the video) or trimmed (it starts before)."""
    places = [max(0.0, o) for o in offsets]
    parts, labels = [], []
    for i, offset in enumerate(offsets):
        skip = max(0.0, -offset)
        chain = f"[{i + 1}:a]atrim=start={skip:.6f}"
        if i + 1 < len(offsets):
            slot = max(0.0, places[i + 1] - places[i])
            chain += f":end={skip + slot:.6f},asetpts=PTS-STARTPTS,apad=whole_dur={slot:.6f}"
        else:
            chain += ",asetpts=PTS-STARTPTS"
        if i == 0 and places[0] > 0:
            chain += f",adelay=delays={places[0] * 1000:.0f}:all=1"
        parts.append(f"{chain}[s{i}]")
        labels.append(f"[s{i}]")
    return ";".join(parts) + ";" + "".join(labels) + f"concat=n={len(offsets)}:v=0:a=1[sound]"


def command_for_log(argv: Sequence[str]) -> str:
    """One shell-quoted line for logs and the UI, with credentials masked (never run it via a shell)."""
    return mask_secrets(shlex.join(argv))
