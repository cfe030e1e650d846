"""Start the desktop console: the engine in its own thread, the main window, tray and first-run welcome."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication

from nvr_console import APP_NAME, __version__
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.engine_api import EngineApi
from nvr_console.core.recording.demo import ensure_demo_cameras
from nvr_console.ui.background import database_pool, run_in_background
from nvr_console.ui.dialogs.welcome_dialog import WelcomeChoice, WelcomeDialog
from nvr_console.ui.engine_bridge import EngineCommands, EngineEvents
from nvr_console.ui.main_window import MainWindow

if TYPE_CHECKING:  # imported where used: the window shows before the engine's modules load
    from nvr_console.core.engine.control_engine import ControlEngine
    from nvr_console.core.engine.host import EngineHost
    from nvr_console.core.engine.recording_engine import Engine
    from nvr_console.core.monitoring.monitor import Monitor
    from nvr_console.core.system.shutdown_signals import ShutdownSignals

log = logging.getLogger(__name__)
QUIT_WAIT_S = 10.0  # after `stopped`, joining the engine thread takes moments; this only bounds a hang


@dataclass
class Console:
    window: MainWindow
    commands: EngineCommands
    events: EngineEvents


def build_console(settings: Settings, db: Database, engine: EngineApi | None) -> Console:
    """Wire a main window to an engine (in any thread, or a test double; None = view only). Main thread."""
    commands = EngineCommands()
    events = EngineEvents()
    if engine is not None:
        commands.connect_engine(engine)
        events.connect_engine(engine)
    window = MainWindow(settings, db, commands, events, engine_available=engine is not None)
    commands.setParent(window)
    events.setParent(window)
    # A console that connects to a running engine asks it for every camera's state once.
    events.started.connect(commands.status_requested)
    return Console(window, commands, events)


def welcome(console: Console, db: Database) -> None:
    """First run with an empty database: offer to add a camera or start the demo cameras. Main thread."""
    if console.window.quitting:
        return
    log.info("no cameras configured: showing the welcome")
    dialog = WelcomeDialog(console.window)
    dialog.exec()
    if console.window.quitting:
        return  # a quit (Quit action, SIGTERM) arrived while the dialog was open
    if dialog.choice is WelcomeChoice.DEMO:
        def added(_: object) -> None:
            console.window.reload_cameras()
            console.commands.reload_requested.emit()

        run_in_background(lambda: ensure_demo_cameras(db), added,
                          lambda msg: console.window.statusBar().showMessage(f"Demo cameras not added: {msg}", 30_000),
                          pool=database_pool(), context=console.window)
    elif dialog.choice is WelcomeChoice.ADD_CAMERA:
        console.window.add_camera()


def run_gui(settings: Settings, demo: bool = False, no_record: bool = False) -> int:
    """Open the main window and run the Qt event loop. Main (UI) thread.

    `no_record` (--no-record): a control station, which records nothing and commands the recorder nodes."""
    app = QApplication.instance() or QApplication([APP_NAME])
    QCoreApplication.setOrganizationName(APP_NAME)
    QCoreApplication.setApplicationName(APP_NAME)
    QCoreApplication.setApplicationVersion(__version__)
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)  # the tray keeps recording with no window open
    db = Database(settings.database.url, fail_fast=True)  # its threads record on, never wait out timeouts
    prepare_database(db)
    if demo:
        ensure_demo_cameras(db)
    host, console, monitor = _start_parts(settings, db, no_record)
    window = console.window
    finished = False

    def finish() -> None:
        # Re-entrant: host.stop() spins the event loop, which may deliver quit_ready or a signal again.
        nonlocal finished
        if finished:
            return
        finished = True
        if monitor is not None:
            monitor.stop()
        if not host.stop(QUIT_WAIT_S):
            log.warning("the engine did not stop within %.0f s; recovery finishes its files at next start", QUIT_WAIT_S)
        # Leaves every running loop, nested ones too (a modal dialog open when the stop was asked).
        app.quit()

    window.quit_ready.connect(finish)
    signals = _quit_on_signals(window, finish)
    window.start_thumbnails()
    window.show()
    if monitor is not None:
        monitor.start()
    host.start()

    def first_listing(cameras: int) -> None:
        window.cameras_loaded.disconnect(first_listing)
        if not cameras:
            # Run the welcome from inside app.exec() (the listing's answer arrives there anyway): a modal dialog
            # opened before the main loop starts would swallow app.quit() (Qt 6 quits only loops that are
            # running), leaving the window up after SIGTERM.
            QTimer.singleShot(0, lambda: welcome(console, db))

    window.cameras_loaded.connect(first_listing)  # the window's first camera listing, off the UI thread
    code = app.exec()
    if monitor is not None:
        monitor.stop()
    if not host.stopped:
        host.stop(QUIT_WAIT_S)
    signals.restore()
    db.dispose()
    return code


def _start_parts(settings: Settings, db: Database, no_record: bool) -> tuple[
        EngineHost[Engine] | EngineHost[ControlEngine], Console, Monitor | None]:
    """The engine this console runs (the recording engine, or a control station's: choose_role), its window,
    and the monitor beside a recording engine. Main thread."""
    from nvr_console.core.engine.control_engine import ControlEngine
    from nvr_console.core.engine.host import EngineHost
    from nvr_console.core.engine.recording_engine import Engine
    from nvr_console.core.fleet.role import RoleChoice
    from nvr_console.core.monitoring.monitor import Monitor
    from nvr_console.ui.dialogs.role_dialog import choose_role

    monitor: Monitor | None = None
    host: EngineHost[Engine] | EngineHost[ControlEngine]
    if choose_role(settings, db, no_record) is RoleChoice.CONTROL:
        # No monitor here: alerts are raised by the recorder nodes about what they record, and the Alerts tab
        # reads them from the database; a station evaluating every node's cameras would report them twice.
        host = EngineHost(settings, db, ControlEngine(settings, db), shell="console")
        console = build_console(settings, db, host.engine)
        console.window.set_control_station()
        return host, console, None
    engine = Engine(settings, db)
    host = EngineHost(settings, db, engine, shell="console")
    console = build_console(settings, db, engine)
    monitor = Monitor(settings, db)  # metrics, alert rules and channels; desktop notices go to the tray
    monitor.attach(engine)
    monitor.follow(console.window.settings_holder)
    monitor.notice.connect(console.window.on_alert)
    console.commands.shutdown_requested.connect(monitor.stop_checks)  # stopping is no outage
    return host, console, monitor


def _quit_on_signals(window: MainWindow, finish: Callable[[], None]) -> ShutdownSignals:
    """Ctrl+C / SIGTERM: the same clean stop as the Quit action; a second one stops waiting. Main thread."""
    from nvr_console.core.system.shutdown_signals import ShutdownSignals

    signals = ShutdownSignals()

    def on_signal(name: str) -> None:
        log.info("%s received: stopping recorders and finishing files", name)
        window.request_quit()

    def on_repeated_signal(name: str) -> None:
        # Impatient operator: stop waiting for the window's progress dialog; finish() still gives the
        # engine QUIT_WAIT_S to finish files, and recovery completes anything left at the next start.
        log.warning("%s received again: quitting now", name)
        finish()

    signals.requested.connect(on_signal)
    signals.repeated.connect(on_repeated_signal)
    return signals
