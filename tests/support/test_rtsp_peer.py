"""The RTSP test peer serves what it promises: real FFmpeg clients read each mount."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from tests.support import fixtures_rtsp
from tests.support.rtsp_peer import SECURE_PASSWORD, SECURE_USER, RtspServer

rtsp_server = fixtures_rtsp.rtsp_server  # the fixtures, made visible to this module
fresh_rtsp_server = fixtures_rtsp.fresh_rtsp_server


pytestmark = pytest.mark.peer  # starts RTSP servers: not in scripts/test --quick


def _streams(url: str, transport: str = "tcp") -> list[dict[str, object]]:
    proc = subprocess.run(
        ["ffprobe", "-v", "error", "-rtsp_transport", transport, "-print_format", "json", "-show_streams", url],
        capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["streams"]


def _codecs(url: str, transport: str = "tcp") -> list[str]:
    return [str(s["codec_name"]) for s in _streams(url, transport)]


def test_cam_is_h264_640x360_25fps(rtsp_server: RtspServer) -> None:
    (video,) = _streams(rtsp_server.url("/cam"))
    assert (video["codec_name"], video["width"], video["height"], video["r_frame_rate"]) == ("h264", 640, 360, "25/1")


@pytest.mark.parametrize(("mount", "expected"), [
    ("/cam_alaw", ["h264", "pcm_alaw"]),
    ("/cam_aac", ["h264", "aac"]),
])
def test_camera_audio_mounts(rtsp_server: RtspServer, mount: str, expected: list[str]) -> None:
    assert _codecs(rtsp_server.url(mount)) == expected


def test_audio_only_sound_source(rtsp_server: RtspServer) -> None:
    assert rtsp_server.audio_codec in ("aac", "pcm_alaw")
    assert _codecs(rtsp_server.url("/audio")) == [rtsp_server.audio_codec]


def test_udp_transport_works(rtsp_server: RtspServer) -> None:
    assert _codecs(rtsp_server.url("/cam_alaw"), "udp") == ["h264", "pcm_alaw"]


def test_secure_needs_the_password(rtsp_server: RtspServer) -> None:
    assert _codecs(rtsp_server.url("/secure", SECURE_USER, SECURE_PASSWORD)) == ["h264"]
    for url in (rtsp_server.url("/secure"), rtsp_server.url("/secure", SECURE_USER, "wrong")):
        proc = subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", url],
                              capture_output=True, text=True, timeout=30, check=False)
        assert proc.returncode != 0
        assert "401 Unauthorized" in proc.stderr


def test_url_quotes_credentials(rtsp_server: RtspServer) -> None:
    assert rtsp_server.url("cam", "a@b", "p:w/d") == f"rtsp://a%40b:p%3Aw%2Fd@127.0.0.1:{rtsp_server.port}/cam"


def test_restart_on_the_same_port() -> None:
    with RtspServer() as server:
        port = server.port
        assert _codecs(server.url("/cam")) == ["h264"]
        server.stop()
        assert not server.running
        down = subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", server.url("/cam")],
                              capture_output=True, text=True, timeout=30, check=False)
        assert "Connection refused" in down.stderr
        server.start()
        assert server.port == port
        assert _codecs(server.url("/cam")) == ["h264"]
    assert not server.running


def test_a_broken_shared_pipeline_heals_for_new_clients(fresh_rtsp_server: RtspServer) -> None:
    """A shared media in ERROR stays cached and answers every new client 503; the server must not do that
    (it made a ten-camera engine test fail on CI). Clients already playing keep their stream."""
    url = fresh_rtsp_server.url("/cam")
    holder = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
                               "-t", "8", "-f", "null", "-"], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
    try:
        deadline = time.monotonic() + 20
        while "BROKEN /cam" not in fresh_rtsp_server.log_tail():
            assert time.monotonic() < deadline, fresh_rtsp_server.log_tail()
            time.sleep(1.0)
            fresh_rtsp_server.break_pipelines()  # until the holder's media exists and was broken
        assert _codecs(url) == ["h264"]
        assert "HEAL /cam: the shared media was error" in fresh_rtsp_server.log_tail()
    finally:
        holder.wait(timeout=30)


def test_a_crashed_server_comes_back_on_its_port_but_a_stopped_one_stays_down() -> None:
    with RtspServer(auto_restart=True) as server:
        first = server._proc
        assert first is not None
        os.kill(first.pid, signal.SIGABRT)  # as GStreamer's assertion abort does
        deadline = time.monotonic() + 20
        while not (server.running and server._proc is not first):
            assert time.monotonic() < deadline, server.log_tail()
            time.sleep(0.1)
        assert server.restarts == 1 and "RESTART: the server died" in server.log_tail()
        assert _codecs(server.url("/cam")) == ["h264"]
        server.stop()
        time.sleep(1.0)
        assert not server.running and server.restarts == 1  # stop() is not a crash
