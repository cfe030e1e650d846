"""While a MySQL/MariaDB server is out of reach, callers are told so at once instead of each waiting out the
connect and read timeouts; a background probe finds out when it answers again.

Without it, a server cut off by a dead link (packets vanish, no reset) costs every statement its timeouts:
the engine thread, registering a segment or retrying a finished one, was blocked 5-10 s out of every 6 s of a
partition (seen with py-spy in the fleet partition test), so it reacted to nothing else meanwhile. A refused
connection fails in a millisecond, and every caller already copes with that (it keeps its rows to write
later); the breaker makes a silent outage look the same.

Only connection-level failures open it (cannot connect, server gone, connection lost, timed out); a lock
wait or a deadlock is an answer from a live server and leaves it closed. SQLite is a local file: never used.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError

from nvr_console.core.text.masking import mask_secrets

log = logging.getLogger(__name__)

# MySQL client errors that mean the server is not reachable (CR_* codes in errmsg.h; PyMySQL uses them too).
UNREACHABLE_CODES = frozenset({
    2002,  # cannot connect through the socket
    2003,  # cannot connect to the server (refused, timed out)
    2006,  # server has gone away
    2013,  # lost connection during a query (includes read timeouts)
    2055,  # lost connection at a stage of the handshake
})
PROBE_FIRST_S = 0.5  # first probe after the trip; doubled up to PROBE_MAX_S
PROBE_MAX_S = 4.0


def is_unreachable(exc: BaseException) -> bool:
    """Whether a driver error says the server could not be reached (not that it refused the statement)."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    args: tuple[object, ...] = getattr(orig, "args", ())
    return bool(args) and isinstance(args[0], int) and args[0] in UNREACHABLE_CODES


def reason_of(exc: BaseException) -> str:
    """The driver's own first line (no password), for logs and for the error the callers get."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    text = str(orig).strip()
    return mask_secrets(text.splitlines()[0] if text else type(orig).__name__)


class OutageBreaker:
    """`check()` before a statement; `failed(exc)` after a connection-level failure. Thread-safe: every thread
    of an engine shares one. `probe` is called on the breaker's own thread until it returns without raising."""

    def __init__(self, probe: Callable[[], None], name: str = "database") -> None:
        self._probe = probe
        self._name = name
        self._lock = threading.Lock()
        self._reason: str | None = None  # set while open: why the last attempt failed
        self._opened_at = 0.0
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self.trips = 0  # times it opened, over its life (tests and logs)

    @property
    def open(self) -> bool:
        return self._reason is not None

    def check(self) -> str | None:
        """None when statements may go to the server; else why not (the caller raises with it). Any thread."""
        with self._lock:
            if self._reason is None:
                return None
            return (f"{self._reason} (unreachable for {time.monotonic() - self._opened_at:.0f} s; "
                    "checked again in the background)")

    def failed(self, reason: str) -> None:
        """A statement failed because the server could not be reached: open, and probe until it answers."""
        with self._lock:
            if self._reason is None:
                self._opened_at = time.monotonic()
                self.trips += 1
                log.warning("%s unreachable (%s); statements fail at once until it answers again", self._name,
                            reason)
            self._reason = reason
            if self._thread is None and not self._closing.is_set():
                self._thread = threading.Thread(target=self._probe_loop, name="nvr-db-probe", daemon=True)
                self._thread.start()

    def close(self) -> None:
        """Stop probing (the Database is being disposed). Any thread."""
        self._closing.set()

    def _probe_loop(self) -> None:
        wait = PROBE_FIRST_S
        while not self._closing.wait(wait):
            try:
                self._probe()
            except Exception as exc:  # still out of reach (or something else is wrong: keep trying)
                with self._lock:
                    self._reason = reason_of(exc)
                wait = min(PROBE_MAX_S, wait * 2)
                continue
            with self._lock:  # closed and thread gone together: a failure after this starts a new probe
                down = time.monotonic() - self._opened_at
                self._reason = None
                self._thread = None
            log.info("%s answers again (after %.0f s)", self._name, down)
            return
        with self._lock:
            self._thread = None
