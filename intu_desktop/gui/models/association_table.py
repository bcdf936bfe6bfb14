"""Associations, newest first, live: each association event carries the whole record.

The list is short (the most recent `limit`), so it is held in memory; the details
pane reads presentation contexts from the same record dicts.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from intu_desktop.gui.formatting import duration, human_bytes, local_time
from intu_desktop.gui.models.colors import status_color
from intu_desktop.gui.models.roles import (
    ALIGNMENT,
    DISPLAY,
    FOREGROUND,
    RIGHT,
    TOOLTIP,
    USER,
    RoleAnswers,
)

AnyIndex = QModelIndex | QPersistentModelIndex
RECORD_ROLE = USER + 1

HEADERS = (
    "Time",
    "Calling AE",
    "Called AE",
    "Peer",
    "TLS",
    "State",
    "Reason",
    "Instances",
    "Bytes",
    "Duration",
)
STATE_COLUMN = HEADERS.index("State")
REASON_COLUMN = HEADERS.index("Reason")
_NUMERIC = {HEADERS.index("Instances"), HEADERS.index("Bytes"), HEADERS.index("Duration")}


def cell(rec: dict[str, Any], column: int) -> str:
    if column == 0:
        return local_time(rec.get("requested_at"))
    if column == 1:
        return str(rec.get("calling_ae", ""))
    if column == 2:
        return str(rec.get("called_ae", ""))
    if column == 3:
        port = rec.get("peer_port") or 0
        return f"{rec.get('peer_host', '')}:{port}" if port else str(rec.get("peer_host", ""))
    if column == 4:
        return "TLS" if rec.get("tls") else ""
    if column == 5:
        return str(rec.get("state", ""))
    if column == 6:
        return str(rec.get("reason", ""))
    if column == 7:
        failures = int(rec.get("failures") or 0)
        stored = int(rec.get("instances") or 0)
        return f"{stored} ({failures} failed)" if failures else str(stored)
    if column == 8:
        return human_bytes(rec.get("bytes") or 0) if rec.get("ended_at") else ""
    if column == 9:
        return duration(rec.get("requested_at"), rec.get("ended_at"))
    return ""


class AssociationTableModel(RoleAnswers, QAbstractTableModel):
    def __init__(self, parent: QObject | None = None, limit: int = 2000) -> None:
        super().__init__(parent)
        self._limit = limit
        self._records: list[dict[str, Any]] = []
        self._row_of: dict[str, int] = {}

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section] if 0 <= section < len(HEADERS) else None
        return None

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:
        if parent.isValid() or not (0 <= row < len(self._records) and 0 <= column < len(HEADERS)):
            return QModelIndex()
        return self.createIndex(row, column)

    def cell(self, index: AnyIndex, role: int) -> Any:
        row, column = index.row(), index.column()
        if not 0 <= row < len(self._records):
            return None
        rec = self._records[row]
        if role == DISPLAY:
            return cell(rec, column)
        if role == RECORD_ROLE:
            return rec
        if role == TOOLTIP and column == REASON_COLUMN:
            return str(rec.get("reason", "")) or None
        if role == FOREGROUND and column == STATE_COLUMN:
            return status_color(str(rec.get("state", "")))
        if role == ALIGNMENT and column in _NUMERIC:
            return RIGHT
        return None

    # -- updates -------------------------------------------------------------------------
    def record(self, row: int) -> dict[str, Any] | None:
        return self._records[row] if 0 <= row < len(self._records) else None

    def row_of(self, association_id: str) -> int | None:
        return self._row_of.get(association_id)

    def load(self, records: list[dict[str, Any]]) -> None:
        """The initial list from the index; records already seen live take precedence."""
        merged = {r["id"]: r for r in records}
        merged.update({r["id"]: r for r in self._records})
        ordered = sorted(
            merged.values(), key=lambda r: float(r.get("requested_at") or 0), reverse=True
        )
        self.beginResetModel()
        self._records = ordered[: self._limit]
        self._reindex()
        self.endResetModel()

    def upsert(self, records: list[dict[str, Any]]) -> None:
        """Apply a batch of association events in arrival order."""
        latest: dict[str, dict[str, Any]] = {}
        for rec in records:
            latest[rec["id"]] = rec  # later events about the same association win
        new = [r for r in latest.values() if r["id"] not in self._row_of]
        changed = [r for r in latest.values() if r["id"] in self._row_of]
        for rec in changed:
            row = self._row_of[rec["id"]]
            self._records[row] = rec
        if changed:
            rows = [self._row_of[r["id"]] for r in changed]
            self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), len(HEADERS) - 1))
        if new:
            new.sort(key=lambda r: float(r.get("requested_at") or 0), reverse=True)
            self.beginInsertRows(QModelIndex(), 0, len(new) - 1)
            self._records[0:0] = new
            self._reindex()
            self.endInsertRows()
        if len(self._records) > self._limit:
            self.beginRemoveRows(QModelIndex(), self._limit, len(self._records) - 1)
            del self._records[self._limit :]
            self._reindex()
            self.endRemoveRows()

    def _reindex(self) -> None:
        self._row_of = {r["id"]: i for i, r in enumerate(self._records)}
