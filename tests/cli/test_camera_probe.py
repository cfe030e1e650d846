"""`nvr-console cameras probe`: what a camera sends and whether it can be recorded, against a real RTSP server
serving a lecture-hall encoder's kind of stream (H.264 High with B-frames + AAC), an H.265 camera and an
MJPEG one (issue 22)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli_run import run
from tests.support.fixtures_rtsp import _require_gst
from tests.support.rtsp_peer import RtspServer
from tests.support.stream_matrix import MATRIX, MJPEG_LAUNCH, encode_file, launch

HALL = next(c for c in MATRIX if c.name == "h264_high_bf3_aac")
HEVC = next(c for c in MATRIX if c.name == "h265_main_aac")


pytestmark = pytest.mark.peer  # starts an RTSP server of its own: not in scripts/test --quick


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtspServer]:
    _require_gst()
    media = tmp_path_factory.mktemp("probe_media")
    for case in (HALL, HEVC):
        encode_file(case, media, 40)
    with RtspServer(mounts={"/hall": launch(HALL, media), "/hevc": launch(HEVC, media),
                            "/mjpeg": MJPEG_LAUNCH}) as srv:
        yield srv


def _add(capsys: pytest.CaptureFixture[str], db: str, name: str, url: str) -> None:
    code, _, err = run(capsys, "cameras", "add", "--room", "R", "--name", name, "--url", url, "--database-url", db)
    assert code == 0, err


def test_probe_describes_b_frames_hevc_and_an_unrecordable_camera(
    capsys: pytest.CaptureFixture[str], server: RtspServer, tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'nvr.sqlite3'}"
    run(capsys, "rooms", "add", "R", "--database-url", db)
    for name in ("hall", "hevc", "mjpeg"):
        _add(capsys, db, name, server.url(f"/{name}"))

    code, out, err = run(capsys, "cameras", "probe", "--room", "R", "--name", "hall", "--seconds", "4",
                         "--database-url", db)
    assert code == 0, err
    assert "video: H.264 High" in out
    assert "B-frames: yes" in out
    assert "resolution: 320x180" in out and "frame rate: 25 fps" in out
    assert "keyframe interval: 1 s" in out
    assert "audio: AAC 16000 Hz 1 ch" in out
    assert "recordable: yes, as it is" in out

    code, out, err = run(capsys, "cameras", "probe", "--room", "R", "--name", "hevc", "--seconds", "4", "--json",
                         "--database-url", db)
    assert code == 0, err
    report = json.loads(out)
    assert (report["video_codec"], report["profile"], report["bframes"]) == ("hevc", "Main", False)
    assert report["keyframe_interval_s"] == 1.0 and report["recordable"] is True

    code, out, err = run(capsys, "cameras", "probe", "--room", "R", "--name", "mjpeg", "--seconds", "3",
                         "--database-url", db)
    assert code == 3, (out, err)
    assert "video: Motion JPEG (MJPEG)" in out
    assert "recordable: NO: the camera sends Motion JPEG (MJPEG) video, which cannot be recorded because" in out
    assert "set its encoder to H.264" in out


def test_probe_of_an_unreachable_camera_says_why(capsys: pytest.CaptureFixture[str], server: RtspServer,
                                                 tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'nvr.sqlite3'}"
    run(capsys, "rooms", "add", "R", "--database-url", db)
    _add(capsys, db, "nope", server.url("/no-such-path"))
    code, out, err = run(capsys, "cameras", "probe", "--room", "R", "--name", "nope", "--seconds", "2",
                         "--database-url", db)
    assert code == 1, (out, err)
    assert "camera 'nope' in room 'R'" in err and "No such stream path" in err
