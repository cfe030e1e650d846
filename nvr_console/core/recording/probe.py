"""Probe a media file: streams, duration, start time.

Uses ffprobe's JSON when an ffprobe sits next to the ffmpeg binary or on PATH; otherwise parses
``ffmpeg -i`` stderr (the imageio-ffmpeg wheel ships ffmpeg without ffprobe). A crash-truncated MKV
has no container duration (ffprobe says N/A); then the duration is measured by remuxing the packets
to the null muxer, which reads the whole file but decodes nothing (well under a second per 30 min).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Literal

from nvr_console.core.ffmpeg.error_lines import summarise
from nvr_console.core.ffmpeg.job import JobError, JobResult, run_job
from nvr_console.core.recording.progress import ProgressParser


class ProbeError(RuntimeError):
    """The file cannot be read as media; str() names the file and FFmpeg's reason."""


@dataclass(frozen=True)
class StreamInfo:
    index: int
    kind: str  # "video", "audio", "subtitle", "data"
    codec: str
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    frames: int | None = None  # packets in the stream, where the container says (MP4 does; MKV does not)
    # The track's own media length where known (our MP4 box reader: mdhd, which counts an AAC encoder's
    # priming samples that ffprobe's figure leaves out).
    duration_s: float | None = None
    timescale: int | None = None  # the track's time base denominator (MP4 mdhd), where known


@dataclass(frozen=True)
class MediaInfo:
    format_name: str | None
    duration_s: float | None
    start_time_s: float | None
    streams: tuple[StreamInfo, ...] = field(default_factory=tuple)
    duration_source: Literal["container", "packets", "unknown"] = "unknown"

    @property
    def video(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "video"), None)

    @property
    def audio(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "audio"), None)


def find_ffprobe(ffmpeg: str) -> str | None:
    """ffprobe beside the given ffmpeg (same install), else on PATH, else None."""
    ffmpeg_path = shutil.which(ffmpeg) or ffmpeg
    candidate = Path(ffmpeg_path).with_name("ffprobe" + (".exe" if os.name == "nt" else ""))
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which("ffprobe")


def _rate(text: str | None) -> float | None:
    if not text or text in ("0/0", "N/A"):
        return None
    try:
        value = float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        return None
    return value or None


def _int(value: object) -> int | None:
    if not isinstance(value, str | int | float):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _float(value: object) -> float | None:
    if not isinstance(value, str | int | float):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def parse_ffprobe_json(data: dict[str, object]) -> MediaInfo:
    """MediaInfo from ``ffprobe -print_format json -show_format -show_streams`` output."""
    fmt = data.get("format") or {}
    assert isinstance(fmt, dict)
    raw_streams = data.get("streams") or []
    assert isinstance(raw_streams, list)
    streams: list[StreamInfo] = []
    for s in raw_streams:
        assert isinstance(s, dict)
        streams.append(
            StreamInfo(
                index=int(s.get("index", len(streams))),
                kind=str(s.get("codec_type", "data")),
                codec=str(s.get("codec_name", "unknown")),
                width=_int(s.get("width")),
                height=_int(s.get("height")),
                fps=_rate(s.get("avg_frame_rate")) or _rate(s.get("r_frame_rate"))
                if s.get("codec_type") == "video" else None,
                sample_rate=_int(s.get("sample_rate")),
                channels=_int(s.get("channels")),
                frames=_int(s.get("nb_frames")),
            )
        )
    duration = _float(fmt.get("duration"))
    format_name = fmt.get("format_name")
    return MediaInfo(
        format_name=format_name if isinstance(format_name, str) else None,
        duration_s=duration,
        start_time_s=_float(fmt.get("start_time")),
        streams=tuple(streams),
        duration_source="container" if duration is not None else "unknown",
    )


_INPUT = re.compile(r"^Input #0, (?P<fmt>[^,]+(?:,[^ ,]+)*), from ", re.MULTILINE)
_DURATION = re.compile(r"Duration: (?P<d>N/A|\d+:\d\d:\d\d(?:\.\d+)?)(?:, start: (?P<s>-?[\d.]+))?")
_STREAM = re.compile(r"^\s*Stream #0:(?P<idx>\d+)(?:\[[^\]]*\])?(?:\([^)]*\))?: (?P<kind>Video|Audio|Subtitle|Data)"
                     r": (?P<codec>\w+)(?P<rest>.*)$", re.MULTILINE)
_SIZE = re.compile(r", (?P<w>\d{2,5})x(?P<h>\d{2,5})\b")
_FPS = re.compile(r", (?P<fps>[\d.]+k?) fps\b")
_TBR = re.compile(r", (?P<tbr>[\d.]+k?) tbr\b")
_HZ = re.compile(r", (?P<hz>\d+) Hz\b")
_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "7.1": 8}


def _hms(text: str) -> float:
    h, m, s = text.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def _kfloat(text: str) -> float:
    return float(text[:-1]) * 1000 if text.endswith("k") else float(text)


def _stream_info(s: re.Match[str]) -> StreamInfo:
    """One ``Stream #0:N: Video|Audio: codec ...`` line of an FFmpeg dump."""
    rest = s["rest"]
    kind = s["kind"].lower()
    size = _SIZE.search(rest) if kind == "video" else None
    fps = _FPS.search(rest) or _TBR.search(rest) if kind == "video" else None
    hz = _HZ.search(rest) if kind == "audio" else None
    channels = None
    if kind == "audio":
        parts = [p.strip() for p in rest.split(",")]
        channels = next((_CHANNELS[p] for p in parts if p in _CHANNELS), None)
    return StreamInfo(
        index=int(s["idx"]),
        kind=kind,
        codec=s["codec"],
        width=int(size["w"]) if size else None,
        height=int(size["h"]) if size else None,
        fps=_kfloat(fps.group(1)) if fps else None,
        sample_rate=int(hz["hz"]) if hz else None,
        channels=channels,
    )


