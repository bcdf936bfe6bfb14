"""The data set of the selected instance as a tree: tag, name, VR, value; sequences expand."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from intu_desktop.gui.models.roles import DISPLAY, FOREGROUND, TOOLTIP, RoleAnswers
from intu_desktop.gui.tag_nodes import TagNode

AnyIndex = QModelIndex | QPersistentModelIndex
HEADERS = ("Tag", "Name", "VR", "Value")
_PRIVATE = QColor(0x6A, 0x1B, 0x9A)


class TagTreeModel(RoleAnswers, QAbstractItemModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._root = TagNode("", "", "", "")

    def set_root(self, root: TagNode | None) -> None:
        self.beginResetModel()
        self._root = root if root is not None else TagNode("", "", "", "")
        self.endResetModel()

    def _node(self, index: AnyIndex) -> TagNode:
        if index.isValid():
            node = index.internalPointer()
            if isinstance(node, TagNode):
                return node
        return self._root

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:
        if column < 0 or column >= len(HEADERS) or row < 0:
            return QModelIndex()
        if parent.isValid() and parent.column() != 0:
            return QModelIndex()
        node = self._node(parent)
        if row >= len(node.children):
            return QModelIndex()
        return self.createIndex(row, column, node.children[row])

    def parent(self, index: AnyIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        node = self._node(index)
        up = node.parent
        if up is None or up is self._root:
            return QModelIndex()
        return self.createIndex(up.row, 0, up)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._node(parent).children)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section] if 0 <= section < len(HEADERS) else None
        return None

    def cell(self, index: AnyIndex, role: int) -> Any:
        node = self._node(index)
        if role == DISPLAY or role == TOOLTIP:
            return (node.tag, node.name, node.vr, node.value)[index.column()]
        if role == FOREGROUND and node.private:
            return _PRIVATE
        return None
