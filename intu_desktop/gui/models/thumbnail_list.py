"""Items of a thumbnail grid or of the live strip; images come from the ThumbnailProvider."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex
from PySide6.QtGui import QColor, QImage

from intu_desktop.gui.models.roles import DECORATION, DISPLAY, TOOLTIP, USER, RoleAnswers
from intu_desktop.gui.thumbnail_provider import ThumbnailProvider, ThumbRequest

AnyIndex = QModelIndex | QPersistentModelIndex
ID_ROLE = USER + 1


@dataclass(frozen=True)
class ThumbItem:
    instance_id: int
    path: str
    sop_uid: str
    label: str

    @property
    def request(self) -> ThumbRequest:
        return ThumbRequest(self.instance_id, self.path, self.sop_uid)


@functools.lru_cache(maxsize=4)
def _placeholder(size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_RGB888)
    image.fill(QColor("#CFD8DC"))
    return image


class ThumbnailListModel(RoleAnswers, QAbstractListModel):
    def __init__(
        self, provider: ThumbnailProvider, parent: QObject | None = None, limit: int | None = None
    ) -> None:
        super().__init__(parent)
        self._provider = provider
        self._limit = limit
        self._items: list[ThumbItem] = []
        self._row_of: dict[int, int] = {}
        provider.ready.connect(self._on_ready)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._items)

    def cell(self, index: AnyIndex, role: int) -> Any:
        if not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        if role == DISPLAY:
            return item.label
        if role == ID_ROLE:
            return item.instance_id
        if role == DECORATION:
            thumb = self._provider.get(item.request)
            return thumb.image if thumb is not None else _placeholder(self._provider.size)
        if role == TOOLTIP:
            thumb = self._provider.peek(item.instance_id)
            if thumb is None:
                return item.label
            return "\n".join(t for t in (item.label, thumb.summary, thumb.error or "") if t)
        return None

    def items(self) -> list[ThumbItem]:
        return list(self._items)

    def item(self, row: int) -> ThumbItem | None:
        return self._items[row] if 0 <= row < len(self._items) else None

    def set_items(self, items: list[ThumbItem]) -> None:
        """Replace the list; arrivals at the front (the live strip) become inserts."""
        items = items[: self._limit] if self._limit else list(items)
        old_ids = [i.instance_id for i in self._items]
        new_ids = [i.instance_id for i in items]
        if old_ids == new_ids:
            self._items = items
            return
        gone = set(old_ids) - set(new_ids)
        if gone:
            self._provider.forget(list(gone))
        shift = _front_shift(old_ids, new_ids) if self._limit else None
        if shift is None:
            self.beginResetModel()
            self._items = items
            self._reindex()
            self.endResetModel()
            return
        added, _kept = shift
        if added:
            self.beginInsertRows(QModelIndex(), 0, added - 1)
            self._items = items[:added] + self._items
            self._reindex()
            self.endInsertRows()
        if len(self._items) > len(items):
            self.beginRemoveRows(QModelIndex(), len(items), len(self._items) - 1)
            del self._items[len(items) :]
            self._reindex()
            self.endRemoveRows()
        self._items = items
        self._reindex()

    def _reindex(self) -> None:
        self._row_of = {item.instance_id: i for i, item in enumerate(self._items)}

    def _on_ready(self, instance_id: int) -> None:
        row = self._row_of.get(instance_id)
        if row is not None:
            index = self.index(row, 0)
            self.dataChanged.emit(index, index)


def _front_shift(old: list[int], new: list[int]) -> tuple[int, int] | None:
    """(added at the front, old items kept) when `new` is new items + a prefix of `old`."""
    if not old:
        return len(new), 0
    try:
        added = new.index(old[0])
    except ValueError:
        added = len(new)
    kept = len(new) - added
    if new[added:] == old[:kept] and not set(new[:added]) & set(old):
        return added, kept
    return None
