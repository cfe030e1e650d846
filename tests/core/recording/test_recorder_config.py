"""The recorders' configuration from the settings, and what happens when FFmpeg cannot be found."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from nvr_console.core.config import Settings
from nvr_console.core.recording.recorder_config import RecorderSetup, find_tools, recorder_config
from nvr_console.core.recording.segment_names import run_dir


def test_the_configuration_comes_from_the_settings(settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory(**{"recording.segment_length": "90s", "recording.timezone": "Europe/Moscow",
                                   "recording.stall_timeout": "12s", "recording.socket_timeout": "4s"})
    cfg = recorder_config(settings, "/usr/bin/ffmpeg", quit_timeout_s=3.0, terminate_timeout_s=4.0)
    assert (cfg.ffmpeg, cfg.segment_seconds, cfg.timezone) == ("/usr/bin/ffmpeg", 90, "Europe/Moscow")
    assert (cfg.stall_timeout_s, cfg.socket_timeout_s, cfg.quit_timeout_s, cfg.terminate_timeout_s) == (12, 4, 3, 4)
    assert cfg.run_dir == run_dir(settings.recording.dir) and cfg.log_dir == settings.log.dir


def test_a_missing_ffmpeg_is_named_and_the_one_found_before_is_kept(
    settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    missing = tmp_path / "no-ffmpeg"
    found = find_tools(settings_factory(**{"recording.ffmpeg": str(missing)}))
    assert found.tools is None and f"recording.ffmpeg is {missing}, which does not exist" in found.problem

    # Never found: recorders run the configured name, and each camera then fails saying so.
    setup = RecorderSetup(5.0, 5.0)
    assert "which does not exist" in setup.update(settings_factory(**{"recording.ffmpeg": str(missing)}))
    assert setup.tools is None and setup.config is not None and setup.config.ffmpeg == str(missing)

    setup = RecorderSetup(5.0, 5.0)
    assert setup.update(settings_factory()) == ""
    assert setup.tools is not None and setup.config is not None
    assert setup.config.ffmpeg == shutil.which("ffmpeg")
    # A later change that names a missing FFmpeg keeps the working one (recording goes on), and says why.
    assert "which does not exist" in setup.update(settings_factory(**{"recording.ffmpeg": str(missing),
                                                                       "recording.segment_length": "10s"}))
    assert setup.config.ffmpeg == shutil.which("ffmpeg") and setup.config.segment_seconds == 10
