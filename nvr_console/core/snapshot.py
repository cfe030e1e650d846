"""One frame, as PNG bytes: from a live stream (the camera dialog's Test) or from the file being written
(the console's thumbnails). Blocking; call from a worker thread. Pure Python + FFmpeg, no Qt.

A thumbnail must be cheap and recent. The recorder writes Matroska with a cluster per keyframe and no
index while it writes, so FFmpeg cannot seek to the end (`-sseof` silently gives the first frame).
Instead we hand FFmpeg the file's header (everything before the first Cluster) followed by the last
complete cluster: it decodes a single keyframe from a few hundred KB, however long the file already is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from nvr_console.core.ffmpeg.job import JobError, JobTimedOut, run_job
from nvr_console.core.recording.errors import classify_ffmpeg_error
from nvr_console.core.recording.probe import MediaInfo, ProbeError, parse_ffmpeg_stderr_info
from nvr_console.core.recording.stream_probe import StreamProbeError, StreamReport, probe_stream
from nvr_console.core.stream_url import InvalidInput, is_lavfi, lavfi_graphs
from nvr_console.core.text.masking import mask_secrets

MKV_CLUSTER_ID = b"\x1f\x43\xb6\x75"
HEADER_SCAN = 256 * 1024  # the Matroska header (EBML, Info, Tracks) is a few KB
TAIL_SCAN = 8 * 1024 * 1024  # enough for two clusters of a 1 s GOP up to ~30 Mb/s


class SnapshotError(RuntimeError):
    """No frame could be taken; str() is an operator sentence (credentials masked)."""


@dataclass(frozen=True)
class StreamCheck:
    """What the camera dialog's Test shows."""

    info: MediaInfo
    png: bytes
    report: StreamReport | None = None  # what the camera sends and whether it can be recorded (describe_s > 0)

    @property
    def recordable(self) -> bool:
        """False when the stream was described and cannot be recorded as it is."""
        return self.report is None or self.report.recordable

    def summary(self) -> str:
        """`h264 1920x1080 25 fps · audio aac 48000 Hz` (or `no audio`); with a report, its lines."""
        if self.report is not None:
            return " · ".join(self.report.lines())
        v, a = self.info.video, self.info.audio
        parts = []
        if v is not None:
            size = f" {v.width}x{v.height}" if v.width and v.height else ""
            fps = f" {v.fps:g} fps" if v.fps else ""
            parts.append(f"video {v.codec}{size}{fps}")
        else:
            parts.append("no video")
        if a is not None:
            parts.append(f"audio {a.codec}" + (f" {a.sample_rate} Hz" if a.sample_rate else ""))
        else:
            parts.append("no audio")
        return " · ".join(parts)


def _png_args(width: int) -> list[str]:
    return ["-frames:v", "1", "-vf", f"scale={width}:-2", "-f", "image2pipe", "-c:v", "png", "pipe:1"]


def check_stream(
    ffmpeg: str | os.PathLike[str], url: str, transport: str = "tcp", timeout_s: float = 15.0, width: int = 480,
    audio_only: bool = False, describe_s: float = 0.0,
) -> StreamCheck:
    """Connect to a stream, read its stream info and one frame; raise SnapshotError saying why not.

    describe_s > 0 (a network camera): then read that many seconds more with ffprobe (stream_probe) to say
    what it sends (profile, B-frames, keyframe interval) and whether it can be recorded as it is.

    audio_only: a room's sound source: a second of its audio is read instead of a frame (no PNG), and a
    stream without audio is refused.
    """
    argv = [str(ffmpeg), "-hide_banner", "-nostdin"]
    if is_lavfi(url):
        try:
            video = lavfi_graphs(url)[0]
        except InvalidInput as exc:
            raise SnapshotError(str(exc)) from None
        argv += ["-f", "lavfi", "-i", video]
    else:
        if url.lower().startswith(("rtsp://", "rtsps://")):
            argv += ["-rtsp_transport", transport, "-timeout", str(int(min(timeout_s, 10) * 1_000_000))]
        argv += ["-i", url]
    argv += ["-map", "0:a:0", "-t", "1", "-f", "null", "-"] if audio_only else _png_args(width)
    try:
        proc = run_job(argv, timeout_s=timeout_s)
    except JobTimedOut:
        raise SnapshotError(
            f"no picture from {mask_secrets(url)} within {timeout_s:g} s: the camera accepted the connection but "
            "sent no video; check the stream path and that the camera's stream is enabled"
        ) from None
    except JobError as exc:
        raise SnapshotError(str(exc)) from None
    stderr = proc.stderr
    try:
        info: MediaInfo | None = parse_ffmpeg_stderr_info(stderr)
    except ProbeError:
        info = None
    if audio_only and info is not None and info.audio is None:
        raise SnapshotError(f"{mask_secrets(url)} carries no audio ({StreamCheck(info, b'').summary()}): a sound "
                            "source must be the audio stream of a microphone encoder or camera; check its URL")
    if proc.returncode != 0 or not (proc.stdout or audio_only):
        raise SnapshotError(classify_ffmpeg_error(stderr)[1])
    if info is None:
        raise SnapshotError(f"{mask_secrets(url)}: FFmpeg read the stream but described no audio or video")
    report = None
    if describe_s > 0 and not audio_only and not is_lavfi(url):
        try:
            report = probe_stream(ffmpeg, url, transport, seconds=describe_s)
        except StreamProbeError:
            report = None  # the frame above says the stream works; the summary falls back to its info
    return StreamCheck(info, proc.stdout, report)


def _last_cluster_blob(path: Path) -> bytes | None:
    """Matroska header + the last complete cluster, or None if the file is not (yet) Matroska with clusters."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(HEADER_SCAN)
        first = head.find(MKV_CLUSTER_ID)
        if first <= 0:
            return None
        start = max(first, size - TAIL_SCAN)
        f.seek(start)
        tail = f.read(size - start)
    last = tail.rfind(MKV_CLUSTER_ID)
    if last < 0:
        return None
    # The last cluster may still be growing: take the one before it when there is one.
    prev = tail.rfind(MKV_CLUSTER_ID, 0, last)
    cut = prev if prev >= 0 and start + prev >= first else last
    return head[:first] + tail[cut:]


def snapshot_file(
    ffmpeg: str | os.PathLike[str], path: str | os.PathLike[str], width: int = 160, timeout_s: float = 10.0
) -> bytes:
    """PNG of a recent keyframe of a (possibly still growing) recording; raise SnapshotError."""
    p = Path(path)
    try:
        blob = _last_cluster_blob(p)
    except OSError as exc:
        raise SnapshotError(f"cannot read {p}: {exc.strerror or exc}") from None
    base = [str(ffmpeg), "-hide_banner", "-nostdin", "-loglevel", "error", "-skip_frame", "nokey"]
    if blob is not None:
        argv, data = [*base, "-i", "pipe:0", *_png_args(width)], blob
    else:  # not Matroska: the file's first keyframe is the best cheap answer
        argv, data = [*base, "-i", str(p), *_png_args(width)], None
    try:
        proc = run_job(argv, timeout_s=timeout_s, input=data)
    except JobError as exc:
        raise SnapshotError(f"no thumbnail from {p.name}: FFmpeg {exc}") from None
    if proc.returncode != 0 or not proc.stdout:
        reason = classify_ffmpeg_error(proc.stderr)[1]
        raise SnapshotError(f"no thumbnail from {p.name}: {reason}")
    return proc.stdout
