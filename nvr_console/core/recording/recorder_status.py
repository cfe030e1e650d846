"""A recorder's status as the console shows it (status.CameraStatus), from the recorder's parts: the file
figures only while its FFmpeg runs, the rates only while it records.
"""

from __future__ import annotations

from nvr_console.core.recording.probe import MediaInfo
from nvr_console.core.recording.segment_files import SegmentFiles
from nvr_console.core.recording.stream_support import stream_summary
from nvr_console.core.status import CameraState, CameraStatus


def camera_status(*, camera_id: int, room: str, camera: str, state: CameraState, since: float, running: bool,
                  files: SegmentFiles, fps: float, last_error: str, next_retry_in: float,
                  streams: MediaInfo | None, picture: tuple[int, int] | None, down_since: float) -> CameraStatus:
    """`running`: an FFmpeg process exists; `streams`: what this run writes (None: not known yet); `picture`: the
    size its in-band parameter sets say (picture_change). Engine thread."""
    recording = state is CameraState.RECORDING
    return CameraStatus(
        camera_id=camera_id,
        room=room,
        camera=camera,
        state=state,
        since=since,
        current_file=str(files.current) if files.current and running else "",
        file_started=files.current_started if running else 0.0,
        file_size=files.current_size if running else 0,
        bitrate_kbps=round(files.bitrate_kbps, 1) if recording else 0.0,
        fps=round(fps, 2) if recording else 0.0,
        last_error=last_error,
        next_retry_in=next_retry_in,
        stream=stream_summary(streams, picture) if streams is not None else "",
        down_since=down_since,
    )
