"""Channels panel: each channel's state, port, AE title, TLS and today's count; start/stop.

Starting binds a socket and loads TLS files; stopping waits for the accept loop to
end. Both can take a moment, so they run on the control worker; the table follows
the listener's own `listener.state` events.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from intu_desktop import events
from intu_desktop.events import Event
from intu_desktop.gui.models.channel_list import ChannelListModel
from intu_desktop.gui.workers import Workers

log = logging.getLogger(__name__)


class ChannelsPanel(QWidget):
    def __init__(
        self,
        channels: list[Any],
        listeners: Mapping[str, Any],
        workers: Workers,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._listeners = listeners
        self._workers = workers
        self.model = ChannelListModel(channels, listeners, self)
        self.table = QTableView(self)
        self.table.setObjectName("channelsTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.setWordWrap(False)
        self.start_button = QPushButton("Start", self)
        self.stop_button = QPushButton("Stop", self)
        self.start_button.setToolTip("Start listening on this channel's port")
        self.stop_button.setToolTip("Stop listening and free the port")
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setStyleSheet("color: #C62828")
        self.message.hide()
        title = QLabel("<b>Channels</b>", self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(title)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        self.start_button.clicked.connect(self.start_selected)
        self.stop_button.clicked.connect(self.stop_selected)
        self.table.selectionModel().currentRowChanged.connect(self._update_buttons)
        self.model.dataChanged.connect(lambda *_: self._update_buttons())
        self.model.dataChanged.connect(lambda *_: self.table.resizeColumnToContents(1))
        if self.model.rowCount():
            self.table.selectRow(0)
        self.table.resizeColumnsToContents()
        self._update_buttons()

    def selected_channel(self) -> str | None:
        row = self.table.currentIndex().row()
        item = self.model.row_at(row)
        return item.channel_id if item is not None else None

    def start_selected(self) -> None:
        channel_id = self.selected_channel()
        listener = self._listeners.get(channel_id) if channel_id else None
        if listener is None:
            return
        self.message.hide()
        self._workers.control(listener.start, None, lambda exc: self._show_error(str(exc)))

    def stop_selected(self) -> None:
        channel_id = self.selected_channel()
        listener = self._listeners.get(channel_id) if channel_id else None
        if listener is None:
            return
        self.message.hide()
        self._workers.control(
            listener.stop, None, lambda exc: self._show_error(f"stopping failed: {exc}")
        )

    def apply_events(self, batch: list[Event]) -> None:
        for event in batch:
            if event.kind == events.LISTENER_STATE:
                channel_id = str(event.data.get("channel_id", ""))
                listener = self._listeners.get(channel_id)
                port = listener.port if listener is not None else event.data.get("port")
                self.model.set_state(
                    channel_id,
                    str(event.data.get("state", "")),
                    str(event.data.get("reason", "") or ""),
                    port,
                )
                if event.data.get("state") == "error" and event.data.get("reason"):
                    self._show_error(str(event.data["reason"]))

    def set_counts(self, counts: Mapping[str, int]) -> None:
        self.model.set_counts(counts)

    def _show_error(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()

    def _update_buttons(self, *_args: QModelIndex) -> None:
        item = self.model.row_at(self.table.currentIndex().row())
        runnable = item is not None and item.runnable
        state = item.state if item is not None else ""
        self.start_button.setEnabled(runnable and state in ("stopped", "error"))
        self.stop_button.setEnabled(runnable and state in ("listening", "starting"))
