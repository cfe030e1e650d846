"""The console's bridge to the engine: commands reach the engine's slots on the engine's own thread and events
come back on the UI thread. The bridge connects attributes of core.engine_api.EngineApi (mypy checks that both
engines implement it), so nothing is looked up by name."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QThread

from nvr_console.core.engine.control_engine import ControlEngine
from nvr_console.core.engine.recording_engine import Engine
from nvr_console.core.engine_api import EngineApi
from nvr_console.core.status import CameraState, CameraStatus, LogLine
from nvr_console.ui.engine_bridge import EngineCommands, EngineEvents
from tests.ui.engine_double import EngineDouble


@pytest.fixture
def engine_thread() -> Iterator[tuple[EngineDouble, QThread]]:
    engine = EngineDouble({3: ("A-101", "front"), 4: ("A-101", "back"), 5: ("A-101", "side")})
    thread = QThread()
    engine.moveToThread(thread)
    thread.start()
    yield engine, thread
    thread.quit()
    assert thread.wait(5000)


def test_every_command_runs_its_slot_on_the_engine_thread(qtbot, engine_thread) -> None:
    engine, _thread = engine_thread
    commands = EngineCommands()
    commands.connect_engine(engine)
    ui_thread = threading.get_ident()
    commands.start_camera_requested.emit(3)  # returns at once: queued into the engine's event loop
    commands.stop_camera_requested.emit(4)
    commands.retry_upload_requested.emit(9)
    commands.resume_uploads_requested.emit()
    commands.account_changed_requested.emit()
    commands.settings_changed.emit("new settings")
    commands.remove_camera_requested.emit(5)
    for signal in (commands.start_all_requested, commands.stop_all_requested, commands.reload_requested,
                   commands.status_requested, commands.start_requested, commands.shutdown_requested):
        signal.emit()
    qtbot.waitUntil(lambda: len(engine.commands) == 13, timeout=3000)
    assert [name for name, _ in engine.commands] == [
        "start_camera", "stop_camera", "retry_upload", "resume_uploads", "account_changed", "apply_settings",
        "remove_camera", "start_all", "stop_all", "reload", "request_status", "start", "shutdown"]
    assert engine.applied == ["new settings"]
    assert len(set(engine.threads)) == 1 and ui_thread not in engine.threads  # every slot on the engine's thread


def test_events_from_the_engine_thread_arrive_on_the_ui_thread(qtbot, engine_thread) -> None:
    engine, _thread = engine_thread
    commands, events = EngineCommands(), EngineEvents()
    commands.connect_engine(engine)
    events.connect_engine(engine)
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


@pytest.mark.parametrize("engine_class", [Engine, ControlEngine])
def test_both_engines_have_every_member_of_the_interface(engine_class: type) -> None:
    """What mypy checks where the console connects an engine (ui/app.py), also at run time: every slot is
    callable and every signal a Qt signal; and only the recording engine removes cameras."""
    members = [m for m in dir(EngineApi) if not m.startswith("_")] + list(EngineApi.__annotations__)
    for name in members:
        assert hasattr(engine_class, name), f"{engine_class.__name__} lacks {name}"
    assert engine_class.removes_cameras is (engine_class is Engine)
