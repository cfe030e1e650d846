"""The lower half of the console: uploads, log, alerts, recordings, lectures, nodes and the live wall, each a view.
UI thread."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QTabWidget

from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.system.node_identity import operator_name
from nvr_console.ui.engine_bridge import EngineCommands
from nvr_console.ui.views.alerts_view import AlertsView
from nvr_console.ui.views.lectures_view import LecturesView
from nvr_console.ui.views.live_wall import LiveWall
from nvr_console.ui.views.log_view import LogView
from nvr_console.ui.views.nodes_view import NodesView
from nvr_console.ui.views.recordings_view import RecordingsView
from nvr_console.ui.views.uploads_view import UploadsView


class ConsoleTabs(QTabWidget):
    def __init__(self, settings: Settings, db: Database, commands: EngineCommands,
                 camera_names: Callable[[int], tuple[str, str] | None]) -> None:
        """`camera_names(id)`: (room, camera) of a camera the table knows, for upload rows."""
        super().__init__()
        self.uploads = UploadsView()
        self.uploads.model.camera_names = camera_names
        self.uploads.retry_requested.connect(commands.retry_upload_requested)
        self.uploads.resume_requested.connect(commands.resume_uploads_requested)
        self.logs = LogView()
        self.alerts = AlertsView(db, operator=lambda: operator_name(settings.node.name))
        # A day's coverage per camera, playback and export; it reads the database (off the UI thread) only once shown.
        self.recordings = RecordingsView(settings, db)
        # Lectures from the rooms' timetables: state, coverage, link; it reads the database only once shown.
        self.lectures = LecturesView(settings, db)
        # The machines sharing the database; its reads also fill the camera table's Node column.
        self.nodes = NodesView(db)
        # Every camera's picture; it decodes only while shown (a control station reads the cameras directly too).
        self.live = LiveWall()
        for view, title in ((self.uploads, "&Uploads"), (self.logs, "&Log"), (self.alerts, "Ale&rts"),
                            (self.recordings, "Re&cordings"), (self.lectures, "Lec&tures"),
                            (self.nodes, "&Nodes"), (self.live, "Li&ve")):
            self.addTab(view, title)
