"""The dispatcher: retries with backoff per channel; a dead channel never holds another one or the caller."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from nvr_console.core.config import EmailSettings, WebhookSettings
from nvr_console.core.monitoring.channels import EmailChannel, Message, WebhookChannel
from nvr_console.core.monitoring.dispatcher import Dispatcher
from tests.support.http_receiver import HttpReceiver
from tests.support.smtp_peer import SilentSmtp


def message(seq: int = 1) -> Message:
    now = datetime.now(UTC)
    return Message("firing", 1, seq, "camera_down", "camera_down:camera:1", "critical", "A / b", "down", "n",
                   now, now, None)


class Settled:
    def __init__(self) -> None:
        self.items: list[tuple[Message, dict[str, str]]] = []
        self.event = threading.Event()

    def __call__(self, msg: Message, errors: dict[str, str]) -> None:
        self.items.append((msg, errors))
        self.event.set()


def test_retries_until_delivered() -> None:
    settled = Settled()
    with HttpReceiver() as rx:
        rx.fail_next(2, 503)
        ch = WebhookChannel(WebhookSettings(rx.url(), "plain", ""))
        d = Dispatcher([ch], settled, backoff_s=0.05)
        d.start()
        try:
            assert d.submit(message())
            assert not d.submit(message())  # already on its way
            assert settled.event.wait(10)
        finally:
            d.stop()
        assert rx.answered == [503, 503, 200] and len(rx.bodies()) == 1
    assert settled.items[0][1] == {}
    assert not d.in_flight(1, 1)


def test_gives_up_with_the_reason() -> None:
    settled = Settled()
    with HttpReceiver() as rx:
        rx.fail_next(3, 500)
        d = Dispatcher([WebhookChannel(WebhookSettings(rx.url(), "plain", ""))], settled, attempts=3, backoff_s=0.01)
        d.start()
        try:
            d.submit(message())
            assert settled.event.wait(10)
        finally:
            d.stop()
    [(_, errors)] = settled.items
    [error] = errors.values()
    assert error.endswith("answered HTTP 500 Internal Server Error")


def test_dead_mail_server_holds_neither_the_webhook_nor_the_caller() -> None:
    settled = Settled()
    with SilentSmtp() as silent, HttpReceiver() as rx:
        mail = EmailChannel(EmailSettings("127.0.0.1", silent.port, "none", None, "a@b.c", ("d@e.f",), None),
                            timeout_s=30)
        d = Dispatcher([mail, WebhookChannel(WebhookSettings(rx.url(), "plain", ""))], settled)
        d.start()
        try:
            t0 = time.monotonic()
            for seq in range(1, 6):
                assert d.submit(message(seq))
            submit_s = time.monotonic() - t0
            assert len(rx.wait_for(5, 10)) == 5  # every webhook went out while mail waits for a greeting
            assert silent.connections == 1 and not settled.items  # mail still owes all five
        finally:
            d.stop(timeout_s=0.5)
    assert submit_s < 1.0  # submit() only queues (bound far above its cost, not a timing figure)
