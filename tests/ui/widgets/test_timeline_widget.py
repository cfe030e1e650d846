"""The recordings timeline: what hovering a camera's name says."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint

from nvr_console.ui.models.recordings_model import RecordingsModel
from nvr_console.ui.widgets.timeline_widget import LABEL_W, TimelineWidget
from tests.ui.models.test_recordings_model import MSK, coverage


def test_hovering_a_camera_name_says_how_much_of_its_window_it_recorded(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    local = tmp_path / "09-00-00.mp4"
    local.write_bytes(b"x")
    model = RecordingsModel(zone=MSK)
    model.set_rows([coverage(local)])
    timeline = TimelineWidget(model)
    qtbot.addWidget(timeline)
    timeline.resize(900, 200)
    name = QPoint(LABEL_W // 2, timeline.point_of(0, 0).y())
    assert timeline.tooltip_at(name) == "A-101 / front\n88.9 % of the window, 1 gap(s)"
    below = QPoint(LABEL_W // 2, timeline.point_of(3, 0).y())  # no camera on that row
    assert timeline.tooltip_at(below) == ""
