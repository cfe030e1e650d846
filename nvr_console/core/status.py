"""The plain data the engine publishes to its shells (desktop console, headless runner, CLI status).

Every engine signal carries one of these frozen dataclasses (ids, enums, numbers, strings only), so a
receiver on another thread never touches engine objects or database sessions.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class CameraState(enum.StrEnum):
    STOPPED = "stopped"  # not wanted (operator stopped it, or disabled)
    SCHEDULED = "scheduled"  # wanted, but outside the recording window; starts at the next opening
    STARTING = "starting"  # FFmpeg launched, no bytes yet
    RECORDING = "recording"  # bytes flowing
    STALLED = "stalled"  # no new bytes for the stall timeout; about to restart
    RECONNECTING = "reconnecting"  # waiting `next_retry_in` s before the next attempt (backoff 1..30 s)
    FAILED = "failed"  # needs the operator: reason in `last_error` (wrong password, no such path...)
    STOPPING = "stopping"  # finishing the current file
    OFFLINE = "offline"  # held by a node that stopped reporting; another node takes it when its lease runs out


class UploadState(enum.StrEnum):
    QUEUED = "queued"
    UPLOADING = "uploading"
    VERIFYING = "verifying"
    UPLOADED = "uploaded"  # verified: size and MD5 match
    RETRYING = "retrying"
    PAUSED = "paused"  # the whole queue waits for the operator (quota, revoked sign-in...)
    FAILED = "failed"


@dataclass(frozen=True)
class CameraStatus:
    camera_id: int
    room: str
    camera: str
    state: CameraState
    since: float  # epoch seconds when `state` began
    current_file: str = ""  # local path being written
    file_started: float = 0.0  # epoch seconds
    file_size: int = 0  # bytes of the current file
    bitrate_kbps: float = 0.0
    fps: float = 0.0
    last_error: str = ""  # operator sentence, credentials masked
    next_retry_in: float = 0.0  # seconds, while RECONNECTING
    enabled: bool = True
    node: str = ""  # the node recording it (several machines on one database); "" when unknown
    stream: str = ""  # what the camera sends, as this run's FFmpeg saw it: "H.264 1280x720 · AAC" ("": not yet)
    # Epoch seconds since the camera, wanted, has not been recording (kept across its retries; 0: recording, or
    # not wanted). Set by its recorder; a control station reckons it from the states it reads.
    down_since: float = 0.0

    @property
    def is_down(self) -> bool:
        """Should record and does not: failing, stalled, retrying, held by a silent node, or starting again
        after a failure (a first start is not down)."""
        if self.state in DOWN_STATES:
            return True
        return self.state is CameraState.STARTING and bool(self.last_error) and self.down_since > 0

    @property
    def reason(self) -> str:
        """Why it is down, in a few words: the first clause of `last_error` ("connection refused"), else what its
        state says."""
        return short_reason(self.last_error) or _STATE_REASONS.get(self.state, self.state.value)


# States in which a camera that should record does not.
DOWN_STATES = frozenset({CameraState.STALLED, CameraState.RECONNECTING, CameraState.FAILED, CameraState.OFFLINE})
# Unused in a down camera's words unless its recorder said nothing more.
_STATE_REASONS = {CameraState.STALLED: "no new data", CameraState.RECONNECTING: "reconnecting",
                  CameraState.FAILED: "failed", CameraState.OFFLINE: "its node stopped reporting",
                  CameraState.STARTING: "connecting"}


def short_reason(error: str) -> str:
    """The first clause of an operator sentence, lower-cased: "Connection refused: nothing listens..." ->
    "connection refused". Error sentences lead with what happened and follow with the fix (recording.errors)."""
    text = error.strip()
    for i, ch in enumerate(text):
        if ch in ":;." and (i + 1 == len(text) or text[i + 1] == " "):  # not "rtsp://", "2.5 s"
            text = text[:i]
            break
    text = text.strip()
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        text = text[0].lower() + text[1:]  # "The camera..." -> "the camera...", but "FFmpeg", "DNS" stay
    return text


@dataclass(frozen=True)
class RecordingEvent:
    """A finished (finalized) file, or one that could not be used."""

    recording_id: int
    camera_id: int | None
    room: str
    camera: str
    path: str
    status: str  # RecordingStatus value
    slot_start: float  # epoch seconds
    duration: float
    size: int
    notes: str = ""
    # Epoch seconds when the piece itself starts (0: unknown): later than slot_start for a piece that began
    # mid-slot (a reconnect, a restart).
    start_time: float = 0.0


@dataclass(frozen=True)
class UploadProgress:
    recording_id: int
    camera_id: int | None
    state: UploadState
    bytes_sent: int
    total: int
    rate_bps: float = 0.0
    eta_s: float = 0.0
    web_link: str = ""
    folder_link: str = ""
    error: str = ""


@dataclass(frozen=True)
class QueueStatus:
    files: int
    bytes: int
    rate_bps: float
    paused: bool = False
    reason: str = ""  # why paused, as an operator sentence
    # Google accounts whose uploads wait (Drive's daily cap) while the others go on, as an operator sentence.
    accounts_waiting: str = ""


@dataclass(frozen=True)
class DiskStatus:
    """The recordings disk as the engine's disk guard judges it."""

    free: int  # bytes
    keep: int  # bytes kept free: the larger of retention.min_free_space and room for every camera's next segment
    why: str  # what sets `keep`, as an operator sentence

    @property
    def short(self) -> bool:
        return self.free < self.keep


@dataclass(frozen=True)
class LogLine:
    time: float
    level: str  # "info", "warning", "error"
    camera_id: int | None
    text: str  # masked
