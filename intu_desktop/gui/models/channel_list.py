"""The channels of the project with their listener state, port, AE title, TLS and today's count.

Every channel of the project is a row, runnable or not: a channel intu Desktop
cannot run (another listener type, disabled, out of profile, invalid) is shown with
why, never dropped (DESIGN §1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from intu_desktop.gui.models.colors import status_color
from intu_desktop.gui.models.roles import DISPLAY, FOREGROUND, TOOLTIP, USER, RoleAnswers

AnyIndex = QModelIndex | QPersistentModelIndex
HEADERS = ("Channel", "State", "Port", "AE title", "TLS", "Today")
STATE_COLUMN = 1
CHANNEL_ID_ROLE = USER + 1
RUNNABLE_ROLE = USER + 2


@dataclass
class ChannelRow:
    channel_id: str
    runnable: bool
    state: str  # listening|stopped|starting|error|disabled|unsupported|invalid|not in profile
    reason: str
    port: str
    ae_title: str
    tls: bool
    today: int = 0

    @property
    def state_text(self) -> str:
        return f"{self.state}: {self.reason}" if self.reason else self.state


def channel_row(channel: Any, listener: Any | None) -> ChannelRow:
    dicom = getattr(channel, "dicom", None)
    port = str(getattr(dicom, "port", "")) if dicom is not None else ""
    ae_title = str(getattr(dicom, "ae_title", "")) if dicom is not None else ""
    tls = bool(getattr(dicom, "tls", None)) if dicom is not None else False
    if listener is not None:
        return ChannelRow(
            str(channel.id),
            True,
            str(listener.state),
            str(listener.reason or ""),
            str(listener.port),
            ae_title,
            tls,
        )
    listener_type = str(getattr(channel, "listener_type", "") or "")
    if getattr(channel, "errors", None):
        state, reason = "invalid", f"{len(channel.errors)} configuration problem(s)"
    elif not getattr(channel, "enabled", True):
        state, reason = "disabled", ""
    elif not getattr(channel, "in_profile", True):
        state, reason = "not in profile", ""
    elif listener_type != "dicom":
        state, reason = (
            "unsupported",
            f"listener type {listener_type or '(none)'} is not run by intu Desktop",
        )
    else:
        state, reason = "stopped", ""
    return ChannelRow(str(channel.id), False, state, reason, port, ae_title, tls)


class ChannelListModel(RoleAnswers, QAbstractTableModel):
    def __init__(
        self, channels: list[Any], listeners: Mapping[str, Any], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._rows = [channel_row(ch, listeners.get(str(ch.id))) for ch in channels]
        self._row_of = {r.channel_id: i for i, r in enumerate(self._rows)}

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section] if 0 <= section < len(HEADERS) else None
        return None

    def cell(self, index: AnyIndex, role: int) -> Any:
        if not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == DISPLAY:
            return (
                row.channel_id,
                row.state_text,
                row.port,
                row.ae_title,
                "TLS" if row.tls else "",
                str(row.today),
            )[column]
        if role == TOOLTIP and column == STATE_COLUMN:
            return row.state_text
        if role == FOREGROUND and column == STATE_COLUMN:
            return status_color("error" if row.state in ("error", "invalid") else row.state)
        if role == CHANNEL_ID_ROLE:
            return row.channel_id
        if role == RUNNABLE_ROLE:
            return row.runnable
        return None

    def row(self, channel_id: str) -> ChannelRow | None:
        i = self._row_of.get(channel_id)
        return self._rows[i] if i is not None else None

    def row_at(self, row: int) -> ChannelRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def set_state(
        self, channel_id: str, state: str, reason: str, port: int | str | None = None
    ) -> None:
        i = self._row_of.get(channel_id)
        if i is None:
            return
        row = self._rows[i]
        row.state, row.reason = state, reason or ""
        if port:
            row.port = str(port)
        self.dataChanged.emit(self.index(i, 0), self.index(i, len(HEADERS) - 1))

    def set_counts(self, counts: Mapping[str, int]) -> None:
        for i, row in enumerate(self._rows):
            value = int(counts.get(row.channel_id, 0))
            if value != row.today:
                row.today = value
                self.dataChanged.emit(self.index(i, 5), self.index(i, 5))

    def listening_ports(self) -> list[str]:
        return [r.port for r in self._rows if r.state == "listening"]
