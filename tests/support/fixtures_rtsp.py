"""pytest fixtures for the real RTSP server. Import into a conftest or test module:

    from tests.support.fixtures_rtsp import rtsp_server  # noqa: F401
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.rtsp_peer import RtspServer, gst_rtsp_server_available


@pytest.fixture(scope="session")
def rtsp_server() -> Iterator[RtspServer]:
    """One shared live RTSP server for the session (mounts: /cam /cam_alaw /cam_aac /audio /secure).

    Tests that stop or restart a server must start their own RtspServer instead.
    """
    ok, reason = gst_rtsp_server_available()
    if not ok:
        if os.environ.get("NVRTEST_REQUIRE_RTSP") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    server = RtspServer().start()
    try:
        yield server
    finally:
        server.close()
