"""Catch a finished file that lies about its length, and repair its timestamps without re-encoding.

A camera whose clock jumps (timestamp wraps, clock steps) makes FFmpeg log "Non-monotonous DTS ... changing to"
for every frame and write each frame one tick after the last: a 10-second file then holds 250 frames lasting
0.29 s (860 frames a second), or after a forward jump lasts an hour (0.07 a second). Such a file gives itself
away by its own numbers: no camera sends fewer than 0.5 or more than 240 frames a second, and an AAC track
lasts its packets x 1024 samples. Only then is the wall clock asked how long the file should be (the segment
muxer's own times come from the same stream): the raw file's name is when FFmpeg opened it and its
modification time when FFmpeg last wrote it.

Measured with Debian FFmpeg 5.1 and the imageio-ffmpeg static build (9.0), on MP4s made from such streams
(tests/core/recording/test_duration_check.py):
- `-use_wallclock_as_timestamps 1` and `-fflags +genpts` only act on an input being read live or on packets
  without timestamps; a closed file's packets all have (wrong) timestamps, so a remux with them changes nothing.
- The `setts` bitstream filter rewrites them on a `-c copy` remux (0.07 s for a 12 s file). Expressions must be
  in the input time base (`/TB`): its `time_base` option rescales on 5.1 but is ignored by 9.0, which then
  stretched 12 s to 67 s.
- Arrival times are not in the file, so frames are spread evenly over the wall-clock span; B-frame offsets
  (PTS - DTS) are kept. AAC audio is re-timed from its sample count (1024 samples a packet).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from nvr_console.core.ffmpeg.job import JobError, run_job
from nvr_console.core.recording.mp4_boxes import read_mp4
from nvr_console.core.recording.probe import MediaInfo, ProbeError
from nvr_console.core.recording.segment_names import partial_path_for, raw_name_time
from nvr_console.core.text.masking import mask_secrets

log = logging.getLogger(__name__)

MIN_SPAN_S = 3.0  # shorter spans (a stop right after a boundary) cannot be trusted: the clocks are too coarse
MAX_SPAN_S = 86400.0 + 60  # no file is longer than the longest segment (24 h): a later mtime is not its close
# A repaired file must come within half to one and a half times the wall clock (plus the 1 s resolution of
# names and a keyframe interval); an audio track must last its packets' samples as closely.
SHORT_RATIO, LONG_RATIO, SLACK_S = 0.5, 1.5, 2.0
MIN_FPS, MAX_FPS = 0.5, 240.0  # frames per wall-clock second a repair may spread; else the frames are not there
REPAIR_TIMEOUT_S = 600.0
AAC_FRAME = 1024


@dataclass(frozen=True)
class Verdict:
    """The file as it stands after the check: its media info, what was repaired, or why it is damaged."""

    info: MediaInfo
    note: str = ""
    damaged: str | None = None


def wall_span(raw: Path, zone: ZoneInfo | None) -> float | None:
    """Seconds from when FFmpeg opened the raw segment (its name) to its last write (mtime); None if unknown.
    Read it before the raw file is removed. Any thread."""
    named = raw_name_time(raw, zone)
    try:
        mtime = raw.stat().st_mtime
    except OSError:
        return None
    if named is None or mtime <= named.timestamp():
        return None
    return mtime - named.timestamp()


def video_seconds(info: MediaInfo) -> float | None:
    """How long the video track says it lasts; None if the file does not say."""
    v = info.video
    if v is None or v.frames is None:
        return None
    if v.duration_s is not None:
        return v.duration_s
    return v.frames / v.fps if v.fps else 0.0


def lies(media_s: float, span_s: float) -> bool:
    return media_s < SHORT_RATIO * span_s - SLACK_S or media_s > LONG_RATIO * span_s + SLACK_S


def _audio_samples_per_packet(codec: str) -> int | None:
    return {"aac": AAC_FRAME, "mp3": 1152}.get(codec)


def suspect(info: MediaInfo) -> tuple[bool, bool]:
    """(video lies, audio lies) by the file's own numbers: a camera's frames come 0.5 to 240 a second, and
    an AAC/MP3 track lasts its packets x samples a packet. A healthy file is never suspected, whatever its
    modification time says (a file copied back from a backup is not a file that lies)."""
    video_s = video_seconds(info)
    v = info.video
    video = bool(v and v.frames and video_s is not None and
                 not MIN_FPS <= v.frames / max(video_s, 1e-9) <= MAX_FPS)
    a = info.audio
    audio = False
    if a is not None and a.frames and a.sample_rate and a.duration_s is not None:
        per = _audio_samples_per_packet(a.codec)
        if per is not None:
            expected = a.frames * per / a.sample_rate
            audio = lies(a.duration_s, expected)
    return video, audio


def check_duration(mp4: Path, info: MediaInfo, span_s: float | None, ffmpeg: str) -> Verdict:
    """Find whether the MP4's tracks lie about their length (their own frame and sample counts say so) and,
    if they do, rewrite the timestamps over the wall-clock span the file covers, in place (a remux to a
    partial file, then an atomic rename) when the frames are there, else say why the file is damaged. `info`
    is the file's read_mp4(). Worker thread."""
    video_lies, audio_lies = suspect(info)
    if not video_lies and not audio_lies:
        return Verdict(info)
    video_s = video_seconds(info) or 0.0
    audio_s = info.audio.duration_s if info.audio is not None else None
    frames = info.video.frames if info.video and info.video.frames else 0
    said = f"its media said {video_s:.2f} s of video ({frames} frames)"
    if audio_s is not None:
        said += f" and {audio_s:.2f} s of audio"
    if span_s is None or span_s < MIN_SPAN_S or span_s > MAX_SPAN_S:
        return Verdict(info, damaged=f"{said} (the camera's timestamps jumped); the wall-clock span it covers is "
                                     "unknown, so the timestamps were not rewritten")
    said += f" for {span_s:.1f} s of wall clock (the camera's timestamps jumped)"
    fps = frames / span_s
    if video_lies and not MIN_FPS <= fps <= MAX_FPS:
        return Verdict(info, damaged=f"{said}; {fps:.2f} frames a second cannot fill that span, so the "
                                     "timestamps were not rewritten")
    try:
        fixed = _retime(mp4, ffmpeg, span_s / frames if video_lies else None, info, audio_lies)
    except _RepairFailed as exc:
        return Verdict(info, damaged=f"{said}; rewriting the timestamps failed: {exc}")
    fixed_video = video_seconds(fixed) or 0.0
    fixed_audio = fixed.audio.duration_s if fixed.audio is not None else None
    if lies(fixed_video, span_s) or (fixed_audio is not None and lies(fixed_audio, span_s)):
        return Verdict(fixed, damaged=f"{said}; after rewriting the timestamps it still says {fixed_video:.2f} s "
                                      f"of video" + (f" and {fixed_audio:.2f} s of audio" if fixed_audio else ""))
    log.warning("%s: %s; timestamps rewritten", mp4, said)
    what = "frames spread evenly over the wall-clock span" if video_lies else "audio re-timed from its samples"
    return Verdict(fixed, note=f"timestamps repaired: {said}; {what}")


