"""The camera dialog's Test says what a camera sends and whether it can be recorded as it is (issue 22), against a
real RTSP server: a lecture-hall encoder's H.264 High with B-frames + AAC, and a Motion JPEG camera."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from nvr_console.core.db.session import Database
from nvr_console.ui.dialogs.camera_dialog import CameraDialog
from tests.support.fixtures_rtsp import _require_gst
from tests.support.rtsp_peer import RtspServer
from tests.support.stream_matrix import MATRIX, MJPEG_LAUNCH, encode_file, launch

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
HALL = next(c for c in MATRIX if c.name == "h264_high_bf3_aac")


pytestmark = pytest.mark.peer  # starts an RTSP server of its own: not in scripts/test --quick


@pytest.fixture
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtspServer]:
    _require_gst()
    media = tmp_path_factory.mktemp("dialog_media")
    encode_file(HALL, media, 40)
    with RtspServer(mounts={"/hall": launch(HALL, media), "/mjpeg": MJPEG_LAUNCH}) as srv:
        yield srv


def test_test_button_describes_the_stream_and_says_when_it_cannot_be_recorded(
    qtbot, db: Database, server: RtspServer,
) -> None:
    d = CameraDialog(db, FFMPEG)
    qtbot.addWidget(d)
    d.url.setText(server.url("/hall"))
    d.tester.button.click()
    assert not d.tester.button.isEnabled()  # off the UI thread
    qtbot.waitUntil(lambda: d.tester.button.isEnabled(), timeout=40_000)
    text = d.tester.result.text()
    assert text.startswith("OK: video: H.264 High"), text
    assert "B-frames: yes" in text and "keyframe interval: 1 s" in text and "audio: AAC 16000 Hz" in text
    assert "recordable: yes, as it is" in text

    d.url.setText(server.url("/mjpeg"))
    d.tester.button.click()
    qtbot.waitUntil(lambda: d.tester.button.isEnabled(), timeout=40_000)
    text = d.tester.result.text()
    assert text.startswith("Cannot be recorded as it is: video: Motion JPEG (MJPEG)"), text
    assert "set its encoder to H.264" in text
