"""The Live tab: every camera's picture on a wall of tiles (1, 2x2, 3x3 or 4x4, remembered per console), one
camera large on a double-click. Only the tiles on screen decode: a hidden tab or a minimized window stops every
decoder (core.live.tile_decoder; each on a thread of its own, never this one). UI thread."""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QEvent, QObject, QSettings, QTimer, Signal
from PySide6.QtGui import QHideEvent, QImage, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nvr_console.core.catalog import CameraInfo
from nvr_console.core.live.tile_decoder import LiveState, LiveStatus, TileDecoder
from nvr_console.core.status import CameraStatus
from nvr_console.ui.widgets.live_tile import LiveTile

GRIDS = {"1": 1, "2x2": 2, "3x3": 3, "4x4": 4}
GRID_KEY = "live/grid"
DEFAULT_GRID = "2x2"


class LiveWall(QWidget):
    camera_shown = Signal(int)  # one camera large (double-click)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("liveWall")
        self.cameras: list[CameraInfo] = []
        self.statuses: dict[int, CameraStatus] = {}
        self.tiles: dict[int, LiveTile] = {}
        self.decoders: dict[int, TileDecoder] = {}
        self._retired: list[TileDecoder] = []  # stopped, their threads still ending
        self.focused: int | None = None  # the one camera shown large
        self._watched: QWidget | None = None  # the window whose minimizing stops the decoders

        self.grid_choice = QComboBox()
        self.grid_choice.setObjectName("liveGrid")
        self.grid_choice.addItems(list(GRIDS))
        self.grid_choice.setToolTip("Tiles on the wall (kept for this console)")
        saved = str(QSettings().value(GRID_KEY, DEFAULT_GRID))
        self.grid_choice.setCurrentText(saved if saved in GRIDS else DEFAULT_GRID)
        self.page = QSpinBox()
        self.page.setPrefix("page ")
        self.page.setMinimum(1)
        self.back = QPushButton("Back to the wall")
        self.back.setVisible(False)
        self.note = QLabel()
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Layout:"))
        bar.addWidget(self.grid_choice)
        bar.addWidget(self.page)
        bar.addWidget(self.back)
        bar.addWidget(self.note, 1)
        self.grid = QGridLayout()
        self.grid.setSpacing(2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addLayout(self.grid, 1)

        self.grid_choice.currentTextChanged.connect(self._grid_chosen)
        self.page.valueChanged.connect(lambda _p: self._rebuild())
        self.back.clicked.connect(lambda: self.show_camera(None))
        self.second = QTimer(self)  # the tiles' durations ("not recording for 0:42") follow the clock
        self.second.setInterval(1000)
        self.second.timeout.connect(self._tick)
        self._rebuild()

    # --- what the wall shows --------------------------------------------------------------------------------

    @property
    def columns(self) -> int:
        return GRIDS[self.grid_choice.currentText()]

    def set_cameras(self, cameras: list[CameraInfo]) -> None:
        """The catalog's cameras (the main window's listing; again after every edit)."""
        changed = {c.id for c in cameras if (old := self._camera(c.id)) is not None
                   and (old.wall_url, old.rtsp_transport) != (c.wall_url, c.rtsp_transport)}
        for cid in changed:  # a new live URL: that tile reconnects
            self._retire(cid)
        self.cameras = sorted(cameras, key=lambda c: (c.room.casefold(), c.name.casefold(), c.id))
        if self.focused is not None and self._camera(self.focused) is None:
            self.focused = None
        self._rebuild()

    def apply_status(self, st: CameraStatus) -> None:
        """The engine's word on a camera (engine signal, UI thread): the tile's state and red frame."""
        self.statuses[st.camera_id] = st
        tile = self.tiles.get(st.camera_id)
        if tile is not None:
            tile.set_camera_status(st)

    def remove_camera(self, camera_id: int) -> None:
        self.statuses.pop(camera_id, None)
        self.set_cameras([c for c in self.cameras if c.id != camera_id])

    def show_camera(self, camera_id: int | None) -> None:
        """One camera large (None: back to the wall)."""
        self.focused = camera_id if camera_id is None or self._camera(camera_id) is not None else None
        self._rebuild()
        if self.focused is not None:
            self.camera_shown.emit(self.focused)

    def _grid_chosen(self, text: str) -> None:
        s = QSettings()
        s.setValue(GRID_KEY, text)
        s.sync()
        self.page.setValue(1)
        self._rebuild()

    def _camera(self, camera_id: int) -> CameraInfo | None:
        return next((c for c in self.cameras if c.id == camera_id), None)

    def camera(self, camera_id: int) -> CameraInfo | None:
        """The catalog's word on a camera (its live URL), None when it is not listed."""
        return self._camera(camera_id)

    def playing_picture(self, camera_id: int) -> QImage | None:
        """The picture a tile of this wall shows now of the camera, while its stream plays (None otherwise)."""
        tile = self.tiles.get(camera_id)
        if tile is None or camera_id not in self.decoders or tile.live.state is not LiveState.PLAYING:
            return None
        return tile.image

    def shown_cameras(self) -> list[CameraInfo]:
        if self.focused is not None:
            cam = self._camera(self.focused)
            return [cam] if cam else []
        per_page = self.columns ** 2
        pages = max(1, math.ceil(len(self.cameras) / per_page))
        self.page.blockSignals(True)
        self.page.setMaximum(pages)
        self.page.blockSignals(False)
        self.page.setVisible(pages > 1)
        start = (min(self.page.value(), pages) - 1) * per_page
        return self.cameras[start:start + per_page]

    def _rebuild(self) -> None:
        shown = self.shown_cameras()
        ids = [c.id for c in shown]
        for cid in [cid for cid in self.tiles if cid not in ids]:
            self._retire(cid)
            self.tiles.pop(cid).deleteLater()
        while self.grid.count():
            self.grid.takeAt(0)
        columns = 1 if self.focused is not None else self.columns
        for i, cam in enumerate(shown):
            tile = self.tiles.get(cam.id)
            if tile is None:
                tile = LiveTile(cam.id, cam.room, cam.name, self)
                tile.double_clicked.connect(self._tile_double_clicked)
                if cam.id in self.statuses:
                    tile.set_camera_status(self.statuses[cam.id])
                self.tiles[cam.id] = tile
            tile.room, tile.name = cam.room, cam.name
            self.grid.addWidget(tile, i // columns, i % columns)
        for i in range(columns):
            self.grid.setColumnStretch(i, 1)
            self.grid.setRowStretch(i, 1)
        for i in range(columns, 4):
            self.grid.setColumnStretch(i, 0)
            self.grid.setRowStretch(i, 0)
        self.back.setVisible(self.focused is not None)
        self.grid_choice.setEnabled(self.focused is None)
        self.note.setText("" if self.cameras else "No cameras yet: add one with Add camera.")
        self._sync_decoders()
        QTimer.singleShot(0, self._sizes_changed)  # once the layout has placed the tiles

    def _tile_double_clicked(self, camera_id: int) -> None:
        self.show_camera(None if self.focused is not None else camera_id)

    def _tick(self) -> None:
        for tile in self.tiles.values():
            tile.update()
        self._retired = [d for d in self._retired if d.busy()]

    # --- decoding only what is seen ---------------------------------------------------------------------

    def active(self) -> bool:
        """The wall is on screen: its tab is current and its window is neither hidden nor minimized."""
        window = self.window()
        return self.isVisible() and not window.isMinimized()

    def decoding(self) -> bool:
        """A decoder thread is alive (playing, connecting, retrying, or ending after a stop)."""
        return any(d.busy() for d in (*self.decoders.values(), *self._retired))

    def _sync_decoders(self) -> None:
        wanted = {cid for cid in self.tiles} if self.active() else set()
        for cid in [cid for cid in self.decoders if cid not in wanted]:
            self._retire(cid)
        for cid in wanted - set(self.decoders):
            cam = self._camera(cid)
            if cam is None:
                continue
            tile = self.tiles[cid]
            size = tile.picture_size()
            decoder = TileDecoder(cid, cam.wall_url, cam.rtsp_transport, (size.width(), size.height()))
            decoder.frame_ready.connect(self._frame_ready)
            decoder.status_changed.connect(self._live_status)
            self.decoders[cid] = decoder
            decoder.start()
        if wanted:
            self.second.start()
        else:
            self.second.stop()

    def _retire(self, camera_id: int) -> None:
        decoder = self.decoders.pop(camera_id, None)
        if decoder is None:
            return
        decoder.stop()
        decoder.frame_ready.disconnect(self._frame_ready)
        decoder.status_changed.disconnect(self._live_status)
        self._retired.append(decoder)

    def stop_all(self, wait_s: float = 0.0) -> bool:
        """Stop every decoder (quitting); with `wait_s`, wait for their threads. True: none is left."""
        for cid in list(self.decoders):
            self._retire(cid)
        self.second.stop()
        if wait_s:
            deadline = time.monotonic() + wait_s
            for d in self._retired:
                d.wait(max(0.0, deadline - time.monotonic()))
        self._retired = [d for d in self._retired if d.busy()]
        return not self.decoding()

    def _frame_ready(self, camera_id: int) -> None:
        decoder, tile = self.decoders.get(camera_id), self.tiles.get(camera_id)
        frame = decoder.take_frame() if decoder is not None else None
        if frame is not None and tile is not None:
            tile.show_frame(frame)

    def _live_status(self, status: LiveStatus) -> None:
        tile = self.tiles.get(status.camera_id)
        if tile is not None and status.camera_id in self.decoders:
            tile.set_live(status)

    def _sizes_changed(self) -> None:
        for cid, decoder in self.decoders.items():
            tile = self.tiles.get(cid)
            if tile is not None:
                size = tile.picture_size()
                decoder.set_size(size.width(), size.height())

    # --- events -------------------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        window = self.window()
        if window is not self._watched:
            if self._watched is not None:
                self._watched.removeEventFilter(self)
            window.installEventFilter(self)
            self._watched = window
        self._sync_decoders()
        QTimer.singleShot(0, self._sizes_changed)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._sync_decoders()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        QTimer.singleShot(0, self._sizes_changed)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._watched and event.type() in (QEvent.Type.WindowStateChange, QEvent.Type.Hide,
                                                         QEvent.Type.Show):
            QTimer.singleShot(0, self._sync_decoders)  # after the state has changed
        return False
