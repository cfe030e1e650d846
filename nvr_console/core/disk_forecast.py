"""When the recordings disk will be full at the rate the cameras write now: the one formula behind the disk
guard's warning, the `disk_forecast` alert rule and the `nvr_disk_full_in_seconds` metric.

The write rate is what the recorders measure: each recording camera's file growth (CameraStatus.bitrate_kbps,
smoothed over a few file checks), summed. A camera that is not recording writes nothing.
Pure functions; any thread.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from nvr_console.core.status import CameraState, CameraStatus


def camera_write_rate_bps(status: CameraStatus) -> float:
    """Bytes per second this camera writes now (0 unless it is recording)."""
    return status.bitrate_kbps * 125.0 if status.state is CameraState.RECORDING else 0.0


def write_rate_bps(statuses: Iterable[CameraStatus]) -> float:
    """Bytes per second all these cameras write now."""
    return sum(camera_write_rate_bps(s) for s in statuses)


def seconds_until_full(free_bytes: int, write_rate: float, reclaimable_bytes: int = 0) -> float:
    """Seconds until the disk is full at `write_rate` bytes/s, counting `reclaimable_bytes` that retention may
    still delete; +inf when nothing is written."""
    if write_rate <= 0:
        return math.inf
    return max(0, free_bytes + reclaimable_bytes) / write_rate


def time_left_text(seconds: float) -> str:
    """`25` -> `about 25 s`, `400` -> `about 7 min`, `11000` -> `about 3.1 h`, inf -> `never at this rate`."""
    if math.isinf(seconds):
        return "never at this rate"
    if seconds < 90:
        return f"about {max(0, round(seconds))} s"
    if seconds < 5400:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"


def forecast_text(free_bytes: int, write_rate: float, reclaimable_bytes: int = 0) -> str:
    """`full in about 25 s at 4.1 Mbit/s`, or `nothing is being written now`."""
    if write_rate <= 0:
        return "nothing is being written now"
    left = seconds_until_full(free_bytes, write_rate, reclaimable_bytes)
    return f"full in {time_left_text(left)} at {write_rate * 8 / 1e6:.1f} Mbit/s"
