"""An icon with a count in a coloured disc at its corner: the window's and the tray's icon while alerts fire
unacknowledged. UI thread (needs a QGuiApplication)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

SIDES = (16, 22, 24, 32, 48, 64)


def badged(icon: QIcon, count: int, color: str) -> QIcon:
    """`icon` with `count` in a `color` disc over its lower right (count 0: `icon` itself)."""
    if count <= 0:
        return icon
    out = QIcon()
    text = str(count) if count < 100 else "99+"
    for side in SIDES:
        pm = icon.pixmap(side, side)
        if pm.isNull():
            pm = QPixmap(side, side)
            pm.fill(Qt.GlobalColor.transparent)
        pm = pm.copy()
        painter = QPainter(pm)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        d = side * 0.62
        disc = QRectF(side - d, side - d, d, d)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(color))
        painter.drawEllipse(disc)
        font = QFont()
        font.setBold(True)
        font.setPixelSize(max(6, int(d * (0.7 if len(text) == 1 else 0.5))))
        painter.setFont(font)
        painter.setPen(QColor("white"))
        painter.drawText(disc, Qt.AlignmentFlag.AlignCenter, text)
        painter.end()
        out.addPixmap(pm)
    return out
