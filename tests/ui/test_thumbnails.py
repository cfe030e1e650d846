"""Live thumbnails with the real FFmpeg: one keyframe read from each visible camera's current file on the service's
own pool, handed back as a QImage on the UI thread; no second request for a camera still in flight, and files
that are missing or unreadable cost nothing visible."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import QThread
from PySide6.QtGui import QImage

from nvr_console.ui.thumbnails import WIDTH, ThumbnailService

FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(not FFMPEG, reason="needs ffmpeg")


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seconds of 640x360 H.264 in MKV, a keyframe a second: the shape of a file being recorded."""
    path = tmp_path_factory.mktemp("thumbs") / "06-30-00.mkv"
    assert FFMPEG
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=640x360:rate=25:duration=2", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
                    str(path)], check=True, timeout=60)
    return path


def test_each_target_gets_one_scaled_keyframe_on_the_ui_thread(qtbot, recording: Path, tmp_path: Path) -> None:
    assert FFMPEG
    targets = [(1, str(recording)), (2, str(tmp_path / "gone.mkv")), (3, "")]
    service = ThumbnailService(FFMPEG, lambda: targets, interval_ms=3_600_000)
    got: list[tuple[int, QImage, bool]] = []
    service.ready.connect(lambda cid, image: got.append((cid, image, QThread.currentThread() is service.thread())))
    try:
        service.refresh()
        assert list(service._pending) == [1]  # the missing file and the empty path are skipped
        service.refresh()  # camera 1 is still in flight: not asked twice
        qtbot.waitUntil(lambda: bool(got) and not service._pending, timeout=20_000)
        qtbot.wait(200)
        assert len(got) == 1
        cid, image, on_ui_thread = got[0]
        assert cid == 1 and on_ui_thread
        assert (image.width(), image.height()) == (WIDTH, 64)  # 640x360 scaled to 112 wide, even height
    finally:
        service.stop()


def test_an_unreadable_file_gives_no_thumbnail_and_is_asked_again_later(qtbot, tmp_path: Path) -> None:
    assert FFMPEG
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(b"not a video" * 100)
    service = ThumbnailService(FFMPEG, lambda: [(4, str(junk))], interval_ms=3_600_000)
    got: list[int] = []
    service.ready.connect(lambda cid, _image: got.append(cid))
    try:
        service.refresh()
        assert 4 in service._pending
        qtbot.waitUntil(lambda: not service._pending, timeout=20_000)  # failed quietly (debug log only)
        assert got == []
        service.refresh()  # the next round tries again
        assert 4 in service._pending
        qtbot.waitUntil(lambda: not service._pending, timeout=20_000)
    finally:
        service.stop()


def test_start_runs_the_timer_and_stop_ends_it(qtbot) -> None:
    assert FFMPEG
    service = ThumbnailService(FFMPEG, lambda: [], interval_ms=60_000)
    service.start()
    assert service.timer.isActive() and service.timer.interval() == 60_000 and service.first.isActive()
    service.stop()
    assert not service.timer.isActive() and not service.first.isActive()
    assert service.pool.activeThreadCount() == 0
