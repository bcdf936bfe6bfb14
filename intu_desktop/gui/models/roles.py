"""One place that answers Qt's role queries for a model: `data()` and `multiData()`.

Item delegates ask for about seven roles per cell. Answering them all in one call
into Python (`multiData`) instead of seven (`data`) matters because each call from
Qt into Python takes the GIL, which the receiver's threads compete for: the views
stay quick while a modality is sending.
"""

from __future__ import annotations

from typing import Any, Iterable, cast

from PySide6.QtCore import (
    QModelIndex,
    QModelRoleData,
    QModelRoleDataSpan,
    QPersistentModelIndex,
    Qt,
)

AnyIndex = QModelIndex | QPersistentModelIndex
DISPLAY = int(Qt.ItemDataRole.DisplayRole)
DECORATION = int(Qt.ItemDataRole.DecorationRole)
TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
USER = int(Qt.ItemDataRole.UserRole)
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class RoleAnswers:
    """Mixin for QAbstractItemModel subclasses: implement `cell(index, role)` only."""

    def cell(self, index: AnyIndex, role: int) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def data(self, index: AnyIndex, role: int = DISPLAY) -> Any:
        if not index.isValid():
            return None
        return self.cell(index, int(role))

    def multiData(self, index: AnyIndex, roles: QModelRoleDataSpan | QModelRoleData) -> None:
        if not index.isValid():
            return
        for item in role_items(roles):
            value = self.cell(index, item.role())
            if value is not None:
                item.setData(value)
            else:
                item.clearData()  # the span is reused between cells: never leave a stale value


def role_items(roles: QModelRoleDataSpan | QModelRoleData) -> Iterable[QModelRoleData]:
    """The entries of a role span (PySide6 iterates it; its type stubs do not say so)."""
    if isinstance(roles, QModelRoleData):
        return (roles,)
    return cast(Iterable[QModelRoleData], roles)
