"""The Logs tab (ui/views/log_view.py): bounded, filtered per camera, engine-wide lines kept in every filter."""

from __future__ import annotations

from nvr_console.core.status import LogLine
from nvr_console.ui.views.log_view import LogModel, LogView


def test_the_oldest_tenth_goes_when_the_log_is_full(qtbot) -> None:
    model = LogModel(max_lines=20)
    for i in range(25):
        model.append(LogLine(float(i), "info", None, f"line {i}"))
    # Full at 20: the oldest 2 (a tenth) go before lines 20, 22 and 24 are added, so 19 remain, the newest.
    texts = [model.index(r, 3).data() for r in range(model.rowCount())]
    assert texts == [f"line {i}" for i in range(6, 25)]


def test_a_camera_filter_keeps_its_lines_and_the_engine_wide_ones(qtbot) -> None:
    view = LogView()
    qtbot.addWidget(view)
    view.add_camera(1, "A-101 / front")
    view.add_camera(2, "A-101 / back")
    view.model.append(LogLine(0.0, "error", 1, "401 Unauthorized"))
    view.model.append(LogLine(1.0, "info", 2, "recording"))
    view.model.append(LogLine(2.0, "warning", None, "disk 91% full"))
    assert view.proxy.rowCount() == 3
    view.show_camera(1)
    shown = [view.proxy.index(r, 3).data() for r in range(view.proxy.rowCount())]
    assert shown == ["401 Unauthorized", "disk 91% full"]
    assert view.proxy.index(0, 2).data() == "A-101 / front"
    assert view.model.last_error(1).text == "401 Unauthorized" and view.model.last_error(2) is None
