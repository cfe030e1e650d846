"""A question in words and a row of answers, each a button: the shape of the first-run and role questions."""

from __future__ import annotations

from typing import Generic, TypeVar

from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

C = TypeVar("C")


class ChoiceDialog(QDialog, Generic[C]):
    """`answers` left to right, a stretch before the `right` last ones; an answer of None closes the dialog
    unanswered. `choice` holds the answer, `unanswered` until one is given. UI thread."""

    def __init__(self, title: str, html: str, answers: list[tuple[str, C | None]], unanswered: C, right: int,
                 size: tuple[int, int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.choice = unanswered
        self.setWindowTitle(title)
        text = QLabel(html)
        text.setWordWrap(True)
        row = QHBoxLayout()
        self.buttons: list[QPushButton] = []
        for i, (label, answer) in enumerate(answers):
            if i == len(answers) - right:
                row.addStretch(1)
            button = QPushButton(label)
            button.clicked.connect(self.reject if answer is None else (lambda _=False, a=answer: self._choose(a)))
            row.addWidget(button)
            self.buttons.append(button)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addLayout(row)
        self.resize(*size)

    def _choose(self, choice: C) -> None:
        self.choice = choice
        self.accept()
