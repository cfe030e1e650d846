"""The strip above the camera table while an alert fires that nobody has acknowledged: how many, the worst
severity, the first subject; a click opens the Alerts tab. Hidden otherwise. UI thread."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

from nvr_console.core.monitoring.alert_store import AlertRecord
from nvr_console.core.monitoring.rules import RULES

SEVERITY_COLORS = {"critical": "#c62828", "warning": "#c46a00"}
_RANK = {"critical": 2, "warning": 1}


def worst(alerts: list[AlertRecord]) -> str:
    """The most severe severity among `alerts` ("" for none)."""
    return max((a.severity for a in alerts), key=lambda s: _RANK.get(s, 0), default="")


def unacknowledged(alerts: list[AlertRecord]) -> list[AlertRecord]:
    """Firing alerts nobody has taken on, the most severe first, then the oldest."""
    out = [a for a in alerts if a.state == "firing" and not a.acknowledged]
    return sorted(out, key=lambda a: (-_RANK.get(a.severity, 0), a.fired_at, a.id))


def banner_text(alerts: list[AlertRecord]) -> str:
    first = alerts[0]
    title = RULES[first.rule].title if first.rule in RULES else first.rule
    more = f" (and {len(alerts) - 1} more)" if len(alerts) > 1 else ""
    return (f"{len(alerts)} alert(s) firing, {worst(alerts)}: {first.subject}: {title}{more}. "
            "Click to see and acknowledge them.")


class AlertBanner(QFrame):
    clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alertBanner")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.label = QLabel()
        self.label.setWordWrap(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label)
        self.severity = ""
        self.hide()

    def show_alerts(self, alerts: list[AlertRecord]) -> None:
        """Every alert read (the Alerts tab's `loaded`): shown while one fires unacknowledged."""
        open_ = unacknowledged(alerts)
        if not open_:
            self.severity = ""
            self.hide()
            return
        self.severity = worst(open_)
        color = SEVERITY_COLORS.get(self.severity, "#c46a00")
        self.setStyleSheet(f"#alertBanner {{ background: {color}; border-radius: 3px; }} "
                           "#alertBanner QLabel { color: white; font-weight: bold; }")
        self.label.setText(banner_text(open_))
        self.setToolTip("\n".join(f"{a.severity}: {a.subject}: {a.summary}" for a in open_[:10]))
        self.show()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit()
            return
        super().mouseReleaseEvent(event)
