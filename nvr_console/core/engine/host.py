"""Run an Engine in a QThread of its own; used by both the headless runner and the desktop console."""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar, overload

from PySide6.QtCore import QCoreApplication, QMetaObject, Qt, QThread

from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.engine.control_engine import ControlEngine
from nvr_console.core.engine.recording_engine import Engine
from nvr_console.core.events.actor import actor_name
from nvr_console.core.events.event_recorder import EventRecorder
from nvr_console.core.lectures.service import LectureService

# Hosts whose thread was started and not yet joined. Qt aborts the whole process if a running QThread
# is destroyed, so a host dropped without stop() (a crash path, a failed test) must not be collected.
_LIVE: set[EngineHost[Engine] | EngineHost[ControlEngine]] = set()

# The recording engine, or a control station's (records nothing, commands the recorder nodes).
E = TypeVar("E", Engine, ControlEngine)


class EngineHost(Generic[E]):
    """Owns the engine thread. Create, start and stop it from the main (GUI) thread."""

    engine: E

    @overload
    def __init__(self: EngineHost[Engine], settings: Settings, db: Database, engine: None = None,
                 shell: str = "engine") -> None: ...

    @overload
    def __init__(self, settings: Settings, db: Database, engine: E, shell: str = "engine") -> None: ...

    def __init__(self, settings: Settings, db: Database, engine: E | None = None, shell: str = "engine") -> None:
        """`shell` names what runs the engine (console, headless): engine stops are stored as done by
        `user@host (shell)`. A control station's engine stores no camera events: its camera states are the
        recorder nodes', which store their own."""
        self.thread = QThread()
        self.thread.setObjectName("nvr-engine")
        # The first overload makes E Engine when no engine is given; mypy cannot see that inside the body.
        self.engine = engine if engine is not None else Engine(settings, db)  # type: ignore[assignment]
        # Camera state changes and engine starts/stops, stored as they happen (the reasons behind coverage gaps).
        self.events: EventRecorder | None = None
        # A recording node also reads the timetables and delivers lectures (a control station does neither).
        self.lectures: LectureService | None = None
        if isinstance(self.engine, Engine):
            self.events = EventRecorder(db, settings.retention.events, actor=actor_name(shell))
            self.events.attach(self.engine)
            self.lectures = LectureService(settings, db)
        self.engine.moveToThread(self.thread)
        self._stopped = threading.Event()
        # Direct: runs on the engine thread the moment it emits, so stop() can wait without a main loop.
        self.engine.stopped.connect(self._stopped.set, Qt.ConnectionType.DirectConnection)
        self.thread.started.connect(self.engine.start)
        self._started = False

    def start(self) -> None:
        """Start the thread; the engine's start() then runs on it. Main thread."""
        if not self._started:
            self._started = True
            _LIVE.add(self)
            self.thread.start()
            if self.lectures is not None:
                self.lectures.start()

    def request_stop(self) -> None:
        """Ask the engine to shut down without waiting; `engine.stopped` follows. Any thread."""
        QMetaObject.invokeMethod(self.engine, "shutdown", Qt.ConnectionType.QueuedConnection)

    def stop(self, timeout_s: float = 30) -> bool:
        """Shut the engine down, wait for `stopped`, then quit and join the thread. Main thread.

        Returns False if the engine did not report stopped in time (the thread is still joined, so a
        process exit never runs with a live engine thread).
        """
        if not self._started:
            if self.events is not None:
                self.events.close()
            return True
        if self.lectures is not None:
            self.lectures.stop(min(timeout_s, 10.0))
        ok = True
        if self.thread.isRunning():
            self.request_stop()
            deadline = time.monotonic() + timeout_s
            app = QCoreApplication.instance()
            # Keep delivering queued signals to this thread (status, logs) while we wait.
            while not self._stopped.wait(0.05):
                if app is not None:
                    app.processEvents()
                if time.monotonic() > deadline:
                    ok = False
                    break
            # The engine stopped its timer before emitting `stopped`; only now quit the thread.
            self.thread.quit()
            if not self.thread.wait(int(max(1.0, timeout_s) * 1000)):
                self.thread.terminate()
                self.thread.wait(2000)
                ok = False
        if QCoreApplication.instance() is not None:
            QCoreApplication.processEvents()
        if not self.thread.isRunning():
            _LIVE.discard(self)
        if self.events is not None:
            self.events.close()  # the engine's last states and its stop, written before the process may exit
        return ok and self._stopped.is_set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()