class _RepairFailed(Exception):
    pass


def _retime(mp4: Path, ffmpeg: str, video_step_s: float | None, info: MediaInfo, audio: bool) -> MediaInfo:
    """Rewrite the video timestamps at `video_step_s` a frame and/or the AAC audio from its sample count;
    replaces `mp4` and returns its new info. Worker thread."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(mp4), "-map", "0", "-c", "copy"]
    if video_step_s is not None:
        step = f"{video_step_s:.9f}"
        # The duration too: the MP4 muxer ends a track at the latest dts + duration, and a frame before a
        # forward jump carries the jump as its duration.
        argv += ["-bsf:v", f"setts=dts=round(N*{step}/TB):pts=round(N*{step}/TB)+PTS-DTS:duration=round({step}/TB)"]
    if audio:
        if info.audio is None or info.audio.codec != "aac":
            codec = info.audio.codec if info.audio else "none"
            raise _RepairFailed(f"its {codec} audio cannot be re-timed without re-encoding")
        argv += ["-bsf:a", f"setts=ts=round(N*{AAC_FRAME}/SR/TB):duration=round({AAC_FRAME}/SR/TB)"]
    partial = partial_path_for(mp4)
    argv += ["-movflags", "+faststart", "-f", "mp4", str(partial)]
    try:
        result = run_job(argv, timeout_s=REPAIR_TIMEOUT_S)
        if not result.ok:
            raise _RepairFailed(result.summary())
        new = read_mp4(partial)
    except (OSError, JobError, ProbeError) as exc:
        partial.unlink(missing_ok=True)
        raise _RepairFailed(mask_secrets(str(exc))) from None
    except _RepairFailed:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, mp4)
    return new
