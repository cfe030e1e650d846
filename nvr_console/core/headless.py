"""`nvr-console --no-gui`: the engine on a QCoreApplication, stopped cleanly by SIGTERM/SIGINT."""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication

from nvr_console import __version__
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.shutdown_signals import ShutdownSignals

log = logging.getLogger(__name__)


def run_headless(settings: Settings, demo: bool = False) -> int:
    """Run until SIGTERM/SIGINT; returns the process exit code. Main thread."""
    app = QCoreApplication.instance() or QCoreApplication(["nvr-console"])
    db = Database(settings.database.url)
    prepare_database(db)
    log.info("nvr-console %s headless; database %s", __version__, db.display_url)
    for name, value, source in settings.display():
        log.info("setting %s = %s (%s)", name, value, source)

    signals = ShutdownSignals()

    def stop(name: str) -> None:
        log.info("%s received: stopping", name)
        app.quit()

    signals.requested.connect(stop)
    log.info("ready")
    code = app.exec()
    signals.restore()
    db.dispose()
    log.info("stopped")
    return code
