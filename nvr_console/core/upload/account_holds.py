"""Which Google accounts' uploads wait (Drive's daily cap, a sign-in of theirs missing), and until when.

The other accounts go on. The state is guarded by the uploader's condition, shared here so that a hold or a
release wakes its workers.
"""

from __future__ import annotations

import logging
import threading
import time

from nvr_console.core.text.durations import format_duration

log = logging.getLogger(__name__)


class AccountHolds:
    """Per-account waits of the uploader. Any thread."""

    def __init__(self, cond: threading.Condition, probe_every_s: float) -> None:
        """`cond`: the uploader's condition (workers wait on it); `probe_every_s`: drive.cap_probe_every."""
        self._cond = cond
        self._probe_every_s = probe_every_s
        # account -> (monotonic time of the next try, None = until clear(); the operator sentence)
        self._held: dict[str, tuple[float | None, str]] = {}
        # Held accounts whose upload is trying again (account -> why it was held): a refusal is not news, a
        # confirmed chunk is.
        self._probing: dict[str, str] = {}

    def hold(self, account: str, reason: str, probe: bool) -> None:
        """Only `account`'s uploads wait: for `probe_every_s` (then one tries again), or until clear()."""
        with self._cond:
            first = account not in self._held and account not in self._probing
            self._probing.pop(account, None)
            self._held[account] = (time.monotonic() + self._probe_every_s if probe else None, reason)
            self._cond.notify_all()
        if first:
            log.error("uploads of Google account %s wait (trying again every %s): %s", account,
                      format_duration(self._probe_every_s) if probe else "resume", reason)
        else:
            log.info("uploads of Google account %s still wait: %s", account, reason)

    def worked(self, account: str) -> bool:
        """Drive took bytes of `account` again: True if that ends its wait (it was trying again)."""
        with self._cond:
            if self._probing.pop(account, None) is None:
                return False
        log.warning("uploads of Google account %s go on: Drive takes its files again", account)
        return True

    def held_now(self) -> frozenset[str]:
        """Accounts still held; those whose time to try again has come are let go (to probing)."""
        now = time.monotonic()
        with self._cond:
            due = [a for a, (until, _) in self._held.items() if until is not None and until <= now]
            for a in due:
                self._probing[a] = self._held.pop(a)[1]
            return frozenset(self._held)

    def wait(self) -> float | None:
        """Seconds until the next held account tries again (None: none will by itself)."""
        with self._cond:
            times = [until for until, _ in self._held.values() if until is not None]
        return max(min(times) - time.monotonic(), 0.05) if times else None

    def waiting(self) -> dict[str, str]:
        """Accounts whose uploads wait now (or are trying again after waiting), with why."""
        with self._cond:
            return {**self._probing, **{a: why for a, (_, why) in self._held.items()}}

    def clear(self) -> str:
        """The operator resumed: every account goes on. Returns why they were held ("" if none was)."""
        with self._cond:
            was = "; ".join(r for _, r in self._held.values())
            self._held.clear()
            self._probing.clear()
            return was
