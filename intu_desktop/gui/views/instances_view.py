"""The instances view: filter bar over a lazily paged table, or the same rows grouped by study."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStackedWidget,
    QTableView,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from intu_desktop import events
from intu_desktop.events import Event
from intu_desktop.gui.models.instance_query import (
    COLUMN_INDEX,
    DEFAULT_SORT,
    InstanceFilter,
    distinct_values,
)
from intu_desktop.gui.models.instance_table import ID_ROLE, InstanceTableModel
from intu_desktop.gui.models.study_tree import STUDY_UID_ROLE, StudyTreeModel
from intu_desktop.gui.views.filter_bar import FilterBar
from intu_desktop.gui.workers import Workers
from intu_desktop.index.db import Index

_WIDTHS = {
    "patient": 170,
    "patient_id": 90,
    "study_date": 85,
    "modality": 60,
    "study_description": 150,
    "series": 110,
    "sop_class": 190,
    "transfer_syntax": 190,
    "size": 70,
    "calling_ae": 100,
    "received": 140,
}
CHOICES_REFRESH_MS = 3000


class InstancesView(QWidget):
    instance_selected = Signal(int)
    study_selected = Signal(str)

    def __init__(self, index: Index, workers: Workers, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._index = index
        self._workers = workers
        self.filter_bar = FilterBar(self)
        self.model = InstanceTableModel(index, workers, self)
        self.tree_model = StudyTreeModel(index, workers, self)
        self.table = QTableView(self)
        self.table.setObjectName("instancesTable")
        self.table.setModel(self.model)
        self._setup_view(self.table)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(DEFAULT_SORT, Qt.SortOrder.DescendingOrder)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.tree = QTreeView(self)
        self.tree.setObjectName("studiesTree")
        self.tree.setModel(self.tree_model)
        self._setup_view(self.tree)
        self.tree.setUniformRowHeights(True)
        self.tree.setSortingEnabled(True)
        self.tree.header().setSortIndicator(DEFAULT_SORT, Qt.SortOrder.DescendingOrder)
        for key, width in _WIDTHS.items():
            self.table.setColumnWidth(COLUMN_INDEX[key], width)
            self.tree.setColumnWidth(COLUMN_INDEX[key], width)
        self.tree.setColumnWidth(0, 230)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.tree)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addWidget(self.filter_bar)
        layout.addWidget(self.stack, 1)
        self._choices_timer = QTimer(self)
        self._choices_timer.setObjectName("filter-choices-refresh")
        self._choices_timer.setSingleShot(True)
        self._choices_timer.setInterval(CHOICES_REFRESH_MS)
        self._choices_timer.timeout.connect(self.refresh_choices)
        self.filter_bar.filter_changed.connect(self.set_filter)
        self.filter_bar.grouping_changed.connect(self.set_grouped)
        self.model.total_changed.connect(self.filter_bar.set_count)
        self.table.selectionModel().currentRowChanged.connect(self._table_current)
        self.tree.selectionModel().currentChanged.connect(self._tree_current)
        self.model.refresh()
        self.refresh_choices()

    @staticmethod
    def _setup_view(view: QTableView | QTreeView) -> None:
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setAlternatingRowColors(True)
        view.setWordWrap(False)
        view.setTextElideMode(Qt.TextElideMode.ElideRight)

    @property
    def grouped(self) -> bool:
        return self.stack.currentWidget() is self.tree

    def set_grouped(self, grouped: bool) -> None:
        if grouped == self.grouped:
            return
        if self.filter_bar.group.isChecked() != grouped:
            self.filter_bar.group.setChecked(grouped)
            return  # the checkbox's signal comes back here
        self.stack.setCurrentWidget(self.tree if grouped else self.table)
        if grouped:
            self.tree_model.set_filter(self.filter_bar.current())
            self.tree_model.refresh()

    def current_filter(self) -> InstanceFilter:
        """The filter the table shows now (what an export of "the instances shown" takes)."""
        return self.model.query.filter

    def set_filter(self, instance_filter: InstanceFilter) -> None:
        self.model.set_filter(instance_filter)
        if self.grouped:
            self.tree_model.set_filter(instance_filter)

    def set_live_interval(self, bridge_ms: int) -> None:
        self.model.set_live_interval(bridge_ms)
        self.tree_model.set_live_interval(bridge_ms)

    def refresh_choices(self) -> None:
        def work() -> tuple[list[str], list[str]]:
            return distinct_values(self._index, "modality"), distinct_values(
                self._index, "calling_ae"
            )

        self._workers.db(work, lambda result: self.filter_bar.set_choices(*result))

    def apply_events(self, batch: list[Event]) -> None:
        stored = False
        changed: list[int] = []
        touched: list[int] = []  # every instance whose study's row may differ now
        moved = False  # a new version under another study: its old study's row changed too
        for event in batch:
            if event.kind == events.INSTANCE_STORED:
                stored = True
                instance_id = int(event.data.get("instance_id") or 0)
                touched.append(instance_id)
                moved = moved or bool(event.data.get("moved_from_study"))
                if event.data.get("new_version", True):
                    changed.append(instance_id)
            elif event.kind == events.PIPELINE_RUN:
                changed.append(int(event.data.get("instance_id") or 0))
                touched.append(changed[-1])
        if stored:
            self.model.refresh_soon()
            if not self._choices_timer.isActive():
                self._choices_timer.start()
        if changed:
            self.model.invalidate(changed)
        if touched and self.grouped:
            self.tree_model.refresh_soon(None if moved else touched)

    def select_instance(self, instance_id: int) -> bool:
        """Select the row of this instance in the flat table if it is loaded."""
        row = self.model.row_of(instance_id)
        if row is None or self.grouped:
            return False
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(index)
        return True

    def current_instance(self) -> int | None:
        view = self.tree if self.grouped else self.table
        value = view.currentIndex().data(ID_ROLE)
        return int(value) if value is not None else None

    def stop(self) -> None:
        self._choices_timer.stop()
        self.filter_bar.stop()
        self.model.stop()
        self.tree_model.stop()

    def _table_current(self, current: QModelIndex, _previous: QModelIndex = QModelIndex()) -> None:
        instance_id = self.model.instance_id(current.row()) if current.isValid() else None
        if instance_id is not None:
            self.instance_selected.emit(instance_id)

    def _tree_current(self, current: QModelIndex, _previous: QModelIndex = QModelIndex()) -> None:
        if not current.isValid():
            return
        instance_id = current.data(ID_ROLE)
        if instance_id is not None:
            self.instance_selected.emit(int(instance_id))
            return
        study_uid = current.data(STUDY_UID_ROLE)
        if study_uid is not None:
            self.study_selected.emit(str(study_uid))
