"""Log files are for the owner and its group only (0640), from creation, after rotation, and when found wider."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from nvr_console.core.system.logging_setup import PrivateRotatingFileHandler, configure_logging

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


@pytest.fixture(autouse=True)
def common_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual one: plain RotatingFileHandler files would be 0644
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_log_file_is_0640_and_stays_so_after_rotation(tmp_path: Path) -> None:
    old = tmp_path / "nvr-console.log"
    old.write_text("from an older version\n")
    old.chmod(0o644)
    try:
        configure_logging("info", tmp_path)
        logging.getLogger("nvr_console.test").info("hello")
        assert mode(old) == 0o640 and "hello" in old.read_text()
        handler = next(h for h in logging.getLogger().handlers if isinstance(h, PrivateRotatingFileHandler))
        handler.doRollover()
        logging.getLogger("nvr_console.test").info("after rotation")
        assert mode(tmp_path / "nvr-console.log") == 0o640 and mode(tmp_path / "nvr-console.log.1") == 0o640
    finally:
        configure_logging("info")  # stderr only again


def test_ffmpeg_logs_of_a_camera_are_0640(tmp_path: Path) -> None:
    handler = PrivateRotatingFileHandler(tmp_path / "ffmpeg" / "R-front.log", delay=True)
    (tmp_path / "ffmpeg").mkdir()
    handler.emit(logging.makeLogRecord({"msg": "FFmpeg says hi"}))
    handler.close()
    assert mode(tmp_path / "ffmpeg" / "R-front.log") == 0o640
