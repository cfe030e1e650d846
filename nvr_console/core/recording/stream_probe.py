"""What a camera sends, read from the live stream: codecs, profile, B-frames, size, frame rate, keyframe
interval, audio, and whether the recorder can keep it as it is (stream_support). Blocking (ffprobe reads the
stream for a few seconds); call from a worker thread or the CLI (`nvr-console cameras probe`).

ffprobe reads `seconds` of packets: the keyframe interval needs two keyframes, so a camera with a 10 s
interval needs more than 10 s (the default 12 s covers intervals up to about 11 s). B-frames show as packets
whose presentation time is earlier than one already read (decode order differs from display order).
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from nvr_console.core.ffmpeg.job import JobError, JobTimedOut, run_job
from nvr_console.core.recording.errors import classify_ffmpeg_error
from nvr_console.core.recording.probe import MediaInfo, StreamInfo, find_ffprobe
from nvr_console.core.recording.stream_support import codec_label, unrecordable_reason
from nvr_console.core.text.masking import mask_secrets

DEFAULT_SECONDS = 12.0


class StreamProbeError(RuntimeError):
    """The stream could not be read; str() is an operator sentence (credentials masked)."""


@dataclass(frozen=True)
class StreamReport:
    """What the camera sends, as plain data."""

    video_codec: str | None
    profile: str | None
    bframes: bool | None  # None: not enough packets to tell
    width: int | None
    height: int | None
    fps: float | None
    keyframe_interval_s: float | None  # None: fewer than two keyframes in the read
    audio_codec: str | None
    sample_rate: int | None
    channels: int | None
    seconds_read: float
    problem: str | None  # why it cannot be recorded as is (None: it can)

    @property
    def recordable(self) -> bool:
        return self.problem is None

    def lines(self) -> list[str]:
        """`key: value` lines for the CLI and the camera dialog."""
        if self.video_codec:
            video = codec_label(self.video_codec) + (f" {self.profile}" if self.profile else "")
        else:
            video = "none (the camera sends only sound)"
        bframes = {True: "yes", False: "no", None: "unknown (too few packets read)"}[self.bframes]
        size = f"{self.width}x{self.height}" if self.width and self.height else "unknown"
        gop = (f"{self.keyframe_interval_s:g} s" if self.keyframe_interval_s is not None
               else f"unknown (fewer than two keyframes in {self.seconds_read:g} s; read longer with --seconds)")
        audio = "none"
        if self.audio_codec:
            audio = codec_label(self.audio_codec) + "".join(
                x for x in (f" {self.sample_rate} Hz" if self.sample_rate else "",
                            f" {self.channels} ch" if self.channels else ""))
        verdict = "yes, as it is (no re-encoding)" if self.problem is None else f"NO: {self.problem}"
        rows = [("video", video)]
        if self.video_codec:
            rows += [("B-frames", bframes), ("resolution", size),
                     ("frame rate", f"{self.fps:g} fps" if self.fps else "unknown"), ("keyframe interval", gop)]
        rows += [("audio", audio), ("recordable", verdict)]
        return [f"{k}: {v}" for k, v in rows]


def _fraction(text: Any) -> float | None:
    try:
        value = float(Fraction(str(text)))
    except (ValueError, ZeroDivisionError):
        return None
    return value or None


def report_from(data: dict[str, Any], seconds: float) -> StreamReport:
    """A StreamReport from ffprobe's JSON (-show_streams -show_packets). Pure."""
    streams = data.get("streams") or []
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    vpk = [p for p in data.get("packets") or [] if video is not None and p.get("stream_index") == video.get("index")]
    times = [float(p["pts_time"]) for p in vpk if p.get("pts_time") not in (None, "N/A")]
    reordered = any(b < a for a, b in itertools.pairwise(times))
    bframes = True if reordered or (video and int(video.get("has_b_frames") or 0) > 0) else (
        False if len(times) >= 10 else None)
    keys = [float(p["pts_time"]) for p in vpk if str(p.get("flags", "")).startswith("K")
            and p.get("pts_time") not in (None, "N/A")]
    gaps = [b - a for a, b in itertools.pairwise(keys) if b > a]
    gop = round(max(gaps), 2) if gaps else None
    info = MediaInfo(None, None, None, tuple(
        StreamInfo(index=int(s.get("index", 0)), kind=str(s.get("codec_type")), codec=str(s.get("codec_name")))
        for s in (video, audio) if s is not None))
    profile = video.get("profile") if video else None
    return StreamReport(
        video_codec=video.get("codec_name") if video else None,
        profile=profile if profile and profile != "unknown" else None,
        bframes=bframes if video else None,
        width=int(video["width"]) if video and video.get("width") else None,
        height=int(video["height"]) if video and video.get("height") else None,
        fps=_fraction(video.get("avg_frame_rate")) or _fraction(video.get("r_frame_rate")) if video else None,
        keyframe_interval_s=gop,
        audio_codec=audio.get("codec_name") if audio else None,
        sample_rate=int(audio["sample_rate"]) if audio and audio.get("sample_rate") else None,
        channels=int(audio["channels"]) if audio and audio.get("channels") else None,
        seconds_read=seconds,
        problem=unrecordable_reason(info),
    )


def probe_stream(ffmpeg: str | os.PathLike[str], url: str, transport: str = "tcp",
                 seconds: float = DEFAULT_SECONDS, socket_timeout_s: float = 10.0) -> StreamReport:
    """Read `seconds` of the stream with ffprobe and describe it; raise StreamProbeError saying why not.
    Blocking: a worker thread or the CLI."""
    ffprobe = find_ffprobe(str(ffmpeg))
    if ffprobe is None:
        raise StreamProbeError(f"ffprobe is not installed beside {ffmpeg} nor on PATH: install FFmpeg's ffprobe "
                               "(Debian: apt-get install ffmpeg)")
    argv = [ffprobe, "-v", "error", "-of", "json", "-show_streams", "-show_packets",
            "-show_entries", "packet=stream_index,pts_time,flags:stream", "-read_intervals", f"%+{seconds:g}"]
    if url.lower().startswith(("rtsp://", "rtsps://")):
        argv += ["-rtsp_transport", transport, "-timeout", str(int(socket_timeout_s * 1_000_000))]
    argv.append(url)
    try:
        result = run_job(argv, timeout_s=seconds + socket_timeout_s + 20)
    except JobTimedOut:
        raise StreamProbeError(f"{mask_secrets(url)} sent too little within {seconds + socket_timeout_s + 20:g} s "
                               "to describe; check that the camera's stream is enabled") from None
    except JobError as exc:
        raise StreamProbeError(str(exc)) from None
    try:
        data = json.loads(result.stdout.decode("utf-8", "replace") or "{}")
    except json.JSONDecodeError:
        data = {}
    if not data.get("streams"):
        raise StreamProbeError(classify_ffmpeg_error(result.stderr)[1])
    return report_from(data, seconds)
