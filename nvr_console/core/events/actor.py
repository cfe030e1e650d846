"""Who did something, as stored with operator commands and engine stops: `user@host (console)`."""

from __future__ import annotations

import getpass
import socket


def actor_name(via: str) -> str:
    """`user@host (via)`, where via says through what: console, CLI, headless. Any thread."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers with an arbitrary uid)
        user = "?"
    return f"{user}@{socket.gethostname()} ({via})"[:128]
