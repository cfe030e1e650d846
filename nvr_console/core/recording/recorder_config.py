"""The recorders' configuration from the settings: which FFmpeg, the segment grid, time zone, timeouts and
folders. The engine restarts the recorders whose configuration changes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nvr_console.core.config import Settings
from nvr_console.core.recording.ffmpeg_locate import FFmpegNotFound, Tools, locate_tools
from nvr_console.core.recording.recorder import RecorderConfig
from nvr_console.core.recording.segment_names import run_dir


@dataclass(frozen=True)
class FoundTools:
    tools: Tools | None
    problem: str  # why no FFmpeg was found ("" when one was): the operator's sentence


def find_tools(settings: Settings) -> FoundTools:
    """FFmpeg and ffprobe as configured (recording.ffmpeg), else from PATH or the wheel. Any thread."""
    try:
        return FoundTools(locate_tools(settings.recording.ffmpeg), "")
    except FFmpegNotFound as exc:
        return FoundTools(None, str(exc))


def recorder_config(settings: Settings, ffmpeg: str, *, quit_timeout_s: float,
                    terminate_timeout_s: float) -> RecorderConfig:
    """Every recorder's FFmpeg settings; `ffmpeg` is the executable to run (found, or the configured one so a
    missing FFmpeg shows as each camera's failure)."""
    rec = settings.recording
    return RecorderConfig(
        ffmpeg=ffmpeg, segment_seconds=max(1, round(rec.segment_length)), timezone=rec.timezone,
        stall_timeout_s=rec.stall_timeout, socket_timeout_s=rec.socket_timeout,
        run_dir=run_dir(Path(rec.dir)), log_dir=settings.log.dir,
        quit_timeout_s=quit_timeout_s, terminate_timeout_s=terminate_timeout_s,
    )


class RecorderSetup:
    """FFmpeg and the recorders' configuration, from the settings at start and at every change. Engine thread."""

    def __init__(self, quit_timeout_s: float, terminate_timeout_s: float) -> None:
        self.quit_timeout_s = quit_timeout_s
        self.terminate_timeout_s = terminate_timeout_s
        self.tools: Tools | None = None
        self.config: RecorderConfig | None = None

    def update(self, settings: Settings) -> str:
        """Look for FFmpeg again and rebuild the configuration; returns why no FFmpeg was found, or "". With
        none found, recorders run the configured name (and fail, saying so) or keep the one found before."""
        found = find_tools(settings)
        if found.tools is not None or self.config is None:
            self.tools = found.tools
        if self.tools is not None:
            ffmpeg = str(self.tools.ffmpeg)
        elif self.config is not None:
            ffmpeg = self.config.ffmpeg
        else:
            ffmpeg = str(settings.recording.ffmpeg or "ffmpeg")
        self.config = recorder_config(settings, ffmpeg, quit_timeout_s=self.quit_timeout_s,
                                      terminate_timeout_s=self.terminate_timeout_s)
        return found.problem
