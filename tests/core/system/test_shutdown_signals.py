"""Real SIGTERM/SIGINT to this process become Qt signals: the first `requested`, later ones `repeated`."""

import os
import signal

from nvr_console.core.system.shutdown_signals import ShutdownSignals
from tests.core.engine_support import wait_until


def test_first_signal_requests_later_ones_repeat(qapp: object) -> None:
    signals = ShutdownSignals()
    first: list[str] = []
    again: list[str] = []
    signals.requested.connect(first.append)
    signals.repeated.connect(again.append)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        assert wait_until(lambda: first == ["SIGTERM"], 5)
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        assert wait_until(lambda: again == ["SIGINT", "SIGTERM"], 5)
        assert first == ["SIGTERM"]
    finally:
        signals.restore()
