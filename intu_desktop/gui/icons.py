"""Icons drawn at run time (no image files to ship): object kinds, states, the app icon.

All of these run on the GUI thread (QPainter on a QImage/QPixmap at the edge).
"""

from __future__ import annotations

import functools

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QImage, QPainter, QPen, QPixmap

# One short label and colour per kind of object without pixels (thumbnails.model.KINDS).
_KIND_STYLE = {
    "sr": ("SR", "#5E35B1"),
    "rtplan": ("RT PLAN", "#00897B"),
    "rtstruct": ("RT STRUCT", "#00897B"),
    "waveform": ("WAVE", "#C62828"),
    "pdf": ("PDF", "#D84315"),
    "video": ("VIDEO", "#283593"),
    "image": ("IMAGE", "#546E7A"),
    "other": ("DICOM", "#546E7A"),
}
_STATE_COLOURS = {"ok": "#2E7D32", "idle": "#757575", "error": "#C62828", "warning": "#EF6C00"}


def numpy_to_qimage(pixels: np.ndarray) -> QImage:
    """H x W x 3 uint8 RGB -> an independent QImage (the array may be freed afterwards)."""
    array = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = int(array.shape[0]), int(array.shape[1])
    image = QImage(array.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.copy()


@functools.lru_cache(maxsize=32)
def kind_image(kind: str, size: int = 128) -> QImage:
    """A page-like tile with the kind's label, for objects that have no pixels."""
    label, colour = _KIND_STYLE.get(kind, _KIND_STYLE["other"])
    image = QImage(size, size, QImage.Format.Format_RGB888)
    image.fill(QColor("#ECEFF1"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    margin = size * 0.12
    page = QRectF(margin, margin * 0.6, size - 2 * margin, size - 1.2 * margin)
    painter.setPen(QPen(QColor("#90A4AE"), max(1.0, size / 64)))
    painter.setBrush(QColor("white"))
    painter.drawRoundedRect(page, size * 0.04, size * 0.04)
    band = QRectF(page.left(), page.center().y() - size * 0.12, page.width(), size * 0.24)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(colour))
    painter.drawRect(band)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(max(6, int(size * (0.14 if len(label) <= 5 else 0.10))))
    painter.setFont(font)
    painter.setPen(QColor("white"))
    painter.drawText(band, int(Qt.AlignmentFlag.AlignCenter), label)
    painter.end()
    return image


@functools.lru_cache(maxsize=8)
def state_icon(state: str) -> QIcon:
    """A coloured disc: ok (all listening), idle, warning, error."""
    pixmap = QPixmap(64, 64)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor("#263238"), 3))
    painter.setBrush(QColor(_STATE_COLOURS.get(state, "#757575")))
    painter.drawEllipse(6, 6, 52, 52)
    painter.setPen(QColor("white"))
    font = QFont()
    font.setBold(True)
    font.setPixelSize(26)
    painter.setFont(font)
    painter.drawText(QRectF(6, 6, 52, 52), int(Qt.AlignmentFlag.AlignCenter), "i")
    painter.end()
    return QIcon(pixmap)
