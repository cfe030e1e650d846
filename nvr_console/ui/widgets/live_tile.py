"""One tile of the live wall: the camera's picture with its name, room and state drawn over it; a red frame and
the reason when the camera should record and does not; the last picture greyed, with its time, while the tile's
own stream is lost. UI thread."""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from nvr_console.core.live.tile_decoder import LiveFrame, LiveState, LiveStatus
from nvr_console.core.status import CameraState, CameraStatus
from nvr_console.ui.formatting import clock, human_duration, now
from nvr_console.ui.models.camera_table_model import STATE_COLORS, state_text

# The camera should be recording and is not: the operator must see it at once.
NOT_RECORDING = frozenset({CameraState.FAILED, CameraState.RECONNECTING, CameraState.STALLED, CameraState.OFFLINE})
ALARM_RED = QColor("#e53935")
FRAME_WIDTH = 4


def alarm_reason(st: CameraStatus | None, at: float) -> str:
    """Why the tile is red ("" when it is not): what is wrong, for how long, and the recorder's reason."""
    if st is None or not st.enabled or st.state not in NOT_RECORDING:
        return ""
    what = "offline" if st.state is CameraState.OFFLINE else "not recording"
    reason = st.last_error or state_text(st, at)
    return f"{what} for {human_duration(at - st.since)}: {reason}"


