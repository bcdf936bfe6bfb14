"""A frame on screen, fitted to the widget, with mouse window/level.

Dragging with the left button changes the window: right/left widens/narrows it,
down/up raises/lowers its centre (the usual radiology convention). A double click
goes back to the file's own window. The canvas only paints and reports drags; the
instance detail view renders the new window off the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget


class ImageCanvas(QWidget):
    window_dragged = Signal(float, float)  # dx, dy in pixels since the press
    drag_started = Signal()
    reset_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(200, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self._image: QImage | None = None
        self._aspect = 1.0
        self._message = "Select an instance"
        self._overlay = ""
        self._press: QPoint | None = None

    @property
    def image(self) -> QImage | None:
        return self._image

    def set_image(self, image: QImage | None, pixel_aspect: float = 1.0, overlay: str = "") -> None:
        self._image = image
        self._aspect = pixel_aspect if pixel_aspect > 0 else 1.0
        self._overlay = overlay
        self._message = ""
        self.update()

    def set_overlay(self, overlay: str) -> None:
        self._overlay = overlay
        self.update()

    def set_message(self, message: str) -> None:
        self._image = None
        self._message = message
        self._overlay = ""
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("black"))
        if self._image is not None and not self._image.isNull():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self._target(), self._image)
        painter.setPen(QColor("#E0E0E0"))
        if self._message:
            painter.drawText(
                self.rect().adjusted(12, 12, -12, -12),
                int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                self._message,
            )
        if self._overlay:
            painter.drawText(
                self.rect().adjusted(8, 6, -8, -6),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom),
                self._overlay,
            )
        painter.end()

    def _target(self) -> QRectF:
        assert self._image is not None
        width = float(self._image.width())
        height = float(self._image.height()) * self._aspect  # rows are this much taller than wide
        scale = min(self.width() / width, self.height() / height)
        w, h = width * scale, height * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._image is not None:
            self._press = event.position().toPoint()
            self.drag_started.emit()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is not None and event.buttons() & Qt.MouseButton.LeftButton:
            delta = event.position().toPoint() - self._press
            self.window_dragged.emit(float(delta.x()), float(delta.y()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = None

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.reset_requested.emit()
