"""The bar-code clock of the /clock mount: every stamp reads back from the frame's rows, at full size and scaled."""

from __future__ import annotations

import time

from tests.support.clock_code import HEIGHT, MODULUS, WIDTH, frame_i420, read_ms


def test_stamps_read_back_exactly_and_a_plain_row_is_no_stamp() -> None:
    now = int(time.time() * 1000)
    for ms in (now, now - 1, now - 499, now - MODULUS + 1):
        frame = frame_i420(ms, 3)
        assert len(frame) == WIDTH * HEIGHT * 3 // 2
        assert read_ms(frame[WIDTH * 16:WIDTH * 17], 1, WIDTH, now) == ms
        assert read_ms(frame[WIDTH * 100:WIDTH * 101], 1, WIDTH, now) is None
        # Scaled to half size (a smaller tile), every second pixel: the cells are still read.
        assert read_ms(frame[WIDTH * 16:WIDTH * 17:2], 1, WIDTH // 2, now) == ms
