"""The painted coverage timeline: one row per camera, time across, files as bars coloured by status (damaged ones
hatched), gaps tinted by their reason, time outside the recording window shaded, and each lecture of the camera's
room drawn as a bracket over its time, coloured by its state. UI thread.

Painting walks only the rows in the exposed rectangle; a row's rectangles (only the files and gaps in the visible
time span, found by bisect) are laid out once per view and width and drawn with one drawRects per colour, so a
day of 50 cameras x 48 files repaints in a few milliseconds (bench/export.py).

Mouse: hover shows the model's tooltip (inside a bracket the lecture's title and state first), double-click
plays a file, drag selects a time range of a row, right click asks the view for a context menu. Keyboard: Up/Down
pick a camera, Left/Right step through its files and gaps, Enter plays, +/- zoom, Page Up/Down scroll, Home/End
go to the first/last item.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QContextMenuEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import QToolTip, QWidget

from nvr_console.core.coverage import CameraCoverage, FileSpan, Gap
from nvr_console.ui.models.recordings_model import LECTURE_COLORS, Hit, RecordingsModel

LABEL_W = 190
ROW_H = 32  # 24 px rows were cramped: a file's bar, a gap's and a lecture's bracket share the row
HEADER_H = 22
BAR_PAD = 5
GAP_BRUSH = Qt.BrushStyle.Dense3Pattern  # gaps are stippled in their cause's colour: never read as a file
MIN_SPAN_S = 10 * 60.0  # the closest zoom: ten minutes across
ZOOMS = {"day": 24 * 3600.0, "hours": 2 * 3600.0}


def row_now(before: list[tuple[str, str]], now: list[tuple[str, str]], row: int, missing: int = 0) -> int:
    """Where the camera (room, camera) of `row` in the rows `before` is in the rows `now`; `missing` if gone."""
    return now.index(before[row]) if 0 <= row < len(before) and before[row] in now else missing


def same_item(rows: list[CameraCoverage], row: int, item: FileSpan | Gap) -> FileSpan | Gap | None:
    """The file or gap of `rows[row]` that starts where `item` did (a file still being recorded has grown)."""
    if not 0 <= row < len(rows):
        return None
    pool: Sequence[FileSpan | Gap] = rows[row].files if isinstance(item, FileSpan) else rows[row].gaps
    return next((x for x in pool if x.start == item.start), None)


class TimelineWidget(QWidget):
    play_requested = Signal(object)  # FileSpan
    range_selected = Signal(int, float, float)  # row, start, end (epoch seconds)
    context_requested = Signal(object, QPoint)  # Hit | None, global position
    current_changed = Signal(object)  # FileSpan | Gap | None
    view_changed = Signal()

    def __init__(self, model: RecordingsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumWidth(LABEL_W + 300)
        self.view_start = 0.0
        self.view_end = 1.0
        self.current_row = 0
        self.current_item: FileSpan | Gap | None = None
        self.selection: tuple[int, float, float] | None = None
        self._drag_from: tuple[int, float] | None = None
        self._row_keys: list[tuple[str, str]] = []  # (room, camera) of each row shown
        self._layout_key: tuple[object, ...] | None = None
        self._layouts: dict[int, tuple[list[tuple[QColor | QBrush, list[QRectF]]], list[QRectF]]] = {}
        model.loaded.connect(self._reset)

    # --- geometry ------------------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(1000, HEADER_H + max(1, len(self.model.rows())) * ROW_H + 2)

    def minimumSizeHint(self) -> QSize:
        return QSize(LABEL_W + 300, HEADER_H + ROW_H)

    def _bars_width(self) -> int:
        return max(1, self.width() - LABEL_W - 8)

    def x_of(self, epoch: float) -> float:
        span = max(1e-6, self.view_end - self.view_start)
        return LABEL_W + (epoch - self.view_start) / span * self._bars_width()

    def time_at(self, x: float) -> float:
        span = self.view_end - self.view_start
        return self.view_start + (x - LABEL_W) / self._bars_width() * span

    def row_at(self, y: float) -> int:
        return int((y - HEADER_H) // ROW_H) if y >= HEADER_H else -1

    def row_rect(self, row: int) -> QRect:
        return QRect(0, HEADER_H + row * ROW_H, self.width(), ROW_H)

    def point_of(self, row: int, epoch: float) -> QPoint:
        """Where a moment of a row is on screen (tests and keyboard use it)."""
        return QPoint(round(self.x_of(epoch)), HEADER_H + row * ROW_H + ROW_H // 2)

    def hit_at(self, pos: QPoint) -> Hit | None:
        if pos.x() < LABEL_W:
            return None
        return self.model.hit(self.row_at(pos.y()), self.time_at(pos.x()))

    def tooltip_at(self, pos: QPoint) -> str:
        """What hovering says: over a camera's name, how much of its window it recorded; else the file or gap."""
        if pos.x() < LABEL_W:
            row = self.row_at(pos.y())
            if 0 <= row < len(self.model.rows()):
                return f"{self.model.row_label(row)}\n{self.model.row_summary(row)}"
            return ""
        return self.model.tooltip(self.hit_at(pos))

    # --- zoom and scroll -------------------------------------------------------------------------------------

    def _reset(self) -> None:
        """New rows: a new day (or filter) shows the whole day; a refresh of the same day (the view following
        the clock, ⟳) keeps the zoom, the scroll, the selected range and the current row."""
        span = self.model.day_span()
        self._layout_key = None
        before, self._row_keys = self._row_keys, [(c.room, c.camera) for c in self.model.rows()]
        if self.model.same_view and span is not None and span[0] <= self.view_start < self.view_end <= span[1]:
            # Rows follow their camera (a camera added meanwhile may sort before it).
            self.current_row = row_now(before, self._row_keys, self.current_row)
            if self.selection is not None:
                row, a, b = self.selection
                moved = row_now(before, self._row_keys, row, -1)
                self.selection = (moved, a, b) if moved >= 0 else None
            if self.current_item is not None:
                self.current_item = same_item(self.model.rows(), self.current_row, self.current_item)
            self.updateGeometry()
            self.update()
            return
        if span is not None:
            self.view_start, self.view_end = span
        self.current_row = min(self.current_row, max(0, len(self.model.rows()) - 1))
        self.current_item = None
        self.selection = None
        self.updateGeometry()
        self.update()
        self.view_changed.emit()

    def zoom_to(self, seconds: float, center: float | None = None) -> None:
        day = self.model.day_span()
        if day is None:
            return
        seconds = min(day[1] - day[0], max(MIN_SPAN_S, seconds))
        if center is None:
            center = (self.view_start + self.view_end) / 2
        start = min(max(day[0], center - seconds / 2), day[1] - seconds)
        self.view_start, self.view_end = start, start + seconds
        self.update()
        self.view_changed.emit()

    def zoom(self, factor: float, center: float | None = None) -> None:
        self.zoom_to((self.view_end - self.view_start) * factor, center)

    def scroll_by(self, fraction: float) -> None:
        span = self.view_end - self.view_start
        self.zoom_to(span, (self.view_start + self.view_end) / 2 + fraction * span)

    # --- painting --------------------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        pal = self.palette()
        p.fillRect(event.rect(), pal.color(QPalette.ColorRole.Base))
        rows = self.model.rows()
        self._paint_header(p, pal)
        if not rows:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            p.drawText(self.rect().adjusted(0, HEADER_H, 0, 0), Qt.AlignmentFlag.AlignCenter,
                       self.model.error or ("Loading…" if self.model.day is not None else ""))
            return
        first = max(0, self.row_at(event.rect().top()))
        last = min(len(rows) - 1, self.row_at(event.rect().bottom()))
        for row in range(first, last + 1):
            self._paint_row(p, pal, row)
        if self.selection is not None:
            row, a, b = self.selection
            r = self.row_rect(row)
            x0, x1 = self.x_of(min(a, b)), self.x_of(max(a, b))
            p.fillRect(QRectF(x0, r.top(), max(1.0, x1 - x0), r.height()), QColor(30, 136, 229, 70))
            p.setPen(QPen(QColor("#1565c0"), 1))
            p.drawRect(QRectF(x0, r.top(), max(1.0, x1 - x0), r.height() - 1))

    def _paint_header(self, p: QPainter, pal: QPalette) -> None:
        p.setPen(pal.color(QPalette.ColorRole.Text))
        span = self.view_end - self.view_start
        step = next((s for s in (300, 900, 1800, 3600, 7200, 10800) if span / s <= self._bars_width() / 70), 21600)
        zone = self.model.zone
        first = math.ceil(self.view_start / step) * step
        # Ticks on local whole steps (the offset keeps hours on the hour in zones with half-hour offsets).
        offset = datetime.fromtimestamp(self.view_start, zone).utcoffset() if zone else None
        shift = offset.total_seconds() if offset else 0.0
        t = first - (shift % step)
        grid = pal.color(QPalette.ColorRole.Mid)
        while t <= self.view_end:
            if t >= self.view_start:
                x = round(self.x_of(t))
                p.setPen(grid)
                p.drawLine(x, HEADER_H - 4, x, self.height())
                p.setPen(pal.color(QPalette.ColorRole.Text))
                label = datetime.fromtimestamp(t, zone).strftime("%H:%M") if zone else \
                    datetime.fromtimestamp(t).strftime("%H:%M")
                p.drawText(QRect(x - 30, 2, 60, HEADER_H - 6), Qt.AlignmentFlag.AlignCenter, label)
            t += step

    def _paint_row(self, p: QPainter, pal: QPalette, row: int) -> None:
        r = self.row_rect(row)
        if row % 2:
            p.fillRect(r, pal.color(QPalette.ColorRole.AlternateBase))
        focus = row == self.current_row
        lit = focus and self.hasFocus()
        if focus:
            p.fillRect(QRect(0, r.top(), LABEL_W - 4, r.height()), pal.color(QPalette.ColorRole.Highlight)
                       if lit else pal.color(QPalette.ColorRole.Midlight))
        p.setPen(pal.color(QPalette.ColorRole.HighlightedText if lit else QPalette.ColorRole.Text))
        p.drawText(QRect(6, r.top(), LABEL_W - 12, r.height()), Qt.AlignmentFlag.AlignVCenter,
                   self.fontMetrics().elidedText(self.model.row_label(row), Qt.TextElideMode.ElideRight, LABEL_W - 12))
        p.setPen(Qt.PenStyle.NoPen)
        layers, hatched = self._layout(row, pal)
        for color, rects in layers:
            p.setBrush(color)
            p.drawRects(rects)
        if hatched:
            p.setBrush(QBrush(QColor("#000000"), Qt.BrushStyle.BDiagPattern))
            p.drawRects(hatched)
        p.setBrush(Qt.BrushStyle.NoBrush)
        self._paint_lectures(p, row, r)
        item = self.current_item
        if focus and item is not None:
            x0, x1 = self.x_of(item.start.timestamp()), self.x_of(item.end.timestamp())
            p.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 2))
            p.drawRect(QRectF(x0, r.top() + 1, max(2.0, x1 - x0), r.height() - 2))

    def lecture_brackets(self, row: int) -> list[tuple[QRectF, QColor]]:
        """The brackets of a row's lectures in the current view: (from the start's x to the end's, the row's
        height; colour). Painting and tests use it."""
        r = self.row_rect(row)
        out = []
        for x in self.model.lectures(row):
            a, b = x.start.timestamp(), x.end.timestamp()
            if b <= self.view_start or a >= self.view_end:
                continue
            x0, x1 = self.x_of(a), self.x_of(b)
            out.append((QRectF(x0, r.top() + 1, max(2.0, x1 - x0), r.height() - 2),
                        LECTURE_COLORS.get(x.state, QColor("#455a64"))))
        return out

    def _paint_lectures(self, p: QPainter, row: int, r: QRect) -> None:
        """[ over the lecture's start, ] over its end, a line along the top joining them (a cancelled or
        skipped lecture dashed)."""
        p.save()
        p.setClipRect(QRect(LABEL_W, r.top(), self.width() - LABEL_W, r.height()))
        lectures = [x for x in self.model.lectures(row)
                    if x.end.timestamp() > self.view_start and x.start.timestamp() < self.view_end]
        for (rect, color), x in zip(self.lecture_brackets(row), lectures, strict=True):
            _draw_bracket(p, rect, color, dashed=x.state in ("cancelled", "skipped"))
        p.restore()

    def _layout(self, row: int, pal: QPalette) -> tuple[list[tuple[QColor | QBrush, list[QRectF]]], list[QRectF]]:
        """A row's rectangles grouped by colour (shade, gaps, files) and the damaged ones, for the current view:
        computed once per view and width, so a repaint is one drawRects call per colour."""
        key = (self.view_start, self.view_end, self.width(), id(self.model.rows()))
        if self._layout_key != key:
            self._layout_key = key
            self._layouts = {}
        cached = self._layouts.get(row)
        if cached is not None:
            return cached
        c = self.model.rows()[row]
        top = HEADER_H + row * ROW_H + BAR_PAD
        height = ROW_H - 2 * BAR_PAD
        # Keyed by the colour object: the status and gap colours are the model's constants.
        groups: dict[tuple[int, bool], tuple[QColor | QBrush, list[QRectF]]] = {}
        v0, v1, left, right = self.view_start, self.view_end, float(LABEL_W), float(self.width())
        scale = self._bars_width() / max(1e-6, v1 - v0)

        def add(color: QColor, a: float, b: float, y: int, h: int, gap: bool = False) -> QRectF | None:
            if b <= v0 or a >= v1:
                return None
            x0 = max(left, LABEL_W + (a - v0) * scale)
            rect = QRectF(x0, y, max(1.0, min(LABEL_W + (b - v0) * scale, right) - x0), h)
            entry = groups.get((id(color), gap))
            if entry is None:
                groups[(id(color), gap)] = entry = (QBrush(color.darker(140), GAP_BRUSH) if gap else color, [])
            entry[1].append(rect)
            return rect

        # Outside the recording window (up to what is known of the day): shaded, so gaps are told from time
        # nobody asked for.
        shade = QColor(pal.color(QPalette.ColorRole.Mid))
        shade.setAlpha(60)
        known = min(self.view_end, c.until.timestamp()) if c.until is not None else self.view_end
        edge = self.view_start
        for a, b in [*((w[0].timestamp(), w[1].timestamp()) for w in c.window), (known, known)]:
            if a > edge:
                add(shade, edge, min(a, known), top, height)
            edge = max(edge, b)
        inset = height // 4
        gap_ends = self.model.gap_ends(row)
        for i in self._visible(row, gaps=True):
            g = c.gaps[i]
            add(self.model.color(g), self.model._gap_starts[row][i], gap_ends[i], top + inset, height - 2 * inset,
                gap=True)
        hatched = []
        ends = self.model.file_ends(row)
        for i in self._visible(row, gaps=False):
            f = c.files[i]
            rect = add(self.model.color(f), self.model._starts[row][i], ends[i], top, height)
            if f.damaged and rect is not None:
                hatched.append(rect)
        result = (list(groups.values()), hatched)
        self._layouts[row] = result
        return result

    def _visible(self, row: int, gaps: bool) -> range:
        """Indexes of a row's files (or gaps) that may show in the view (the drawing clips the rest)."""
        starts = self.model._gap_starts[row] if gaps else self.model._starts[row]
        # Files may overlap (a reconnect mid-slot), so look a few back.
        first = max(0, bisect.bisect_left(starts, self.view_start) - 4)
        return range(first, bisect.bisect_right(starts, self.view_end))

    # --- mouse ---------------------------------------------------------------------------------------------

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if self._drag_from is not None:
            row, a = self._drag_from
            self.selection = (row, a, self.time_at(pos.x()))
            self.update()
            return
        text = self.tooltip_at(pos)
        if text:
            QToolTip.showText(event.globalPosition().toPoint(), text, self)
        else:
            QToolTip.hideText()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        row = self.row_at(pos.y())
        if event.button() == Qt.MouseButton.LeftButton and 0 <= row < len(self.model.rows()):
            self.current_row = row
            hit = self.hit_at(pos)
            self._set_current(hit.file or hit.gap if hit else None)
            if pos.x() >= LABEL_W:
                self._drag_from = (row, self.time_at(pos.x()))
                self.selection = None
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is None:
            return
        row, a = self._drag_from
        self._drag_from = None
        b = self.time_at(event.position().toPoint().x())
        if abs(self.x_of(b) - self.x_of(a)) >= 4:
            self.select_range(row, a, b)
        else:
            self.selection = None
            self.update()

    def select_range(self, row: int, a: float, b: float) -> None:
        a, b = sorted((a, b))
        self.selection = (row, a, b)
        self.update()
        self.range_selected.emit(row, a, b)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        hit = self.hit_at(event.position().toPoint())
        if hit is not None and hit.file is not None:
            self.play_requested.emit(hit.file)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        self.context_requested.emit(self.hit_at(event.pos()), event.globalPos())

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(0.8 ** steps, self.time_at(event.position().x()))
            event.accept()
        elif event.angleDelta().x():
            self.scroll_by(-event.angleDelta().x() / 1200)
            event.accept()
        else:
            event.ignore()  # the scroll area scrolls the rows

    # --- keyboard ----------------------------------------------------------------------------------------------

    def _set_current(self, item: FileSpan | Gap | None) -> None:
        self.current_item = item
        self.current_changed.emit(item)
        if item is not None and not (self.view_start <= item.start.timestamp() <= self.view_end):
            self.zoom_to(self.view_end - self.view_start, item.start.timestamp())
        self.update()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        rows = self.model.rows()
        key = event.key()
        if not rows:
            super().keyPressEvent(event)
            return
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.current_row = max(0, min(len(rows) - 1, self.current_row + (1 if key == Qt.Key.Key_Down else -1)))
            at = self.current_item.start.timestamp() if self.current_item else self.view_start
            hit = self.model.hit(self.current_row, at)
            self._set_current(hit.file or hit.gap if hit else None)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Home, Qt.Key.Key_End):
            items = self.model.items(self.current_row)
            if not items:
                return
            if key == Qt.Key.Key_Home:
                i = 0
            elif key == Qt.Key.Key_End:
                i = len(items) - 1
            elif self.current_item not in items:
                i = 0 if key == Qt.Key.Key_Right else len(items) - 1
            else:
                i = items.index(self.current_item) + (1 if key == Qt.Key.Key_Right else -1)
            self._set_current(items[max(0, min(len(items) - 1, i))])
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if isinstance(self.current_item, FileSpan):
                self.play_requested.emit(self.current_item)
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(0.5, self.current_item.start.timestamp() if self.current_item else None)
        elif key == Qt.Key.Key_Minus:
            self.zoom(2.0)
        elif key in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
            self.scroll_by(-0.8 if key == Qt.Key.Key_PageUp else 0.8)
        elif key == Qt.Key.Key_Menu:
            item = self.current_item
            hit = Hit(self.current_row, file=item) if isinstance(item, FileSpan) else \
                Hit(self.current_row, gap=item) if isinstance(item, Gap) else None
            self.context_requested.emit(hit, self.mapToGlobal(self.point_of(self.current_row, self.view_start)))
        else:
            super().keyPressEvent(event)
            return
        event.accept()


def _draw_bracket(p: QPainter, rect: QRectF, color: QColor, dashed: bool) -> None:
    """A lecture's bracket: [ at its start, ] at its end, a line along the top joining them."""
    pen = QPen(color, 2)
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    p.setPen(pen)
    top, bottom, x0, x1 = rect.top(), rect.bottom(), rect.left(), rect.right()
    foot = min(5.0, rect.width() / 3)
    p.drawLine(QPointF(x0, top), QPointF(x1, top))
    p.drawLine(QPointF(x0, top), QPointF(x0, bottom))
    p.drawLine(QPointF(x1, top), QPointF(x1, bottom))
    p.drawLine(QPointF(x0, bottom), QPointF(x0 + foot, bottom))
    p.drawLine(QPointF(x1, bottom), QPointF(x1 - foot, bottom))
