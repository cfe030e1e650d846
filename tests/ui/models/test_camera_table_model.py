"""The camera table model without a view: rows, roles, and batching of updates into ranged dataChanged."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from nvr_console.core.status import CameraState, CameraStatus, RecordingEvent, UploadProgress, UploadState
from nvr_console.ui.models.camera_table_model import CameraTableModel, Column, Role


def status(cid: int, state: CameraState = CameraState.RECORDING, **kw: object) -> CameraStatus:
    return CameraStatus(cid, "A-101", f"cam{cid}", state, since=time.time(), **kw)  # type: ignore[arg-type]


def test_rows_are_added_once_per_camera_and_removed(qtbot) -> None:
    m = CameraTableModel()
    m.seed([(1, "A-101", "front"), (2, "A-101", "back")])
    m.apply_status(status(3))
    m.apply_status(status(1))
    assert m.rowCount() == 3 and m.columnCount() == len(Column)
    assert m.row_of(1) == 0 and m.row_of(3) == 2
    m.remove_camera(2)
    assert m.camera_ids() == [1, 3] and m.row_of(3) == 1


def test_roles_say_state_action_and_details(qtbot) -> None:
    m = CameraTableModel()
    m.apply_status(status(1, file_size=5_000_000, current_file="/r/a.mkv", file_started=time.time() - 65,
                          bitrate_kbps=2100))
    m.apply_status(status(2, CameraState.FAILED, last_error="Wrong password for rtsp://admin:***@cam"))
    m.apply_status(status(3, CameraState.STOPPED))
    m.apply_status(status(4, CameraState.RECONNECTING, next_retry_in=8))
    m.flush()
    idx = lambda r, c: m.index(r, c)  # noqa: E731
    assert idx(0, Column.STATE).data() == "recording"
    assert "1:0" in idx(0, Column.FILE).data() and "4.8 MiB" in idx(0, Column.FILE).data()  # IEC, as everywhere
    assert idx(1, Column.STATE).data() == "down 0s: wrong password for rtsp://admin:***@cam"
    assert idx(1, Column.STATE).data(Qt.ItemDataRole.ToolTipRole).startswith("Wrong password")
    assert idx(2, Column.ACTION).data() == "Start" and idx(2, Column.ACTION).data(Role.ACTION) == "start"
    assert idx(0, Column.ACTION).data(Role.ACTION) == "stop"
    assert idx(3, Column.STATE).data() in ("down 0s: reconnecting", "down 1s: reconnecting")
    assert idx(0, Column.STATE).data(Role.STATE) == CameraState.RECORDING.value  # through QVariant: text
    assert isinstance(idx(1, Column.STATE).data(Qt.ItemDataRole.ForegroundRole), QColor)
    assert not idx(1, Column.STATE).data(Qt.ItemDataRole.DecorationRole).isNull()


def test_upload_progress_and_folder_link(qtbot) -> None:
    m = CameraTableModel()
    m.apply_status(status(1))
    m.apply_recording(RecordingEvent(10, 1, "A-101", "cam1", "/r/x.mp4", "ready", 0.0, 1800, 1000))
    assert m.index(0, Column.UPLOAD).data() == "queued"
    m.apply_upload(UploadProgress(10, 1, UploadState.UPLOADING, 250, 1000, rate_bps=2e6, eta_s=30))
    assert m.index(0, Column.UPLOAD).data().startswith("25%")
    link = "https://drive.google.com/drive/folders/FOLDER1234567"
    m.apply_upload(UploadProgress(10, 1, UploadState.UPLOADED, 1000, 1000, folder_link=link))
    assert m.index(0, Column.UPLOAD).data() == "verified"
    assert m.index(0, Column.DRIVE).data(Role.URL) == link
    m.apply_upload(UploadProgress(9, 1, UploadState.FAILED, 0, 1000, error="late"))  # older file: ignored
    assert m.index(0, Column.UPLOAD).data() == "verified"


def test_updates_are_batched_into_ranged_data_changed(qtbot) -> None:
    m = CameraTableModel(batch_interval_ms=100)
    m.seed([(i, "R", f"c{i}") for i in range(10)])
    changes: list[tuple[int, int, int, int]] = []
    m.dataChanged.connect(lambda a, b, _roles=None: changes.append((a.row(), b.row(), a.column(), b.column())))
    for cid in (0, 1, 2, 5, 7, 8, 2, 1):
        m.apply_status(status(cid))
    assert changes == []  # nothing until the batch timer fires
    qtbot.waitUntil(lambda: len(changes) == 3, timeout=2000)
    last = len(Column) - 1
    assert changes == [(0, 2, 0, last), (5, 5, 0, last), (7, 8, 0, last)]
    qtbot.wait(250)
    assert len(changes) == 3  # the timer is single-shot: no repaint without news


def names(m: CameraTableModel) -> list[str]:
    return [m.index(row, Column.CAMERA).data() for row in range(m.rowCount())]


def test_the_model_sorts_its_rows_and_moves_a_row_only_when_its_key_changes(qtbot) -> None:
    m = CameraTableModel(batch_interval_ms=10_000)
    m.apply_status(status(1, CameraState.RECORDING, file_size=300))
    m.apply_status(status(2, CameraState.FAILED, file_size=100))
    m.apply_status(status(3, CameraState.STOPPED, file_size=200))
    m.flush()
    assert names(m) == ["cam1", "cam2", "cam3"]  # no sort column: the order they arrived in
    m.sort(Column.STATE)
    assert names(m) == ["cam2", "cam1", "cam3"]  # failed < recording < stopped
    assert [m.row_of(c) for c in (1, 2, 3)] == [1, 0, 2]  # the id -> row map follows
    m.sort(Column.FILE, Qt.SortOrder.DescendingOrder)
    assert names(m) == ["cam1", "cam3", "cam2"]  # by bytes, not by the text "300 B"

    layouts: list[int] = []
    changes: list[tuple[int, int]] = []
    m.layoutChanged.connect(lambda *_: layouts.append(1))
    m.dataChanged.connect(lambda a, b, _roles=None: changes.append((a.row(), b.row())))
    m.apply_status(status(2, CameraState.FAILED, file_size=100, last_error="401"))  # same size: stays put
    assert m.flush() == [(2, 2)] and layouts == []
    m.apply_status(status(2, CameraState.RECORDING, file_size=900))  # now the largest file: moves to the top
    assert names(m) == ["cam1", "cam3", "cam2"]  # nothing moves before the batch is flushed
    assert m.flush() == [(0, 0)] and layouts == [1]
    assert names(m) == ["cam2", "cam1", "cam3"] and changes[-1] == (0, 0)  # repainted where it now is


def test_a_resort_keeps_the_selection_on_its_camera(qtbot) -> None:
    from PySide6.QtCore import QPersistentModelIndex

    m = CameraTableModel(batch_interval_ms=10_000)
    for cid in (1, 2, 3):
        m.apply_status(status(cid, file_size=cid * 100))
    m.sort(Column.FILE)
    kept = QPersistentModelIndex(m.index(0, Column.STATE))  # cam1, as a view's current index would be
    m.apply_status(status(1, file_size=1000))
    m.flush()
    assert kept.row() == 2 and kept.column() == Column.STATE and kept.data(Role.CAMERA_ID) == 1


def test_new_cameras_take_their_sorted_place(qtbot) -> None:
    m = CameraTableModel()
    m.sort(Column.CAMERA, Qt.SortOrder.AscendingOrder)
    m.seed([(5, "B", "delta"), (6, "A", "Alpha")])
    m.apply_status(status(7))  # "cam7"
    assert names(m) == ["Alpha", "cam7", "delta"]  # case-insensitive
    m.sort(-1)
    m.apply_status(status(8))
    assert names(m)[-1] == "cam8"  # no sort column: appended


def test_node_cells_change_only_where_the_holder_changed(qtbot) -> None:
    m = CameraTableModel(batch_interval_ms=10_000)
    m.seed([(1, "R", "a"), (2, "R", "b"), (3, "R", "c")])
    m.flush()
    m.apply_nodes({1: "srv1", 2: "offline node srv2"})
    assert m.flush() == [(0, 1)]  # the third row has no holder: unchanged, not repainted
    assert [m.index(r, Column.NODE).data() for r in range(3)] == ["srv1", "offline node srv2", ""]
    assert "lease runs out" in m.index(1, Column.NODE).data(Qt.ItemDataRole.ToolTipRole)
    assert m.index(0, Column.NODE).data(Qt.ItemDataRole.ToolTipRole) is None
    m.apply_nodes({1: "srv1", 2: "srv1"})
    assert m.flush() == [(1, 1)]
    m.sort(Column.NODE, Qt.SortOrder.DescendingOrder)
    assert names(m) == ["b", "a", "c"]  # by node name; nobody ("") last when descending
    m.apply_nodes({4: "srv2"})  # before the camera's row exists (the overview came first)
    m.apply_status(status(4))
    assert m.index(m.row_of(4), Column.NODE).data() == "srv2"


def test_stream_column_shows_what_the_engine_says_the_camera_sends(qtbot) -> None:
    m = CameraTableModel()
    m.apply_status(status(1, stream="H.265 1920x1080 · AAC"))
    m.apply_status(status(2, stream="H.264 1280x720 · G.711 A-law"))
    m.apply_status(status(3, CameraState.STARTING))
    m.flush()
    assert m.headerData(Column.STREAM, Qt.Orientation.Horizontal) == "Stream"
    assert [m.index(r, Column.STREAM).data() for r in range(3)] == ["H.265 1920x1080 · AAC",
                                                                    "H.264 1280x720 · G.711 A-law", ""]
    m.sort(Column.STREAM)
    assert m.camera_ids() == [3, 2, 1]


def test_a_camera_that_should_record_and_does_not_is_red_with_how_long_and_why(qtbot, monkeypatch) -> None:
    from nvr_console.ui.models import camera_table_model

    clock = [1_000_000.0]
    monkeypatch.setattr(camera_table_model, "now", lambda: clock[0])
    m = CameraTableModel(batch_interval_ms=10)
    down_since = clock[0] - 151  # 2 min 31 s ago
    m.apply_status(CameraStatus(1, "A-101", "front", CameraState.RECONNECTING, since=clock[0], next_retry_in=0,
                                down_since=down_since,
                                last_error="Connection refused: nothing listens on that host and port. Check the "
                                "port in the URL and that the camera's RTSP service is on."))
    m.apply_status(CameraStatus(2, "A-101", "back", CameraState.RECORDING, since=clock[0]))
    m.flush()
    cell = m.index(0, Column.STATE)
    assert cell.data() == "down 2m31s: connection refused"  # not "reconnecting in 0 s"
    assert cell.data(Qt.ItemDataRole.ForegroundRole) == QColor(camera_table_model.DOWN_COLOR)
    assert cell.data(Qt.ItemDataRole.ToolTipRole).startswith("Connection refused: nothing listens")
    # The whole row is tinted; a recording row is not.
    assert all(isinstance(m.index(0, c).data(Qt.ItemDataRole.BackgroundRole), QColor) for c in Column)
    assert m.index(1, Column.STATE).data(Qt.ItemDataRole.BackgroundRole) is None
    # Between two attempts the recorder says nothing new: the table's own clock moves the text every second.
    changed: list[int] = []
    m.dataChanged.connect(lambda a, _b, _r=None: changed.append(a.row()))
    clock[0] += 1
    m.tick()
    qtbot.waitUntil(lambda: 0 in changed, timeout=2000)
    assert cell.data() == "down 2m32s: connection refused"
    # The retry (starting again) keeps the outage's clock and its reason.
    m.apply_status(CameraStatus(1, "A-101", "front", CameraState.STARTING, since=clock[0], down_since=down_since,
                                last_error="Connection refused: nothing listens."))
    m.flush()
    assert cell.data() == "down 2m32s: connection refused"
    clock[0] += 3600
    m.tick()
    m.flush()
    assert cell.data() == "down 1h02m: connection refused"
    # Recording again: the state's own words and colour, no tint.
    m.apply_status(CameraStatus(1, "A-101", "front", CameraState.RECORDING, since=clock[0]))
    m.flush()
    assert cell.data() == "recording" and cell.data(Qt.ItemDataRole.BackgroundRole) is None


def test_a_first_start_is_not_down_and_a_stopped_camera_is_not_down(qtbot) -> None:
    m = CameraTableModel()
    m.apply_status(status(1, CameraState.STARTING))
    m.apply_status(status(2, CameraState.STOPPED))
    m.flush()
    assert [m.index(r, Column.STATE).data() for r in range(2)] == ["starting", "stopped"]
    assert m.index(0, Column.STATE).data(Qt.ItemDataRole.BackgroundRole) is None
