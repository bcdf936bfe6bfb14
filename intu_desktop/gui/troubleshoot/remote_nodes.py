"""The remote nodes table: every calling AE seen, with a sparkline of its last 24 hours."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    QRect,
    Qt,
)
from PySide6.QtGui import QColor, QPainter, QPolygonF
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from intu_desktop import events
from intu_desktop.events import Event
from intu_desktop.gui.formatting import local_time
from intu_desktop.gui.models.roles import ALIGNMENT, DISPLAY, RIGHT, TOOLTIP, USER, RoleAnswers
from intu_desktop.gui.troubleshoot.node_stats import RemoteNode, remote_nodes
from intu_desktop.gui.workers import Workers

AnyIndex = QModelIndex | QPersistentModelIndex
HOURLY_ROLE = USER + 11
HEADERS = ("Calling AE", "Address", "Last seen", "Associations", "Success rate", "Last error", "Objects today",
           "Last 24 h")
ACTIVITY_COLUMN = HEADERS.index("Last 24 h")
_NUMERIC = {3, 4, 6}
_EVENTS = (events.ASSOCIATION_REJECTED, events.ASSOCIATION_RELEASED, events.ASSOCIATION_ABORTED,
           events.ASSOCIATION_ACCEPTED)


def cell(node: RemoteNode, column: int) -> str:
    if column == 0:
        return node.calling_ae or "(no A-ASSOCIATE-RQ)"
    if column == 1:
        return node.address
    if column == 2:
        return local_time(node.last_seen)
    if column == 3:
        return str(node.associations)
    if column == 4:
        rate = node.success_rate
        return "" if rate is None else f"{rate * 100:.0f} %"
    if column == 5:
        return node.last_error
    if column == 6:
        return str(node.objects_today)
    return ""


class RemoteNodesModel(RoleAnswers, QAbstractTableModel):
    """A short list (one row per calling AE), replaced whole by each refresh."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._nodes: list[RemoteNode] = []

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._nodes)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section] if 0 <= section < len(HEADERS) else None
        return None

    def cell(self, index: AnyIndex, role: int) -> Any:
        row, column = index.row(), index.column()
        if not 0 <= row < len(self._nodes):
            return None
        node = self._nodes[row]
        if role == DISPLAY:
            return cell(node, column)
        if role == HOURLY_ROLE:
            return list(node.hourly)
        if role == TOOLTIP:
            if column == ACTIVITY_COLUMN:
                return f"{sum(node.hourly)} association(s) in the last 24 hours, per hour"
            if column == 5 and node.last_error:
                return node.last_error
            if column == 4 and node.success_rate is not None:
                return f"{node.succeeded} released cleanly, {node.failed} refused or aborted"
        if role == ALIGNMENT and column in _NUMERIC:
            return RIGHT
        return None

    def node(self, row: int) -> RemoteNode | None:
        return self._nodes[row] if 0 <= row < len(self._nodes) else None

    def set_nodes(self, nodes: list[RemoteNode]) -> None:
        self.beginResetModel()
        self._nodes = list(nodes)
        self.endResetModel()


class SparklineDelegate(QStyledItemDelegate):
    """Paints the hourly counts as a small filled line, scaled to the node's busiest hour."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        counts = index.data(HOURLY_ROLE)
        if not counts:
            super().paint(painter, option, index)
            return
        painter.save()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        rect: QRect = option.rect.adjusted(3, 3, -3, -3)
        peak = max(counts) or 1
        step = rect.width() / max(1, len(counts) - 1)
        points = [QPointF(rect.left() + i * step, rect.bottom() - rect.height() * c / peak)
                  for i, c in enumerate(counts)]
        area = QPolygonF([QPointF(rect.left(), rect.bottom()), *points, QPointF(rect.right(), rect.bottom())])
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(33, 150, 243, 70))
        painter.drawPolygon(area)
        painter.setPen(QColor("#1976D2"))
        painter.drawPolyline(QPolygonF(points))
        painter.restore()


class RemoteNodesView(QWidget):
    """The table, refreshed from the index on a worker after association events."""

    def __init__(self, workers: Workers, runtime: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("remoteNodesView")
        self.workers = workers
        self.index = runtime.index
        self.model = RemoteNodesModel(self)
        self.table = QTableView(self)
        self.table.setObjectName("remoteNodesTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.setItemDelegateForColumn(ACTIVITY_COLUMN, SparklineDelegate(self.table))
        for column, width in enumerate((130, 110, 140, 90, 90, 300, 100, 120)):
            self.table.setColumnWidth(column, width)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        self._busy = False
        self._dirty = False
        self.refresh()

    def apply_events(self, batch: list[Event]) -> None:
        if any(e.kind in _EVENTS for e in batch):
            self.refresh()

    def refresh(self) -> None:
        """Coalesced: while a query runs, more events only mark one more refresh."""
        if self._busy:
            self._dirty = True
            return
        self._busy, self._dirty = True, False
        index = self.index
        self.workers.db(lambda: remote_nodes(index), self._loaded, self._failed)

    def _loaded(self, nodes: list[RemoteNode]) -> None:
        self._busy = False
        self.model.set_nodes(nodes)
        if self._dirty:
            self.refresh()

    def _failed(self, _error: BaseException) -> None:
        self._busy = False
