"""The editor's list of channel files, with New, Clone, Delete and Enable/Disable."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QGridLayout, QListView, QPushButton, QVBoxLayout, QWidget

AnyIndex = QModelIndex | QPersistentModelIndex
PATH_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class ChannelListRow:
    path: Path
    channel_id: str
    enabled: bool
    listener_type: str
    port: int | None
    dirty: bool = False
    new: bool = False

    def text(self) -> str:
        marks = " (new)" if self.new else ""
        return f"{self.channel_id}{marks}{' *' if self.dirty else ''}"

    def tooltip(self) -> str:
        parts = [str(self.path)]
        if self.listener_type == "dicom" and self.port:
            parts.append(f"DICOM listener on port {self.port}")
        elif self.listener_type:
            parts.append(f"{self.listener_type} listener (not run by intu Desktop)")
        if not self.enabled:
            parts.append("disabled")
        if self.dirty:
            parts.append("unsaved changes")
        return "\n".join(parts)


class ChannelListModel(QAbstractListModel):
    """A short list (one row per channel file), so rows are held in memory."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[ChannelListRow] = []

    def rowCount(self, parent: AnyIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._rows)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.text()
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.tooltip()
        if role == Qt.ItemDataRole.ForegroundRole and not row.enabled:
            return QBrush(QColor("#777777"))
        if role == Qt.ItemDataRole.FontRole and (row.dirty or not row.enabled):
            font = QFont()
            font.setItalic(not row.enabled)
            font.setBold(row.dirty)
            return font
        if role == PATH_ROLE:
            return str(row.path)
        return None

    def rows(self) -> list[ChannelListRow]:
        return list(self._rows)

    def row_of(self, path: Path) -> int:
        return next((i for i, r in enumerate(self._rows) if r.path == path), -1)

    def set_rows(self, rows: list[ChannelListRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def update_row(self, position: int, row: ChannelListRow) -> None:
        if not 0 <= position < len(self._rows) or self._rows[position] == row:
            return
        self._rows[position] = row
        index = self.index(position, 0)
        self.dataChanged.emit(index, index)

    def insert_row(self, position: int, row: ChannelListRow) -> None:
        position = max(0, min(position, len(self._rows)))
        self.beginInsertRows(QModelIndex(), position, position)
        self._rows.insert(position, row)
        self.endInsertRows()

    def remove_row(self, position: int) -> None:
        if not 0 <= position < len(self._rows):
            return
        self.beginRemoveRows(QModelIndex(), position, position)
        del self._rows[position]
        self.endRemoveRows()


class ChannelListPanel(QWidget):
    """The list and its buttons; the editor connects the buttons to its actions."""

    def __init__(self, model: ChannelListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = QListView()
        self.view.setModel(model)
        self.view.setAccessibleName("Channels")
        self.view.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.new_button = QPushButton("New")
        self.new_button.setToolTip("A DICOM channel from the template (the spec's "
                                   "dicom-radiology-ingest)")
        self.clone_button = QPushButton("Clone")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Move the channel's folder to the system trash")
        self.toggle_button = QPushButton("Disable")
        self.project_button = QPushButton("Named destinations (intu.yaml)")
        grid = QGridLayout()
        grid.addWidget(self.new_button, 0, 0)
        grid.addWidget(self.clone_button, 0, 1)
        grid.addWidget(self.toggle_button, 1, 0)
        grid.addWidget(self.delete_button, 1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addLayout(grid)
        layout.addWidget(self.project_button)

    def current_path(self) -> Path | None:
        index = self.view.currentIndex()
        value = index.data(PATH_ROLE) if index.isValid() else None
        return Path(value) if value else None

    def select(self, row: int) -> None:
        model = self.view.model()
        if 0 <= row < model.rowCount():
            self.view.setCurrentIndex(model.index(row, 0))
