"""Run a blocking call (FFmpeg, Drive, the database) on a pool thread and get its result back on the UI thread.

The QRunnable carries a QObject created on the UI thread; its signals, emitted from the pool thread,
are queued to the UI thread's receivers. Calls in flight are held here until they report, so a caller
that drops the returned `BackgroundCall` still gets its answer (a collected one would silently lose it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TypeVar

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, SignalInstance


class BackgroundCall(QObject):
    """Emitted on completion (received on the UI thread): `done(result)` or `failed(message)`."""

    done = Signal(object)
    failed = Signal(str)


T = TypeVar("T")
_IN_FLIGHT: set[BackgroundCall] = set()  # UI thread only
_DATABASE_POOL: QThreadPool | None = None  # UI thread only


def database_pool() -> QThreadPool:
    """The pool every database call of the console runs on. UI thread.

    One thread: calls run in the order they were asked (a save, then the reload that shows it), and a
    database that stops answering ties up this thread only (each call bounded by the connection's
    timeouts, core.db.session), never the threads that test streams or ask Drive.
    """
    global _DATABASE_POOL
    if _DATABASE_POOL is None:
        _DATABASE_POOL = QThreadPool()
        _DATABASE_POOL.setObjectName("database")
        _DATABASE_POOL.setMaxThreadCount(1)
    return _DATABASE_POOL


class _Runnable(QRunnable):
    def __init__(
        self, fn: Callable[[], object], call: BackgroundCall, expected: tuple[type[BaseException], ...]
    ) -> None:
        super().__init__()
        self.fn, self.call, self.expected = fn, call, expected

    def run(self) -> None:  # pool thread
        try:
            result = self.fn()
        except self.expected as exc:
            self._report(self.call.failed, str(exc))
        except Exception as exc:  # an unexpected error still reaches the operator as one sentence
            self._report(self.call.failed, f"{type(exc).__name__}: {exc}")
        else:
            self._report(self.call.done, result)

    @staticmethod
    def _report(signal: SignalInstance, value: object) -> None:  # pool thread
        # The call's object may be gone (the application is exiting): then nobody is left to tell.
        with contextlib.suppress(RuntimeError):
            signal.emit(value)


def _while_alive(fn: Callable[[T], object], context: QObject) -> Callable[[T], None]:
    """`fn`, called only while `context`'s C++ object exists (a widget closed and deleted meanwhile is not)."""

    def deliver(value: T) -> None:  # UI thread
        if shiboken6.isValid(context):
            fn(value)

    return deliver


def run_in_background(
    fn: Callable[[], T],
    on_done: Callable[[T], object] | None = None,
    on_failed: Callable[[str], object] | None = None,
    pool: QThreadPool | None = None,
    expected: tuple[type[BaseException], ...] = (Exception,),
    context: QObject | None = None,
) -> BackgroundCall:
    """Start `fn` on `pool` (the global pool by default; `database_pool()` for database calls). UI thread.

    With a `context` (the widget that asked), the answer is delivered only while that object lives.
    """
    call = BackgroundCall()
    if on_done is not None:
        call.done.connect(on_done if context is None else _while_alive(on_done, context))
    if on_failed is not None:
        call.failed.connect(on_failed if context is None else _while_alive(on_failed, context))
    # Connected after the caller's slots, so they run first and still see the call (sender()) alive.
    _IN_FLIGHT.add(call)
    call.done.connect(lambda _result: _IN_FLIGHT.discard(call))
    call.failed.connect(lambda _message: _IN_FLIGHT.discard(call))
    (pool or QThreadPool.globalInstance()).start(_Runnable(fn, call, expected))
    return call
