"""Delivers alert messages: one thread and one bounded queue per channel, retries with backoff.

A dead mail server therefore delays only the mail channel's own queue: never the webhook, the alert
evaluator, the engine or the UI (`submit()` only appends to in-memory queues). When every channel is done
with a message (sent, or given up after `attempts` tries, or dropped from a full queue) `on_settled` runs
on the thread of the channel that finished last.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypedDict

from nvr_console.core.monitoring.channels import Channel, ChannelError, Message
from nvr_console.core.text.masking import mask_secrets

log = logging.getLogger(__name__)

QUEUE_LIMIT = 100
ATTEMPTS = 6
BACKOFF_S = 5.0
BACKOFF_CAP_S = 300.0


@dataclass
class _Delivery:
    msg: Message
    pending: set[str]
    errors: dict[str, str] = field(default_factory=dict)


Settled = Callable[[Message, dict[str, str]], None]
Reported = Callable[[str, bool, str], None]  # channel name, delivered, error


class DispatchOptions(TypedDict, total=False):
    """The Dispatcher's tuning keywords, for callers that pass them through."""

    queue_limit: int
    attempts: int
    backoff_s: float
    backoff_cap_s: float


class Dispatcher:
    def __init__(self, channels: list[Channel], on_settled: Settled, on_attempt: Reported | None = None, *,
                 queue_limit: int = QUEUE_LIMIT, attempts: int = ATTEMPTS, backoff_s: float = BACKOFF_S,
                 backoff_cap_s: float = BACKOFF_CAP_S) -> None:
        self.channels = list(channels)
        self._on_settled = on_settled
        self._on_attempt = on_attempt
        self._limit, self._attempts = queue_limit, attempts
        self._backoff, self._cap = backoff_s, backoff_cap_s
        self._cond = threading.Condition()
        self._queues: dict[str, deque[_Delivery]] = {c.name: deque() for c in self.channels}
        self._in_flight: dict[tuple[int, int], _Delivery] = {}
        self._threads: list[threading.Thread] = []
        self._stopping = False

    def start(self) -> None:
        """Start one worker per channel. Any thread."""
        for ch in self.channels:
            t = threading.Thread(target=self._work, args=(ch,), name=f"nvr-alerts-{ch.name[:20]}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the workers; a message not yet delivered stays owed in the database. Any thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = time.monotonic() + timeout_s
        for t in self._threads:
            # A send stuck in a network call ends at its own timeout; daemon threads never hold the exit.
            t.join(max(0.0, deadline - time.monotonic()))
        self._threads = []

    def in_flight(self, alert_id: int, seq: int) -> bool:
        with self._cond:
            return (alert_id, seq) in self._in_flight

    def submit(self, msg: Message) -> bool:
        """Queue a message for every channel; False if it is already queued. Never blocks. Any thread."""
        dropped: list[tuple[_Delivery, str]] = []
        with self._cond:
            key = (msg.alert_id, msg.seq)
            if self._stopping or (msg.kind != "test" and key in self._in_flight):
                return False
            delivery = _Delivery(msg, {c.name for c in self.channels})
            if not delivery.pending:
                settle_now = True
            else:
                settle_now = False
                if msg.kind != "test":
                    self._in_flight[key] = delivery
                for name, q in self._queues.items():
                    if len(q) >= self._limit:
                        dropped.append((q.pop(), name))  # the newest waiting one; the head may be mid-send
                    q.append(delivery)
                self._cond.notify_all()
        for old, name in dropped:
            log.warning("alert channel %s: queue full, message %r dropped", name, old.msg.title)
            self._done(old, name, "not sent: the channel's queue was full")
        if settle_now:
            self._settle(delivery)
        return True

    def _work(self, ch: Channel) -> None:
        """Channel worker thread: send the queue's head, retrying with backoff; FIFO per channel."""
        q = self._queues[ch.name]
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopping or bool(q))
                if self._stopping:
                    return
                delivery = q[0]
            error = ""
            for attempt in range(1, self._attempts + 1):
                try:
                    ch.send(delivery.msg)
                    error = ""
                    if self._on_attempt:
                        self._on_attempt(ch.name, True, "")
                    break
                except ChannelError as exc:
                    error = str(exc)
                except Exception as exc:  # a bug in a channel must not kill its thread
                    error = f"{type(exc).__name__}: {mask_secrets(str(exc))[:200]}"
                    log.exception("alert channel %s failed", ch.name)
                if self._on_attempt:
                    self._on_attempt(ch.name, False, error)
                wait = min(self._cap, self._backoff * 2 ** (attempt - 1))
                log.warning("alert %r not sent through %s (attempt %d of %d): %s%s", delivery.msg.title, ch.name,
                            attempt, self._attempts, error,
                            f"; retrying in {wait:g} s" if attempt < self._attempts else "; giving up")
                if attempt == self._attempts:
                    break
                with self._cond:
                    if self._cond.wait_for(lambda: self._stopping, timeout=wait):
                        return  # still owed in the database: sent again after the next start
            with self._cond:
                if q and q[0] is delivery:
                    q.popleft()
            self._done(delivery, ch.name, error)

    def _done(self, delivery: _Delivery, channel: str, error: str) -> None:
        with self._cond:
            delivery.pending.discard(channel)
            if error:
                delivery.errors[channel] = error
            last = not delivery.pending
        if last:
            self._settle(delivery)

    def _settle(self, delivery: _Delivery) -> None:
        try:
            self._on_settled(delivery.msg, dict(delivery.errors))
        except Exception:
            log.exception("settling alert message %r failed", delivery.msg.title)
        finally:
            with self._cond:
                self._in_flight.pop((delivery.msg.alert_id, delivery.msg.seq), None)