def parse_ffmpeg_stderr_info(text: str) -> MediaInfo:
    """MediaInfo from the input dump ``ffmpeg -i FILE`` prints on stderr (no ffprobe needed)."""
    m = _INPUT.search(text)
    if not m:
        raise ProbeError(f"no media found: {text.strip().splitlines()[-1] if text.strip() else 'no output'}")
    # Only the dump of input #0, not of any outputs that follow.
    body = text[m.end():]
    out = body.find("\nOutput #")
    if out >= 0:
        body = body[:out]
    duration = start = None
    if d := _DURATION.search(body):
        duration = None if d["d"] == "N/A" else _hms(d["d"])
        start = float(d["s"]) if d["s"] else None
    streams = [_stream_info(s) for s in _STREAM.finditer(body)]
    return MediaInfo(
        format_name=m["fmt"],
        duration_s=duration,
        start_time_s=start,
        streams=tuple(streams),
        duration_source="container" if duration is not None else "unknown",
    )


_OUTPUT = re.compile(r"^Output #0, (?P<fmt>[^,]+(?:,[^ ,]+)*), to ")
_MAPPED = re.compile(r"^\s+Stream #\d+:\d+(?:\[[^\]]*\])?(?:\([^)]*\))? -> #0:(?P<idx>\d+)")


def parse_ffmpeg_output_streams(lines: Sequence[str]) -> MediaInfo | None:
    """The streams FFmpeg writes into output #0, from the header a running FFmpeg prints on stderr at
    ``-loglevel info`` (the "Output #0" dump and the "Stream mapping:" section); None until both are
    complete, i.e. every mapped output stream has its dump line.

    A recorder's output streams are what its segment files hold, so the finalizer needs no ffprobe of
    them. The two sections come in either order (FFmpeg 5 dumps the output first, 6+ the mapping);
    log lines of other components ("[rtsp @ 0x...] ...") may be interleaved and are skipped.
    """
    fmt: str | None = None
    dumped: dict[int, StreamInfo] = {}
    mapped: set[int] = set()
    mapping_done = False
    section = ""
    for line in lines:
        if line.startswith("["):
            continue
        if line[:1] not in (" ", "\t"):
            if section == "mapping":
                mapping_done = True
            section = ""
            if m := _OUTPUT.match(line):
                section, fmt = "output", m["fmt"]
            elif line.startswith("Stream mapping:"):
                section = "mapping"
            continue
        if section == "output" and (s := _STREAM.match(line)):
            dumped[int(s["idx"])] = _stream_info(s)
        elif section == "mapping" and (m := _MAPPED.match(line)):
            mapped.add(int(m["idx"]))
    if not mapping_done or not mapped or set(dumped) != mapped:
        return None
    return MediaInfo(format_name=fmt, duration_s=None, start_time_s=None,
                     streams=tuple(dumped[i] for i in sorted(dumped)))


def _run(argv: list[str], timeout_s: float, path: Path) -> JobResult:
    try:
        return run_job(argv, timeout_s=timeout_s)
    except JobError as exc:
        raise ProbeError(f"{path}: {Path(argv[0]).name} {exc}") from None


def measure_duration(ffmpeg: str, path: str | os.PathLike[str], timeout_s: float = 120.0) -> float | None:
    """Duration by reading every packet (copy to the null muxer); for files without a container
    duration, such as a SIGKILLed MKV. Raises ProbeError when FFmpeg cannot run to its end."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-err_detect", "ignore_err",
            "-i", str(path), "-map", "0", "-c", "copy", "-f", "null", "-progress", "pipe:1", "-"]
    result = _run(argv, timeout_s, Path(path))
    parser = ProgressParser()
    parser.feed(result.stdout + b"\n")
    last = parser.last
    if last is None or not last.out_time_us or last.out_time_us <= 0:
        return None
    return last.out_time_us / 1_000_000


def probe(
    path: str | os.PathLike[str],
    *,
    ffmpeg: str = "ffmpeg",
    ffprobe: str | Literal["auto"] | None = "auto",
    timeout_s: float = 60.0,
) -> MediaInfo:
    """Probe a local media file. ffprobe="auto" looks for one; None forces the ``ffmpeg -i`` path.

    Raises ProbeError when the file is not readable media.
    """
    path = Path(path)
    if not path.is_file():
        raise ProbeError(f"{path}: no such file")
    tool = find_ffprobe(ffmpeg) if ffprobe == "auto" else ffprobe
    if tool:
        result = _run([tool, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
                      timeout_s, path)
        if not result.ok:
            raise ProbeError(f"{path}: {summarise(result.stderr) or 'ffprobe failed'}")
        info = parse_ffprobe_json(json.loads(result.stdout or b"{}"))
    else:
        # `ffmpeg -i` alone exits 1 ("At least one output file must be specified") after the dump.
        result = _run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path)], timeout_s, path)
        try:
            info = parse_ffmpeg_stderr_info(result.stderr)
        except ProbeError as exc:
            raise ProbeError(f"{path}: {exc}") from None
    if not info.streams:
        raise ProbeError(f"{path}: no audio or video streams")
    if info.duration_s is None:
        measured = measure_duration(ffmpeg, path, timeout_s)
        if measured is not None:
            info = replace(info, duration_s=measured, duration_source="packets")
    return info
