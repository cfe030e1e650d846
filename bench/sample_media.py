"""Recordings for the benchmarks, as the recorder's finalizer writes them: a 30 s H.264 640x360 25 fps clip
(GOP 2 s, ~0.8 Mbit/s) + AAC, copied into files of the wanted length (`-stream_loop`, no re-encoding)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def ffmpeg(*args: str) -> None:
    """Run FFmpeg quietly (errors only), overwriting its output; raise if it fails."""
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", *args], check=True)


def looped_recordings(folder: Path, count: int, minutes: float, stem: str = "piece") -> list[Path]:
    """`count` MP4 files of `minutes` each in `folder` (`<stem><i>.mp4`), from one encoded clip."""
    clip = folder / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i",
           "sine=frequency=440:sample_rate=16000", "-t", "30", "-c:v", "libx264", "-preset", "veryfast", "-g", "50",
           "-b:v", "800k", "-c:a", "aac", "-b:a", "48k", "-movflags", "+faststart", str(clip))
    out = []
    for i in range(count):
        piece = folder / f"{stem}{i}.mp4"
        ffmpeg("-stream_loop", str(int(minutes * 2) - 1), "-i", str(clip), "-c", "copy", "-t", str(minutes * 60),
               "-movflags", "+faststart", str(piece))
        out.append(piece)
    return out
