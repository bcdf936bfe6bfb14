"""Associations, live and newest first, with a details pane for the selected one."""

from __future__ import annotations

from dataclasses import asdict

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QSplitter, QTableView, QTextBrowser, QWidget

from intu_desktop import events
from intu_desktop.events import Event
from intu_desktop.gui.association_details import association_html
from intu_desktop.gui.models.association_table import AssociationTableModel
from intu_desktop.gui.workers import Workers
from intu_desktop.index.associations import recent_associations
from intu_desktop.index.db import Index

ASSOCIATION_EVENTS = (
    events.ASSOCIATION_REQUESTED,
    events.ASSOCIATION_ACCEPTED,
    events.ASSOCIATION_REJECTED,
    events.ASSOCIATION_RELEASED,
    events.ASSOCIATION_ABORTED,
)


class AssociationsView(QSplitter):
    def __init__(self, index: Index, workers: Workers, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.setObjectName("associationsSplitter")
        self.model = AssociationTableModel(self)
        self.table = QTableView(self)
        self.table.setObjectName("associationsTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        widths = (140, 110, 100, 120, 40, 75, 300, 70, 75)
        for column, width in enumerate(widths):
            self.table.setColumnWidth(column, width)
        self.details = QTextBrowser(self)
        self.details.setObjectName("associationDetails")
        self.details.setOpenLinks(False)
        self.details.setPlaceholderText(
            "Select an association to see what was proposed and answered."
        )
        self.addWidget(self.table)
        self.addWidget(self.details)
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 2)
        self.table.selectionModel().currentRowChanged.connect(self._show_current)
        self.model.dataChanged.connect(self._refresh_details)
        self._shown_id: str | None = None
        workers.db(lambda: [asdict(r) for r in recent_associations(index, 500)], self.model.load)

    def apply_events(self, batch: list[Event]) -> None:
        records = [e.data for e in batch if e.kind in ASSOCIATION_EVENTS and "id" in e.data]
        if records:
            self.model.upsert(records)

    def select_row(self, row: int) -> None:
        self.table.selectRow(row)

    def _show_current(self, current: QModelIndex, _previous: QModelIndex = QModelIndex()) -> None:
        rec = self.model.record(current.row())
        self._shown_id = rec["id"] if rec else None
        self.details.setHtml(association_html(rec) if rec else "")

    def _refresh_details(
        self, top_left: QModelIndex, bottom_right: QModelIndex, *_roles: object
    ) -> None:
        if self._shown_id is None:
            return
        row = self.model.row_of(self._shown_id)
        if row is not None and top_left.row() <= row <= bottom_right.row():
            rec = self.model.record(row)
            if rec is not None:
                self.details.setHtml(association_html(rec))
