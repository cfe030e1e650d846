"""A wall-clock stamp drawn into each video frame as a bar code, so a receiver can tell how old the picture it
shows is (glass-to-glass latency, bench/live.py), with no OCR and no side channel.

The top 32 rows of a 640x360 frame hold 40 cells of 16x32 pixels (whole macroblocks, so H.264 at a modest bit
rate keeps them black or white): a start cell (white), 38 bits of the send time in milliseconds (modulo 2**38,
about 8.7 years; the reader takes the nearest such time before now), and an end cell (black). Pure Python: the
RTSP server runs it under the system Python.
"""

from __future__ import annotations

WIDTH, HEIGHT = 640, 360
CELL, ROWS = 16, 32
DATA_BITS = 38
MODULUS = 1 << DATA_BITS
WHITE, BLACK, GREY = 235, 16, 110


def _cells(ms: int) -> list[int]:
    value = ms % MODULUS
    return [1] + [(value >> (DATA_BITS - 1 - i)) & 1 for i in range(DATA_BITS)] + [0]


def frame_i420(ms: int, n: int) -> bytes:
    """One I420 frame stamped with `ms` (epoch milliseconds); `n` moves a block so consecutive frames differ."""
    bar = b"".join(bytes([WHITE if bit else BLACK]) * CELL for bit in _cells(ms))
    x = (n * 8) % (WIDTH - 64)
    body = bytes([GREY]) * x + bytes([200]) * 64 + bytes([GREY]) * (WIDTH - 64 - x)
    plain = bytes([GREY]) * WIDTH
    y_plane = bar * ROWS + b"".join(body if 120 <= row < 184 else plain for row in range(ROWS, HEIGHT))
    chroma = bytes([128]) * (WIDTH // 2 * HEIGHT // 2)
    return y_plane + chroma + chroma


def read_ms(samples: bytes | memoryview, step: int, width: int, now_ms: int) -> int | None:
    """The send time stamped in one row of a decoded frame (a row within the bar, of `width` pixels, each `step`
    bytes apart, first byte of each pixel a brightness: gray, or R of RGB), or None when the row is no stamp."""
    scale = width / WIDTH
    bits = []
    for i in range(DATA_BITS + 2):
        x = int((i * CELL + CELL / 2) * scale)
        bits.append(1 if samples[x * step] > 128 else 0)
    if bits[0] != 1 or bits[-1] != 0:
        return None
    value = 0
    for bit in bits[1:-1]:
        value = (value << 1) | bit
    return now_ms - ((now_ms - value) % MODULUS)
