"""Which FFmpeg (and ffprobe) to run: the setting, else `ffmpeg` on PATH, else the imageio-ffmpeg wheel's."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path


class FFmpegNotFound(RuntimeError):
    """No usable FFmpeg; `str()` says where we looked and what to install."""


@dataclass(frozen=True)
class Tools:
    ffmpeg: Path
    ffprobe: Path | None  # the imageio-ffmpeg wheel ships no ffprobe; probing then uses `ffmpeg -i`


def locate_tools(configured: Path | None = None) -> Tools:
    """Resolve FFmpeg once at engine start (any thread)."""
    if configured is not None:
        path = Path(configured).expanduser()
        if not path.is_file():
            found = shutil.which(str(configured))
            if not found:
                raise FFmpegNotFound(
                    f"recording.ffmpeg is {configured}, which does not exist; fix the path or leave it "
                    "empty to use ffmpeg from PATH"
                )
            path = Path(found)
        return Tools(path, _probe_beside(path))
    found = shutil.which("ffmpeg")
    if found:
        return Tools(Path(found), _probe_beside(Path(found)))
    try:
        import imageio_ffmpeg

        exe = Path(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        raise FFmpegNotFound(
            f"no ffmpeg found on PATH and none in the imageio-ffmpeg package ({exc}); install FFmpeg "
            "(e.g. `apt install ffmpeg`) or set recording.ffmpeg"
        ) from None
    return Tools(exe, _probe_beside(exe) or (Path(p) if (p := shutil.which("ffprobe")) else None))


def _probe_beside(ffmpeg: Path) -> Path | None:
    name = "ffprobe.exe" if ffmpeg.suffix.lower() == ".exe" else "ffprobe"
    beside = ffmpeg.with_name(name)
    if beside.is_file():
        return beside
    found = shutil.which("ffprobe")
    return Path(found) if found else None
