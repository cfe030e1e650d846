"""In-cell painting for the camera table: upload progress bars, Start/Stop buttons and Drive links.

Painted with QStyle options rather than a widget per row (`setIndexWidget` would mean 500 live
widgets). Clicks reach the delegate through `editorEvent`. All methods: UI thread.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QDesktopServices, QFont, QImage, QKeyEvent, QMouseEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionButton,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QWidget,
)

from nvr_console.core.status import UploadState
from nvr_console.ui.models.camera_table_model import Role

_Index = QModelIndex | QPersistentModelIndex


def _style(option: QStyleOptionViewItem) -> QStyle:
    widget: QWidget | None = option.widget  # None for an option no view filled in (the stubs omit it)
    return widget.style() if widget is not None else QApplication.style()


class StateDelegate(QStyledItemDelegate):
    """State text in bold, in the state's colour (the model supplies icon and colour roles)."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: _Index) -> None:
        super().initStyleOption(option, index)
        font = QFont(option.font)
        font.setBold(True)
        option.font = font


class ThumbnailDelegate(QStyledItemDelegate):
    """The camera's latest keyframe, scaled into the cell with its aspect ratio kept."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        image = index.data(Qt.ItemDataRole.DecorationRole)
        if option.state & QStyle.StateFlag.State_Selected:
            _style(option).drawPrimitive(
                QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget
            )
        if not isinstance(image, QImage) or image.isNull():
            return
        rect = option.rect.adjusted(2, 2, -2, -2)
        scaled = image.size().scaled(rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect(0, 0, scaled.width(), scaled.height())
        target.moveCenter(rect.center())
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(target, image)
        painter.restore()


class UploadProgressDelegate(QStyledItemDelegate):
    """A progress bar while a file uploads or verifies; plain text (queued, verified, failed) otherwise."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        up = index.data(Role.UPLOAD)
        if up is None or up.state not in (UploadState.UPLOADING, UploadState.VERIFYING):
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 3, -2, -3)
        bar.minimum, bar.maximum = 0, 1000
        bar.progress = int(1000 * up.bytes_sent / up.total) if up.total else 0
        bar.text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        bar.state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Horizontal
        bar.palette = option.palette
        if option.state & QStyle.StateFlag.State_Selected:
            _style(option).drawPrimitive(
                QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget
            )
        _style(option).drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)


class ActionButtonDelegate(QStyledItemDelegate):
    """A push button painted in the cell; a click emits `clicked(camera_id, action)`."""

    clicked = Signal(int, str)  # camera id, "start" or "stop"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pressed: QPersistentModelIndex | None = None

    @staticmethod
    def button_rect(cell: QRect) -> QRect:
        return cell.adjusted(4, 3, -4, -3)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        style = _style(option)
        if option.state & QStyle.StateFlag.State_Selected:
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget)
        btn = QStyleOptionButton()
        btn.rect = self.button_rect(option.rect)
        btn.text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        btn.state = QStyle.StateFlag.State_Enabled | (
            QStyle.StateFlag.State_Sunken if self._pressed is not None and self._pressed == index
            else QStyle.StateFlag.State_Raised
        )
        if option.state & QStyle.StateFlag.State_HasFocus:
            btn.state |= QStyle.StateFlag.State_HasFocus
        btn.palette = option.palette
        style.drawControl(QStyle.ControlElement.CE_PushButton, btn, painter, option.widget)

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        size = super().sizeHint(option, index)
        size.setWidth(max(size.width() + 24, 64))
        return size

    def editorEvent(
        self, event: QEvent, model: QAbstractItemModel, option: QStyleOptionViewItem, index: _Index
    ) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick):
            if isinstance(event, QMouseEvent) and self.button_rect(option.rect).contains(event.position().toPoint()):
                self._pressed = QPersistentModelIndex(index)
                return True
            return False
        if kind == QEvent.Type.MouseButtonRelease:
            pressed, self._pressed = self._pressed, None
            inside = isinstance(event, QMouseEvent) and self.button_rect(option.rect).contains(
                event.position().toPoint()
            )
            if pressed is not None and pressed == index and inside:
                self.clicked.emit(int(index.data(Role.CAMERA_ID)), str(index.data(Role.ACTION)))
                return True
            return pressed is not None
        pressed_key = event.key() if isinstance(event, QKeyEvent) and kind == QEvent.Type.KeyPress else None
        if pressed_key in (Qt.Key.Key_Space, Qt.Key.Key_Select):
            self.clicked.emit(int(index.data(Role.CAMERA_ID)), str(index.data(Role.ACTION)))
            return True
        return False


class LinkDelegate(QStyledItemDelegate):
    """Link-styled text; a click opens the URL in the custom URL role with QDesktopServices."""

    opened = Signal(QUrl)

    def initStyleOption(self, option: QStyleOptionViewItem, index: _Index) -> None:
        super().initStyleOption(option, index)
        if index.data(Role.URL):
            font = QFont(option.font)
            font.setUnderline(True)
            option.font = font
            option.palette.setColor(option.palette.ColorRole.Text, option.palette.color(option.palette.ColorRole.Link))

    def open(self, index: _Index) -> bool:
        url = index.data(Role.URL)
        if not url:
            return False
        qurl = QUrl(url)
        QDesktopServices.openUrl(qurl)
        self.opened.emit(qurl)
        return True

    def editorEvent(
        self, event: QEvent, model: QAbstractItemModel, option: QStyleOptionViewItem, index: _Index
    ) -> bool:
        if (
            event.type() == QEvent.Type.MouseButtonRelease
            and isinstance(event, QMouseEvent)
            and event.button() == Qt.MouseButton.LeftButton
            and option.rect.contains(event.position().toPoint())
        ):
            return self.open(index)
        return False


def install(view: QAbstractItemView) -> tuple[ActionButtonDelegate, LinkDelegate]:
    """Put the delegates on their columns of a camera table view; returns the ones with signals."""
    from nvr_console.ui.models.camera_table_model import Column

    view.setItemDelegateForColumn(Column.PREVIEW, ThumbnailDelegate(view))
    view.setItemDelegateForColumn(Column.STATE, StateDelegate(view))
    view.setItemDelegateForColumn(Column.UPLOAD, UploadProgressDelegate(view))
    button = ActionButtonDelegate(view)
    view.setItemDelegateForColumn(Column.ACTION, button)
    link = LinkDelegate(view)
    view.setItemDelegateForColumn(Column.DRIVE, link)
    return button, link
