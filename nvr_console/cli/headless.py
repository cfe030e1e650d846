"""`nvr-console --no-gui`: the engine on a QCoreApplication, stopped cleanly by SIGTERM/SIGINT (exit 0)."""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QCoreApplication, QTimer

from nvr_console import __version__
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import SchemaTooNew, prepare_database
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.engine.host import EngineHost
from nvr_console.core.engine.recording_engine import Engine
from nvr_console.core.monitoring import health
from nvr_console.core.monitoring.monitor import Monitor
from nvr_console.core.recording.demo import ensure_demo_cameras
from nvr_console.core.system.shutdown_signals import ShutdownSignals
from nvr_console.core.system.systemd_notify import SystemdNotifier

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 40.0
RETRY_MAX_S = 30.0


class DatabaseRetry:
    """Tries the database again, with backoff (1 s doubling up to RETRY_MAX_S), until it answers and its schema
    is checked (migrated if need be); then says so once. Its own thread: the main loop keeps feeding the
    systemd watchdog meanwhile."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="database-retry", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        wait = 1.0
        while not self._stop.wait(wait):
            try:
                prepare_database(self.db)
            except DatabaseUnavailable:
                wait = min(RETRY_MAX_S, wait * 2)
                continue
            except SchemaTooNew as exc:
                log.error("%s", exc)
                return
            log.info("the database answers: this node takes part again (leases, rows, uploads)")
            return


def run_headless(settings: Settings, demo: bool = False) -> int:
    """Run the engine until SIGTERM/SIGINT; returns the process exit code. Main thread."""
    app = QCoreApplication.instance() or QCoreApplication(["nvr-console"])
    db = Database(settings.database.url, fail_fast=True)  # its threads record on, never wait out timeouts
    retry = _open_database(settings, db, demo)

    host = EngineHost(settings, db, shell="headless")
    engine = host.engine
    monitor = Monitor(settings, db)  # metrics, alert rules and channels; off the engine's thread
    monitor.attach(engine)
    # Engine log lines, finished files among them (the finalizer's "ready"), are already written through
    # `logging` on the engine thread: nothing is logged here a second time.
    engine.stopped.connect(app.quit)  # queued to this thread: the loop ends once the engine is done

    signals = ShutdownSignals()
    def stop(name: str) -> None:
        log.info("%s received: stopping recorders and finishing files", name)
        monitor.stop_checks()  # a stopping engine is no outage
        host.request_stop()

    def stop_now(name: str) -> None:
        # Impatient operator: leave the event loop now; host.stop() still gives the engine up to
        # STOP_TIMEOUT_S to finish files, and anything unfinished is recovered at the next start.
        log.warning("%s received again: waiting at most %.0f s for the engine", name, STOP_TIMEOUT_S)
        app.quit()

    signals.requested.connect(stop)
    signals.repeated.connect(stop_now)
    notifier = SystemdNotifier()
    # READY once the engine runs (Type=notify); the watchdog ping comes from this event loop, so a
    # wedged main loop gets the service restarted (WatchdogSec=). systemd arms the watchdog at READY, so the
    # pings start then: started before, a slow start (a loaded machine) sent WATCHDOG=1 ahead of READY=1.
    watchdog = _systemd_watchdog(notifier, engine)
    engine.started.connect(lambda: _ready(notifier, watchdog))
    signals.requested.connect(lambda _name: notifier.stopping())
    monitor.start()
    host.start()
    log.info("ready")
    QTimer.singleShot(0, lambda: None)  # make sure the loop spins once before any signal arrives
    app.exec()
    watchdog.stop()
    monitor.stop()
    ok = host.stop(STOP_TIMEOUT_S)
    if retry is not None:
        retry.stop()
    signals.restore()
    db.dispose()
    log.info("stopped" if ok else "stopped (engine did not finish in time; recovery completes it next start)")
    return 0


def _open_database(settings: Settings, db: Database, demo: bool) -> DatabaseRetry | None:
    """Say what runs with which settings, then make the database ready; a database that does not answer
    yet is tried again in the background (the DatabaseRetry returned). Main thread."""
    log.info("nvr-console %s headless; database %s", __version__, db.display_url)
    # What the operator chose at info; the defaults (some fifty) only with -v.
    for name, value, source in settings.display():
        log.log(logging.DEBUG if source == "default" else logging.INFO, "setting %s = %s (%s)", name, value, source)
    try:
        prepare_database(db)
    except DatabaseUnavailable as exc:
        # Not a reason to stop: this node records what it held last time (its copy beside the recordings)
        # and everything catches up once the database answers. Said once; systemd has nothing to restart.
        log.error("%s; recording the cameras this node held last time and trying again until it answers", exc)
        retry = DatabaseRetry(db)
        retry.start()
        return retry
    if demo:
        added = ensure_demo_cameras(db)
        if added:
            log.info("no cameras configured: added %d demo camera(s) from FFmpeg test sources", len(added))
    return None


def _ready(notifier: SystemdNotifier, watchdog: QTimer) -> None:
    """Tell systemd the service is up, then start feeding its watchdog (when it has one). Engine thread (where
    `started` is emitted): the timer is started on its own, the main, thread."""
    notifier.ready("recording")
    if notifier.watchdog_interval_s:
        QTimer.singleShot(0, watchdog, watchdog.start)


def _systemd_watchdog(notifier: SystemdNotifier, engine: Engine) -> QTimer:
    """The timer that pings systemd's watchdog (WatchdogSec=) while the engine thread answers; idle without
    one; started by `_ready`. Main thread."""
    watchdog = QTimer()
    if notifier.watchdog_interval_s:
        # The same liveness rule as `status --check`: the engine thread answered a ping within two intervals.
        liveness = health.EngineLiveness(engine)
        limit = 2 * notifier.watchdog_interval_s

        def ping() -> None:
            verdict = health.liveness(liveness.age(), limit, "engine thread")
            liveness.probe()
            if verdict.code == health.OK:
                notifier.watchdog()
            else:
                log.error("%s: no watchdog ping, so systemd restarts the service", verdict.line)

        watchdog.timeout.connect(ping)
        watchdog.setInterval(int(notifier.watchdog_interval_s * 1000))
    return watchdog
