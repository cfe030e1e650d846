"""Free TCP ports on loopback for the test peers (RTSP server, MariaDB, OAuth redirects) and for URLs that
must find nobody listening."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it; another process may take it before we bind it)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def closed_url(scheme: str = "http", host: str = "127.0.0.1") -> str:
    """`http://127.0.0.1:PORT/` with nobody listening: connection refused."""
    return f"{scheme}://{host}:{free_port(host)}/"
