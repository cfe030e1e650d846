"""A question and its answers as buttons (ui/dialogs/choice_dialog.py)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from nvr_console.ui.dialogs.choice_dialog import ChoiceDialog


def _dialog(qtbot) -> ChoiceDialog[str]:
    d: ChoiceDialog[str] = ChoiceDialog("Q", "<p>Which?</p>", [("&One", "one"), ("&Two", "two"), ("&Later", None)],
                                        "none", right=1, size=(300, 120))
    qtbot.addWidget(d)
    return d


def test_a_click_is_the_answer(qtbot) -> None:
    d = _dialog(qtbot)
    qtbot.mouseClick(d.buttons[1], Qt.MouseButton.LeftButton)
    assert d.choice == "two" and d.result() == QDialog.DialogCode.Accepted


def test_the_button_without_an_answer_closes_it_unanswered(qtbot) -> None:
    d = _dialog(qtbot)
    qtbot.mouseClick(d.buttons[2], Qt.MouseButton.LeftButton)
    assert d.choice == "none" and d.result() == QDialog.DialogCode.Rejected
    # The stretch stands before the last `right` answers: Later sits apart, at the right.
    row = d.layout().itemAt(1).layout()
    assert [row.itemAt(i).widget() is None for i in range(row.count())] == [False, False, True, False]
