"""Frame-exact comparisons of recordings of one live stream, for handover tests.

Every packet of the RTSP test server's /frames mount is different (noise), and every client of the shared
mount receives the same packets, so an MD5 of each video packet (FFmpeg's framemd5 muxer, stream copy, no
decoding) names one frame. Given a continuous reference recording of the same mount, the number of frames
between the last frame of one file and the first frame of the next says what a handover lost (> 0) or
recorded twice (< 0).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path


def packet_hashes(path: Path, ffmpeg: str = "ffmpeg") -> list[str]:
    """The MD5 of every video packet of `path`, in order."""
    out = subprocess.run([ffmpeg, "-nostdin", "-loglevel", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy",
                          "-f", "framemd5", "-"], capture_output=True, text=True, timeout=120, check=True).stdout
    return [line.rsplit(",", 1)[1].strip() for line in out.splitlines() if line and not line.startswith("#")]


def frames_between(first: Path, second: Path, reference: Sequence[Path], ffmpeg: str = "ffmpeg") -> int:
    """Frames of the reference between `first`'s last frame and `second`'s first: 0 = seamless, > 0 lost,
    < 0 recorded in both. Raises ValueError if either end is not in the reference."""
    ref: list[str] = []
    for path in reference:
        ref += packet_hashes(path, ffmpeg)
    index = {h: i for i, h in enumerate(ref)}
    last = packet_hashes(first, ffmpeg)[-1]
    nxt = packet_hashes(second, ffmpeg)[0]
    if last not in index or nxt not in index:
        raise ValueError(f"{first.name} or {second.name} holds frames the reference does not")
    return index[nxt] - index[last] - 1
