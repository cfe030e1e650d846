"""The console's bridge to the engine: commands reach the engine's slots on the engine's own thread, events come
back on the UI thread, and commands without a slot are known (the UI greys those actions)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QObject, QThread, Signal, Slot

from nvr_console.core.status import CameraState, CameraStatus, LogLine
from nvr_console.ui.engine_bridge import _COMMANDS, _EVENTS, EngineCommands, EngineEvents


class ThreadedEngine(QObject):
    """Lives in its own QThread like the real engine; records each command with the thread it ran on."""

    camera_status = Signal(object)
    log_line = Signal(object)
    started = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, object, int]] = []  # (slot, argument, thread id)

    def _record(self, name: str, arg: object = None) -> None:
        self.calls.append((name, arg, threading.get_ident()))

    @Slot(int)
    def start_camera(self, camera_id: int) -> None:
        self._record("start_camera", camera_id)
        self.camera_status.emit(CameraStatus(camera_id, "A-101", "front", CameraState.RECORDING, since=0.0))

    @Slot(int)
    def stop_camera(self, camera_id: int) -> None:
        self._record("stop_camera", camera_id)

    @Slot(int)
    def retry(self, recording_id: int) -> None:  # the older name of retry_upload: still reached
        self._record("retry", recording_id)


@pytest.fixture
def engine_thread() -> Iterator[tuple[ThreadedEngine, QThread]]:
    engine = ThreadedEngine()
    thread = QThread()
    engine.moveToThread(thread)
    thread.start()
    yield engine, thread
    thread.quit()
    assert thread.wait(5000)


def test_commands_run_on_the_engine_thread_and_missing_slots_are_listed(qtbot, engine_thread) -> None:
    engine, _thread = engine_thread
    commands = EngineCommands()
    commands.connect_engine(engine)
    assert set(commands.missing) == set(_COMMANDS) - {"start_camera_requested", "stop_camera_requested",
                                                      "retry_upload_requested"}
    assert commands.can("stop_camera_requested") and not commands.can("settings_changed")

    ui_thread = threading.get_ident()
    commands.start_camera_requested.emit(3)  # returns at once: queued into the engine's event loop
    commands.stop_camera_requested.emit(4)
    commands.retry_upload_requested.emit(9)
    commands.shutdown_requested.emit()  # no slot: nothing happens, nothing raises
    qtbot.waitUntil(lambda: len(engine.calls) == 3, timeout=3000)
    assert [(name, arg) for name, arg, _ in engine.calls] == [("start_camera", 3), ("stop_camera", 4), ("retry", 9)]
    engine_ids = {tid for _, _, tid in engine.calls}
    assert len(engine_ids) == 1 and ui_thread not in engine_ids  # every slot ran on the engine's thread


def test_events_from_the_engine_thread_arrive_on_the_ui_thread(qtbot, engine_thread) -> None:
    engine, _thread = engine_thread
    commands, events = EngineCommands(), EngineEvents()
    commands.connect_engine(engine)
    events.connect_engine(engine)  # signals the engine lacks (recording_finished, ...) are skipped
    received: list[tuple[object, QThread]] = []
    events.camera_status.connect(lambda st: received.append((st, QThread.currentThread())))
    commands.start_camera_requested.emit(5)
    qtbot.waitUntil(lambda: bool(received), timeout=3000)
    status, thread = received[0]
    assert isinstance(status, CameraStatus) and status.camera_id == 5 and status.state is CameraState.RECORDING
    assert thread is QThread.currentThread()  # re-emitted on the UI thread, whoever emitted it

    lines: list[LogLine] = []
    events.log_line.connect(lines.append)
    engine.log_line.emit(LogLine(1.0, "info", 5, "recording"))  # emitted from here: still delivered queued
    assert lines == []
    qtbot.waitUntil(lambda: lines == [LogLine(1.0, "info", 5, "recording")], timeout=3000)


def test_every_event_name_is_a_signal_of_the_events_object() -> None:
    events = EngineEvents()
    for name in _EVENTS:
        assert hasattr(events, name) and hasattr(getattr(events, name), "emit"), name
    commands = EngineCommands()
    for name in _COMMANDS:
        assert hasattr(getattr(commands, name), "emit"), name
