"""Start the desktop console. A placeholder window until the console issue lands."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

from nvr_console import __version__
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database


def run_gui(settings: Settings, demo: bool = False) -> int:
    """Open the main window and run the Qt event loop. Main (UI) thread."""
    app = QApplication.instance() or QApplication(["nvr-console"])
    db = Database(settings.database.url)
    prepare_database(db)
    window = QMainWindow()
    window.setWindowTitle(f"nvr-console {__version__}")
    window.setCentralWidget(QLabel(f"nvr-console {__version__}\nDatabase: {db.display_url}"))
    window.resize(900, 600)
    window.show()
    code = app.exec()
    db.dispose()
    return code