class LiveTile(QWidget):
    double_clicked = Signal(int)  # camera id

    def __init__(self, camera_id: int, room: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.camera_id, self.room, self.name = camera_id, room, name
        self.setObjectName(f"liveTile{camera_id}")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 90)
        # Every pixel is painted here (picture, bars, texts): Qt need not paint the wall underneath 25 times a second.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.image: QImage | None = None
        self._pixels: memoryview | None = None  # the frame's pixels the QImage reads (QImage does not copy them)
        self._grey: QImage | None = None
        self.live = LiveStatus(camera_id, LiveState.STOPPED)
        self.camera_status: CameraStatus | None = None
        self.frames_shown = 0
        # The texts over the picture change once a second at most; the picture 25 times: they are drawn once
        # into this overlay and blitted with each frame.
        self._overlay: QImage | None = None
        self._overlay_key: tuple[object, ...] = ()
        self._overlay_rects: list[QRect] = []

    def sizeHint(self) -> QSize:
        return QSize(320, 180)

    # --- what the tile shows -----------------------------------------------------------------------------

    def show_frame(self, frame: LiveFrame) -> None:
        self._pixels = frame.rgb
        self.image = QImage(self._pixels, frame.width, frame.height, frame.stride, QImage.Format.Format_RGB32)
        self._grey = None
        self.frames_shown += 1
        self.update()

    def set_live(self, status: LiveStatus) -> None:
        self.live = status
        self.update()

    def set_camera_status(self, status: CameraStatus) -> None:
        self.camera_status = status
        self.update()

    @property
    def alarm(self) -> str:
        return alarm_reason(self.camera_status, now())

    def stalled(self) -> bool:
        return self.live.state is LiveState.STALLED

    def picture_size(self) -> QSize:
        """The size decoded frames should have: the tile's, in device pixels."""
        ratio = self.devicePixelRatioF()
        return QSize(int(self.width() * ratio), int(self.height() * ratio))

    # --- painting ------------------------------------------------------------------------------------------

    def paintEvent(self, _event: QPaintEvent) -> None:
        p = QPainter(self)
        image = self.image
        if image is not None and self.stalled():
            if self._grey is None:
                self._grey = image.convertToFormat(QImage.Format.Format_Grayscale8)
            image = self._grey
        if image is not None:
            ratio = self.devicePixelRatioF()
            scaled = image.size().scaled(self.size() * ratio, Qt.AspectRatioMode.KeepAspectRatio)
            if image.width() - 2 <= scaled.width() < max(image.width() * 1.25, image.width() + 3):
                # Decoded at the tile's size, or a stream a little smaller than the tile: drawn as is. Scaling
                # every frame on this thread cost more than decoding it.
                scaled = image.size()
            else:
                p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            target = QRect(0, 0, round(scaled.width() / ratio), round(scaled.height() / ratio))
            target.moveCenter(self.rect().center())
            w, h = self.width(), self.height()
            for margin in (QRect(0, 0, target.left(), h), QRect(target.right() + 1, 0, w, h),
                           QRect(0, 0, w, target.top()), QRect(0, target.bottom() + 1, w, h)):
                if margin.isValid():  # bars only where there is no picture
                    p.fillRect(margin, QColor("#111"))
            p.drawImage(target, image)
        else:
            p.fillRect(self.rect(), QColor("#111"))
        overlay, ratio = self._overlay_image(), self.devicePixelRatioF()
        for rect in self._overlay_rects:  # only where there is something drawn: blending costs per pixel
            source = QRectF(rect.x() * ratio, rect.y() * ratio, rect.width() * ratio, rect.height() * ratio)
            p.drawImage(QRectF(rect), overlay, source)
        p.end()

    def _overlay_image(self) -> QImage:
        """The texts and the red frame, redrawn only when what they say or the tile's size changed."""
        st, alarm = self.camera_status, self.alarm
        key = (self.size(), self.devicePixelRatioF(), self.name, self.room, state_text(st, now()),
               st.state if st else None, alarm, self._picture_note())
        if self._overlay is None or key != self._overlay_key:
            ratio = self.devicePixelRatioF()
            image = QImage(self.size() * ratio, QImage.Format.Format_ARGB32_Premultiplied)
            image.setDevicePixelRatio(ratio)
            image.fill(Qt.GlobalColor.transparent)
            p = QPainter(image)
            self._overlay_rects = []
            self._paint_texts(p)
            if alarm:
                p.setPen(QPen(ALARM_RED, FRAME_WIDTH))
                half = FRAME_WIDTH // 2
                p.drawRect(self.rect().adjusted(half, half, -half, -half))
                w, h = self.width(), self.height()
                self._overlay_rects += [QRect(0, 0, FRAME_WIDTH, h), QRect(w - FRAME_WIDTH, 0, FRAME_WIDTH, h),
                                        QRect(0, 0, w, FRAME_WIDTH), QRect(0, h - FRAME_WIDTH, w, FRAME_WIDTH)]
            p.end()
            self._overlay, self._overlay_key = image, key
        return self._overlay

    def _paint_texts(self, p: QPainter) -> None:
        font = QFont(self.font())
        font.setBold(True)
        p.setFont(font)
        line = p.fontMetrics().height() + 4
        self._band(p, 0, f"{self.name} · {self.room}", QColor("white"), line)
        st = self.camera_status
        state = state_text(st, now())
        color = QColor(STATE_COLORS[st.state if st else None])
        alarm = self.alarm
        if alarm:
            self._band(p, self.height() - line, alarm, QColor("white"), line, ALARM_RED)
        else:
            self._band(p, self.height() - line, state, color.lighter(170), line)
        middle = self._picture_note()
        if middle:
            self._band(p, (self.height() - line) // 2, middle, QColor("#ffd54f"), line)

    def _picture_note(self) -> str:
        """What the tile says about its own picture: connecting, or lost since when and retrying."""
        live = self.live
        if live.state is LiveState.CONNECTING and self.image is None:
            return "connecting…"
        if live.state is LiveState.STALLED:
            since = f"no picture since {clock(live.last_frame_at)}" if live.last_frame_at else "no picture"
            return f"{since}: {live.error}; retrying in {live.retry_in:.0f} s"
        return ""

    def _band(self, p: QPainter, y: int, text: str, color: QColor, height: int,
              background: QColor | None = None) -> None:
        band = QRect(0, y, self.width(), height)
        self._overlay_rects.append(band)
        p.fillRect(band, background or QColor(0, 0, 0, 150))
        p.setPen(color)
        shown = p.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, self.width() - 12)
        p.drawText(QRect(6, y, self.width() - 12, height), Qt.AlignmentFlag.AlignVCenter, shown)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.double_clicked.emit(self.camera_id)
        event.accept()
