"""pytest fixtures for the real RTSP server. Import into a conftest or test module:

    from tests.support.fixtures_rtsp import rtsp_server  # noqa: F401
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

from tests.support.rtsp_peer import RtspServer, gst_rtsp_server_available


def _require_gst() -> None:
    ok, reason = gst_rtsp_server_available()
    if not ok:
        if os.environ.get("NVRTEST_REQUIRE_RTSP") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def rtsp_server_session() -> Iterator[RtspServer]:
    """One shared live RTSP server for the session (mounts: /cam /cam_alaw /cam_aac /audio /secure).

    Tests that stop or restart a server must start their own RtspServer instead.
    """
    _require_gst()
    # GStreamer 1.22 can abort when two clients PLAY one shared media at once (seen in CI: the shared
    # server died as a test's two cameras connected): like a camera that reboots, it comes back at once.
    server = RtspServer(auto_restart=True).start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def rtsp_server(rtsp_server_session: RtspServer) -> RtspServer:
    """The shared server, restarted on the same port if an earlier test's load made it crash."""
    tail = rtsp_server_session.ensure_running()
    if tail is not None:
        sys.stderr.write(f"note: the shared RTSP server had died and was restarted; its last words:\n{tail}\n")
    return rtsp_server_session


@pytest.fixture
def fresh_rtsp_server() -> Iterator[RtspServer]:
    """A server of the test's own, for tests with many clients at once or that break the server."""
    _require_gst()
    with RtspServer(auto_restart=True) as server:
        yield server
        # Shown by pytest only when the test failed: the GStreamer errors and HEAL notes behind a refusal.
        sys.stderr.write(f"RTSP server output (tail):\n{server.log_tail()}\n")
