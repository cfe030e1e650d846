"""run_in_background: blocking work on a pool thread, the answer on the UI thread, even when the caller
keeps no reference to the call."""

from __future__ import annotations

import gc
import threading
import time

from PySide6.QtCore import QThread

from nvr_console.ui import background
from nvr_console.ui.background import run_in_background


def test_the_answer_arrives_on_the_ui_thread_without_a_kept_reference(qtbot) -> None:  # type: ignore[no-untyped-def]
    ui = QThread.currentThread()
    got: list[tuple[object, bool]] = []
    release = threading.Event()

    def work() -> str:
        release.wait(5)
        return "probed"

    run_in_background(work, lambda r: got.append((r, QThread.currentThread() is ui)))  # reference dropped
    gc.collect()  # a call that was only referenced by its caller would be gone now
    release.set()
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    assert got == [("probed", True)]
    qtbot.waitUntil(lambda: not background._IN_FLIGHT, timeout=2000)  # then let go


def test_failures_arrive_as_one_sentence(qtbot) -> None:  # type: ignore[no-untyped-def]
    messages: list[str] = []

    def broken() -> None:
        time.sleep(0.05)
        raise ValueError("the camera answered 404")

    run_in_background(broken, on_failed=messages.append)  # an expected error: its own sentence
    run_in_background(broken, on_failed=messages.append, expected=(OSError,))  # unexpected: named
    gc.collect()
    qtbot.waitUntil(lambda: len(messages) == 2, timeout=5000)
    assert sorted(messages) == ["ValueError: the camera answered 404", "the camera answered 404"]


def test_an_answer_for_a_deleted_widget_is_dropped(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QLabel

    label = QLabel()
    release = threading.Event()
    kept: list[str] = []
    run_in_background(lambda: release.wait(5) and "late", lambda text: label.setText(text), context=label)
    run_in_background(lambda: release.wait(5) and "late", kept.append, context=None)
    label.deleteLater()
    qtbot.wait(50)  # deleteLater has run: the label's C++ object is gone
    release.set()
    qtbot.waitUntil(lambda: kept == ["late"] and not background._IN_FLIGHT, timeout=5000)  # no error raised
