"""systemd's notify protocol (`Type=notify`, `WatchdogSec=`), spoken directly: one datagram per message.

No dependency: the protocol is a line of text sent to the socket named by $NOTIFY_SOCKET. Outside
systemd (no $NOTIFY_SOCKET) every call does nothing, so the headless runner calls it unconditionally.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


class SystemdNotifier:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        # "@name" is an abstract-namespace socket (Linux): a leading NUL byte.
        self._address = ("\0" + address[1:]) if address.startswith("@") else address
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        watchdog_for_us = usec.isdigit() and (not pid or pid == str(os.getpid()))
        # Ping at half the interval systemd waits, as sd_watchdog_enabled(3) advises.
        self.watchdog_interval_s = int(usec) / 2e6 if watchdog_for_us else 0.0

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def notify(self, message: str) -> bool:
        """Send e.g. "READY=1"; False (and a debug line) when not under systemd or on error. Any thread."""
        if not self._address or not hasattr(socket, "AF_UNIX"):
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(message.encode("utf-8"), self._address)
            return True
        except OSError as exc:
            log.debug("sd_notify %r failed: %s", message, exc)
            return False

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")
