"""Closing the main window: nothing recording quits cleanly; while recording the operator is asked whether to
keep recording in the tray, stop everything, or cancel, through the real question box."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.status import CameraState
from nvr_console.ui.app import Console, build_console
from nvr_console.ui.widgets import tray as tray_module
from tests.ui.engine_double import EngineDouble


def _console(qtbot, settings: Settings, db: Database) -> tuple[Console, EngineDouble, int]:  # type: ignore[no-untyped-def]
    catalog.add_room(db, "A-101")
    cam = catalog.add_camera(db, "A-101", "front", "rtsp://10.0.0.5/s").id
    engine = EngineDouble({cam: ("A-101", "front")})
    c = build_console(settings, db, engine)
    qtbot.addWidget(c.window)
    c.window.show()
    qtbot.waitExposed(c.window)
    return c, engine, cam


@pytest.fixture
def with_tray(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Offscreen Qt has no system tray; the console must still be tested as on a desktop that has one.
    monkeypatch.setattr(tray_module.Tray, "available", staticmethod(lambda: True))
    yield


def _answer_question(qtbot, button_text: str, seen: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    """Click `button_text` in the modal question once it is up, noting what it said and offered."""

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen["text"] = box.text()
        seen["buttons"] = [b.text() for b in box.buttons()]
        target = next(b for b in box.buttons() if b.text().replace("&", "") == button_text)
        assert isinstance(target, QPushButton)
        target.click()

    QTimer.singleShot(0, click)


def test_closing_with_nothing_recording_quits_cleanly(qtbot, settings: Settings, db: Database) -> None:
    c, engine, _cam = _console(qtbot, settings, db)
    with qtbot.waitSignal(c.window.quit_ready, timeout=5000):
        c.window.close()
    assert ("shutdown", None) in engine.commands


def _recording_console(qtbot, settings: Settings, db: Database) -> tuple[Console, EngineDouble]:  # type: ignore[no-untyped-def]
    c, engine, cam = _console(qtbot, settings, db)
    engine.status(cam, CameraState.RECORDING)
    qtbot.waitUntil(lambda: c.window.recording_count() == 1, timeout=3000)
    return c, engine


def _close_answering(qtbot, c: Console, button_text: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Close the window and answer the question with `button_text`; returns what the question showed."""
    seen: dict[str, object] = {}
    _answer_question(qtbot, button_text, seen)
    c.window.close()
    qtbot.waitUntil(lambda: "buttons" in seen, timeout=3000)
    return seen


def _nothing_stopped(engine: EngineDouble) -> bool:
    return not [cmd for cmd in engine.commands if cmd[0] in ("shutdown", "stop_all", "stop_camera")]


def test_closing_while_recording_asks_and_stop_quits_with_files_finalized(qtbot, settings: Settings,
                                                                          db: Database) -> None:
    c, engine = _recording_console(qtbot, settings, db)
    with qtbot.waitSignal(c.window.quit_ready, timeout=5000):
        seen = _close_answering(qtbot, c, "Stop recording and quit")
    assert seen["text"] == "1 camera(s) are recording."
    assert ("shutdown", None) in engine.commands  # the engine stops recorders cleanly; nothing is killed


def test_cancel_keeps_the_window_and_the_recording(qtbot, settings: Settings, db: Database) -> None:
    c, engine = _recording_console(qtbot, settings, db)
    _close_answering(qtbot, c, "Cancel")
    assert c.window.isVisible()
    assert not c.window.quitting
    assert _nothing_stopped(engine)
    c.window.close_question = lambda _active: "keep"  # teardown closes the window: no second question


def test_keep_recording_in_the_tray_hides_the_window_and_the_tray_brings_it_back(
    qtbot, with_tray: None, settings: Settings, db: Database
) -> None:
    c, engine = _recording_console(qtbot, settings, db)
    assert c.window.tray is not None
    assert "recording" in c.window.tray.toolTip()
    with qtbot.waitSignal(c.window.notified, timeout=5000) as note:
        seen = _close_answering(qtbot, c, "Keep recording in the tray")
    assert "Keep recording in the tray" in seen["buttons"]  # type: ignore[operator]
    assert not c.window.isVisible()
    assert "Recording continues" in note.args[1]
    assert _nothing_stopped(engine)

    c.window.tray.show_action.trigger()
    qtbot.waitUntil(c.window.isVisible, timeout=3000)
    c.window.close_question = lambda _active: "keep"


def test_without_a_tray_the_question_offers_no_keep_choice(qtbot, settings: Settings, db: Database,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tray_module.Tray, "available", staticmethod(lambda: False))
    c, _engine = _recording_console(qtbot, settings, db)
    assert c.window.tray is None
    seen = _close_answering(qtbot, c, "Cancel")
    assert not any("tray" in b for b in seen["buttons"])  # type: ignore[union-attr]
    assert any("Stop recording and quit" in b for b in seen["buttons"])  # type: ignore[union-attr]
    c.window.close_question = lambda _active: "keep"


def test_ctrl_q_while_recording_asks_as_closing_does_and_says_how_many_stop(
        qtbot, settings: Settings, db: Database) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeySequence

    c, engine = _recording_console(qtbot, settings, db)
    assert c.window.quit_action.shortcut() == QKeySequence("Ctrl+Q")
    c.window.activateWindow()
    qtbot.waitActive(c.window)
    c.window.table.setFocus()
    seen: dict[str, object] = {}
    _answer_question(qtbot, "Cancel", seen)
    qtbot.keyClick(c.window.table, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "buttons" in seen, timeout=3000)
    assert str(seen["text"]).startswith("1 camera(s) are recording. Quitting stops them")
    assert not c.window.quitting and _nothing_stopped(engine)

    # The same action (the tray menu's Quit too), answered "stop": recorders stop cleanly.
    seen.clear()
    _answer_question(qtbot, "Stop recording and quit", seen)
    with qtbot.waitSignal(c.window.quit_ready, timeout=5000):
        c.window.quit_action.trigger()
    assert sorted(seen["buttons"]) == ["Cancel", "Stop recording and quit"]  # type: ignore[call-overload]
    assert ("shutdown", None) in engine.commands


def test_ctrl_q_with_nothing_recording_quits_without_asking(qtbot, settings: Settings, db: Database) -> None:  # type: ignore[no-untyped-def]
    c, engine, _cam = _console(qtbot, settings, db)
    c.window.quit_question = lambda _n: pytest.fail("asked with nothing recording")  # type: ignore[method-assign]
    with qtbot.waitSignal(c.window.quit_ready, timeout=5000):
        c.window.quit_action.trigger()
    assert ("shutdown", None) in engine.commands
