"""The one forecast of a full disk: rate from the recording cameras, time left, and the words for it."""

from __future__ import annotations

import math

from nvr_console.core.disk_forecast import (
    camera_write_rate_bps,
    forecast_text,
    seconds_until_full,
    time_left_text,
    write_rate_bps,
)
from nvr_console.core.status import CameraState, CameraStatus


def _status(state: CameraState, kbps: float) -> CameraStatus:
    return CameraStatus(1, "R", "c", state, 0.0, bitrate_kbps=kbps)


def test_only_recording_cameras_write() -> None:
    assert camera_write_rate_bps(_status(CameraState.RECORDING, 800)) == 100_000.0  # 800 kbit/s
    assert camera_write_rate_bps(_status(CameraState.FAILED, 800)) == 0.0
    assert write_rate_bps([_status(CameraState.RECORDING, 800), _status(CameraState.RECORDING, 1600),
                           _status(CameraState.STALLED, 999)]) == 300_000.0


def test_time_until_full_counts_what_retention_may_delete() -> None:
    assert seconds_until_full(1_000_000, 100_000) == 10.0
    assert seconds_until_full(1_000_000, 100_000, reclaimable_bytes=500_000) == 15.0
    assert seconds_until_full(-5, 100_000) == 0.0
    assert math.isinf(seconds_until_full(1_000_000, 0.0))


def test_words() -> None:
    assert time_left_text(25.4) == "about 25 s"
    assert time_left_text(400) == "about 7 min"
    assert time_left_text(11_000) == "about 3.1 h"
    assert time_left_text(math.inf) == "never at this rate"
    assert forecast_text(2_500_000, 500_000) == "full in about 5 s at 4.0 Mbit/s"
    assert forecast_text(2_500_000, 0.0) == "nothing is being written now"
