"""Sound and picture with markers that say whether they are in sync: a white frame and a 1 kHz beep start
together at every whole second of the source's own clock; the rest is black and silent.

    make_marker_clip(path, seconds=6)                  # an MP4 as the finalizer writes (H.264 + AAC)
    make_marker_clip(path.with_suffix(".ts"), 90)     # MPEG-TS, for a camera served by paced_http
    flash_times(path), beep_times(path)                # where the markers are in a file (seconds)
    av_offsets(path)                                   # beep - flash for every flash (seconds)
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

VIDEO = ("color=c=black:s=160x90:r=25,drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:"
         "enable='lt(mod(t\\,1)\\,0.04)'")
AUDIO = "aevalsrc='if(lt(mod(t\\,1)\\,0.03)\\,0.8*sin(2*PI*1000*t)\\,0)':s=16000"


def make_marker_clip(path: Path, seconds: float, *, gop: int = 50, audio: bool = True) -> Path:
    args = ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", VIDEO]
    if audio:
        args += ["-f", "lavfi", "-i", AUDIO]
    args += ["-t", f"{seconds}", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", str(gop),
             "-pix_fmt", "yuv420p"]
    if audio:
        args += ["-c:a", "aac", "-b:a", "48k"]
    if path.suffix == ".mp4":
        args += ["-movflags", "+faststart"]
    args += [str(path)]
    subprocess.run(args, check=True, capture_output=True, timeout=120)
    return path


def flash_times(path: Path) -> list[float]:
    """Times of the white frames (mean luma above half)."""
    out = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-an", "-vf",
                          "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-", "-f", "null", "-"],
                         capture_output=True, text=True, check=True, timeout=300).stdout
    times, current = [], None
    for line in out.splitlines():
        m = re.search(r"pts_time:([\d.]+)", line)
        if m:
            current = float(m.group(1))
        elif line.startswith("lavfi.signalstats.YAVG=") and current is not None and float(line.split("=")[1]) > 128:
            times.append(current)
    return times


def beep_times(path: Path) -> list[float]:
    """Where each beep starts (the end of the silence before it)."""
    out = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-vn", "-af",
                          "silencedetect=n=-30dB:d=0.2,ametadata=print:file=-", "-f", "null", "-"],
                         capture_output=True, text=True, check=True, timeout=300).stdout
    return [float(m.group(1)) for m in re.finditer(r"lavfi\.silence_end=([\d.]+)", out)]


def av_offsets(path: Path) -> list[float]:
    """For every flash with a beep within half a second: beep start minus flash (0 = in sync)."""
    beeps = beep_times(path)
    out = []
    for f in flash_times(path):
        near = min(beeps, key=lambda b: abs(b - f), default=None)
        if near is not None and abs(near - f) < 0.5:
            out.append(near - f)
    return out
