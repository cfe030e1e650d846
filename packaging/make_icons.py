"""Draw the application icon (a video camera with a red record dot) at every size Briefcase wants.

Run from the repository root:  python packaging/make_icons.py
Writes resources/nvr-console-<size>.png. The PNGs are committed, so packaging never needs this
script; it is kept so the icon can be changed or redrawn at new sizes. Each size is painted from
the vector shapes (not scaled from one bitmap), so the small sizes stay sharp.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# QtGui needs a platform plugin even for painting into an image; offscreen needs no display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPainterPath, QPolygonF

SIZES = (16, 32, 64, 128, 256, 512)  # the Linux sizes in our Briefcase template's [paths.icon]
OUT = Path(__file__).resolve().parent.parent / "resources"

BACKGROUND = QColor("#1f2a36")
BODY = QColor("#e8edf2")
LENS = QColor("#1f2a36")
LENS_GLASS = QColor("#4d8fd1")
RECORD = QColor("#e5383b")


def draw(size: int) -> QImage:
    """The icon on a 100x100 design grid, scaled to `size` pixels."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.scale(size / 100.0, size / 100.0)
    p.setPen(Qt.PenStyle.NoPen)

    # Rounded dark tile, so the glyph reads on light and dark panels alike.
    p.setBrush(BACKGROUND)
    p.drawRoundedRect(QRectF(2, 2, 96, 96), 20, 20)

    # Camera body and the viewfinder "horn" on the right: the usual video-camera glyph.
    p.setBrush(BODY)
    p.drawRoundedRect(QRectF(12, 32, 54, 40), 8, 8)
    horn = QPolygonF([QPointF(64, 46), QPointF(88, 34), QPointF(88, 70), QPointF(64, 58)])
    path = QPainterPath()
    path.addPolygon(horn)
    p.drawPath(path)

    # Lens: dark ring with a blue glass, skipped below 32 px where it would only be a smudge.
    if size >= 32:
        p.setBrush(LENS)
        p.drawEllipse(QPointF(39, 52), 13, 13)
        p.setBrush(LENS_GLASS)
        p.drawEllipse(QPointF(39, 52), 7.5, 7.5)

    # Record dot, top left, overlapping the tile edge a little like a status badge.
    p.setBrush(RECORD)
    radius = 12 if size >= 32 else 15  # bigger when tiny, so it is still visible at 16 px
    p.drawEllipse(QPointF(24, 22), radius, radius)
    p.end()
    return image


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    OUT.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        target = OUT / f"nvr-console-{size}.png"
        if not draw(size).save(str(target), "PNG"):
            print(f"make_icons: cannot write {target}", file=sys.stderr)
            return 1
        print(target.relative_to(OUT.parent))
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
