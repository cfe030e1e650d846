"""SIGTERM/SIGINT as a Qt signal, so a stop request is handled on the event loop, never mid-statement."""

from __future__ import annotations

import signal
import socket
import sys

from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Signal


class ShutdownSignals(QObject):
    """Emits `requested(name)` for the first SIGTERM/SIGINT and `repeated(name)` for every later one (an
    impatient operator). Lives in (and must be created on) the main thread.

    POSIX: a socketpair + `signal.set_wakeup_fd` + QSocketNotifier wakes the event loop at once.
    Elsewhere (Windows) a 200 ms timer lets Python run its handlers between Qt events.
    """

    requested = Signal(str)
    repeated = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        self._pending: list[str] = []
        self._received = 0
        for s in self._previous:
            signal.signal(s, self._on_signal)
        if sys.platform != "win32":
            self._rsock, self._wsock = socket.socketpair()
            self._rsock.setblocking(False)
            self._wsock.setblocking(False)
            self._old_fd = signal.set_wakeup_fd(self._wsock.fileno())
            self._notifier = QSocketNotifier(self._rsock.fileno(), QSocketNotifier.Type.Read, self)
            self._notifier.activated.connect(self._drain)
        else:
            self._timer = QTimer(self)
            self._timer.timeout.connect(self._drain)
            self._timer.start(200)

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._pending.append(signal.Signals(signum).name)

    def _drain(self, *_args: object) -> None:
        if sys.platform != "win32":
            try:
                while self._rsock.recv(64):
                    pass
            except (BlockingIOError, InterruptedError):
                pass
        pending, self._pending = self._pending, []
        for name in pending:
            self._received += 1
            (self.requested if self._received == 1 else self.repeated).emit(name)

    def restore(self) -> None:
        """Give the signals back to their previous handlers (call before exit)."""
        for s, h in self._previous.items():
            signal.signal(s, h)
        if sys.platform != "win32":
            self._notifier.setEnabled(False)
            signal.set_wakeup_fd(self._old_fd)
            self._rsock.close()
            self._wsock.close()
