"""The whole upload queue waiting after a fatal error (storage quota, sign-in revoked...), until the operator
resumes or, after a pause that doubles each time, it tries again by itself.

The state is guarded by the uploader's condition, shared here so that a pause or a resume wakes its workers.
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)

PROBE_CAP_S = 4 * 3600.0  # longest pause before the queue tries again by itself after a fatal error


class QueuePause:
    """The uploader's queue-wide pause. Any thread."""

    def __init__(self, cond: threading.Condition, probe_s: float, poll_s: float) -> None:
        """`probe_s`: the first pause before trying again; `poll_s`: how long a worker waits per look while paused
        until resume."""
        self._cond = cond
        self._probe_first = probe_s
        self._probe_s = probe_s
        self._poll_s = poll_s
        self.reason = ""  # "" = not paused
        self._until: float | None = None  # monotonic; None while paused = until resume()

    def pause(self, reason: str, probe: bool = True) -> None:
        """Pause everything: until the probe time (doubled for the next), or until resume()."""
        with self._cond:
            first = not self.reason
            self.reason = reason
            if probe:
                self._until = time.monotonic() + self._probe_s
                self._probe_s = min(self._probe_s * 2, PROBE_CAP_S)
            else:
                self._until = None
            self._cond.notify_all()
        if first:
            log.error("uploads paused: %s", reason)

    def resume(self) -> str:
        """Not paused any more, the next pause short again. Returns why it was paused ("" if it was not)."""
        with self._cond:
            was, self.reason, self._until = self.reason, "", None
            self._probe_s = self._probe_first
            return was

    def worked(self) -> None:
        """An upload succeeded: the next pause starts short again."""
        with self._cond:
            self._probe_s = self._probe_first

    def wait(self) -> float | None:
        """Seconds to wait while paused (None = not paused); when the time is up, unpaused to try again. Call with
        the condition held."""
        if not self.reason:
            return None
        if self._until is None:
            return self._poll_s
        left = self._until - time.monotonic()
        if left <= 0:
            # Probe: try again by ourselves (a daily limit resets, a quota may have been raised).
            log.info("uploads were paused (%s); trying again", self.reason)
            self.reason = ""
            self._until = None
            return None
        return left
