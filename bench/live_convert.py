"""What a live tile's YUV to RGB conversion costs per 640x360 picture (PyAV's libswscale, as the tile decoder calls
it): at the stream's size and scaled to smaller tiles, on one thread and with PyAV's default threads (a slice
thread per core), as process CPU (every thread counted), best of 5 rounds of 300 pictures. No network, no Qt.

    python bench/live_convert.py
"""

from __future__ import annotations

import time
from collections.abc import Callable

import av
from av.video.frame import VideoFrame
from av.video.reformatter import VideoReformatter

ROUNDS, PICTURES = 5, 300


def per_picture_us(convert: Callable[[VideoFrame], object], frames: list[VideoFrame]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        t = time.process_time()
        for i in range(PICTURES):
            convert(frames[i % len(frames)])
        best = min(best, (time.process_time() - t) / PICTURES * 1e6)
    return best


def main() -> None:
    container = av.open("testsrc2=size=640x360:rate=25", format="lavfi")
    frames = [f.reformat(format="yuv420p") for _, f in zip(range(50), container.decode(video=0), strict=False)]
    container.close()
    scaler = VideoReformatter()
    cases: list[tuple[str, Callable[[VideoFrame], object]]] = [
        ("640x360, 1 thread (the tile)", lambda f: scaler.reformat(f, format="bgra", threads=1)),
        ("640x360, PyAV's default threads", lambda f: f.reformat(format="bgra")),
        ("to 400x226 BILINEAR, 1 thread (the tile)",
         lambda f: scaler.reformat(f, 400, 226, format="bgra", interpolation="BILINEAR", threads=1)),
        ("to 400x226 FAST_BILINEAR, 1 thread",
         lambda f: scaler.reformat(f, 400, 226, format="bgra", interpolation="FAST_BILINEAR", threads=1)),
        ("to 320x180 BILINEAR, 1 thread (the tile)",
         lambda f: scaler.reformat(f, 320, 180, format="bgra", interpolation="BILINEAR", threads=1)),
    ]
    print(f"PyAV {av.__version__} (FFmpeg {av.ffmpeg_version_info}); YUV 4:2:0 640x360 to 32-bit RGB, process CPU "
          f"per picture, best of {ROUNDS} x {PICTURES}:")
    for name, convert in cases:
        print(f"  {name:45s} {per_picture_us(convert, frames):6.0f} us")


if __name__ == "__main__":
    main()
