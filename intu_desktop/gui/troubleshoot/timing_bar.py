"""A small painted time line of one association: negotiation, each object, release."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QHelpEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from intu_desktop.gui.troubleshoot import timing
from intu_desktop.gui.troubleshoot.timing import Segment

COLOURS = {
    timing.NEGOTIATION: QColor("#5C6BC0"), timing.EXCHANGE: QColor("#43A047"),
    timing.FAILED: QColor("#E53935"), timing.WIRE: QColor("#CFD8DC"),
    timing.RELEASE: QColor("#90A4AE"), timing.ABORT: QColor("#FB8C00"),
    timing.REJECTED: QColor("#C62828"), timing.OPEN: QColor("#B3E5FC"),
}
LEGEND = ("negotiation", "object", "refused object", "on the wire", "release", "abort")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


class TimingBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timingBar")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self._segments: list[Segment] = []

    def set_record(self, rec: dict[str, Any] | None) -> None:
        self._segments = timing.segments(rec) if rec else []
        total = self._segments[-1].end if self._segments else 0.0
        self.setToolTip("" if not self._segments else f"{len(self._segments)} phases over {_ms(total)}")
        self.update()

    @property
    def segments(self) -> list[Segment]:
        return list(self._segments)

    def sizeHint(self) -> QSize:
        return QSize(400, 26)

    def _x_scale(self) -> float:
        total = self._segments[-1].end if self._segments else 0.0
        return (self.width() - 2) / total if total > 0 else 0.0

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().base())
        if not self._segments:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no timing")
            return
        scale = self._x_scale()
        height = self.height() - 8
        for seg in self._segments:
            x = 1 + seg.start * scale
            # At least one pixel, so a 2 ms object among 40 ms gaps is still visible.
            width = max(1.0, (seg.end - seg.start) * scale)
            painter.fillRect(QRectF(x, 4, width, height), COLOURS.get(seg.kind, QColor("gray")))
        painter.setPen(self.palette().text().color())
        total = self._segments[-1].end
        painter.drawText(self.rect().adjusted(4, 0, -4, 0),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, _ms(total))

    def segment_at(self, x: float) -> Segment | None:
        scale = self._x_scale()
        if scale <= 0:
            return None
        t = (x - 1) / scale
        for seg in self._segments:
            if seg.start <= t <= max(seg.end, seg.start + 1 / scale):
                return seg
        return None

    def event(self, event: Any) -> bool:
        if isinstance(event, QHelpEvent):
            seg = self.segment_at(event.position().x() if hasattr(event, "position") else event.pos().x())
            if seg is not None:
                QToolTip.showText(event.globalPos(),
                                  f"{seg.label}: {_ms(seg.end - seg.start)} (at +{_ms(seg.start)})", self)
                return True
        return super().event(event)
