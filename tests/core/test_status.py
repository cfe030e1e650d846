"""The engine's plain status data: when a camera counts as down, and why in a few words."""

from __future__ import annotations

import pytest

from nvr_console.core.recording.errors import FfmpegErrorKind, classify_ffmpeg_error
from nvr_console.core.status import CameraState, CameraStatus, short_reason


def status(state: CameraState, **kw: object) -> CameraStatus:
    return CameraStatus(1, "A-101", "front", state, since=100.0, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("state", "error", "down"), [
    (CameraState.RECORDING, "", False),
    (CameraState.STOPPED, "", False),
    (CameraState.STOPPING, "", False),
    (CameraState.SCHEDULED, "", False),
    (CameraState.STARTING, "", False),  # a first start
    (CameraState.STARTING, "Connection refused: nothing listens.", True),  # a retry after a failure
    (CameraState.STALLED, "", True),
    (CameraState.RECONNECTING, "", True),
    (CameraState.FAILED, "", True),
    (CameraState.OFFLINE, "", True),
])
def test_every_state_says_whether_the_camera_is_down(state: CameraState, error: str, down: bool) -> None:
    assert status(state, last_error=error, down_since=90.0 if error else 0.0).is_down is down


def test_the_reason_is_the_first_clause_of_the_error_or_the_state() -> None:
    assert status(CameraState.RECONNECTING, last_error="Connection refused: nothing listens on that host and port. "
                  "Check the port.").reason == "connection refused"
    assert status(CameraState.RECONNECTING).reason == "reconnecting"
    assert status(CameraState.OFFLINE).reason == "its node stopped reporting"
    assert short_reason("FFmpeg could not be started (ffmpeg): install FFmpeg") == \
        "FFmpeg could not be started (ffmpeg)"
    assert short_reason("No new data from the camera for 2.5 s (stalled stream); restarting the recorder.") == \
        "no new data from the camera for 2.5 s (stalled stream)"
    assert short_reason("") == ""


def test_every_ffmpeg_error_kind_reads_as_a_short_reason() -> None:
    samples = {
        FfmpegErrorKind.AUTH: "method DESCRIBE failed: 401 Unauthorized",
        FfmpegErrorKind.NOT_FOUND: "Server returned 404 Not Found",
        FfmpegErrorKind.CONNECTION_REFUSED: "Connection to tcp://10.0.0.1:554: Connection refused",
        FfmpegErrorKind.DNS: "Failed to resolve hostname cam.example: Name or service not known",
        FfmpegErrorKind.HOST_UNREACHABLE: "Connection to tcp://10.0.0.1:554 failed: No route to host",
        FfmpegErrorKind.TIMEOUT: "rtsp://10.0.0.1/x: Connection timed out",
    }
    for kind, stderr in samples.items():
        found, message = classify_ffmpeg_error(stderr)
        assert found is kind
        reason = short_reason(message)
        assert reason and len(reason) <= 60 and ":" not in reason, (kind, reason)
