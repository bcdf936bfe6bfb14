"""Instances grouped by study: studies at the top level, their instances fetched on expand.

Same columns as the instances table. Studies are paged in like the flat table's
rows (canFetchMore on the root); a study's instances are read on the worker the
first time the view expands it (canFetchMore/fetchMore on that study).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from intu_desktop.gui.models.colors import status_color
from intu_desktop.gui.models.instance_query import (
    COLUMN_INDEX,
    COLUMNS,
    DEFAULT_SORT,
    InstanceFilter,
    InstanceRow,
    plan_change,
)
from intu_desktop.gui.models.instance_table import (
    ID_ROLE,
    LIVE_REFRESH_MS,
    ROW_ROLE,
    live_refresh_ms,
)
from intu_desktop.gui.models.roles import DISPLAY, FOREGROUND, USER, RoleAnswers
from intu_desktop.gui.models.study_query import StudyRow, fetch_studies, fetch_study_instances
from intu_desktop.gui.workers import Workers
from intu_desktop.index.db import Index

log = logging.getLogger(__name__)

AnyIndex = QModelIndex | QPersistentModelIndex
STUDY_UID_ROLE = USER + 3
PAGE_SIZE = 500


@dataclass(eq=False)
class _Study:
    row: StudyRow
    position: int
    children: list[InstanceRow] | None = None  # None: not read yet
    loading: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class _Root:
    """The internal pointer of top-level indexes (children point at their _Study)."""


class StudyTreeModel(RoleAnswers, QAbstractItemModel):
    refreshed = Signal()

    def __init__(
        self,
        index: Index,
        workers: Workers,
        parent: QObject | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        super().__init__(parent)
        self._index = index
        self._workers = workers
        self._page = page_size
        self._root = _Root()
        self._studies: list[_Study] = []
        self._exposed = 0
        self._filter = InstanceFilter()
        self._sort = (DEFAULT_SORT, True)
        self._generation = 0
        self._refreshing = False
        self._again = False
        self._changing = False
        self._timer = QTimer(self)
        self._timer.setObjectName("studies-live-refresh")
        self._timer.setSingleShot(True)
        self._timer.setInterval(LIVE_REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    # -- structure -----------------------------------------------------------------------
    def _study_of(self, index: AnyIndex) -> _Study | None:
        """The study an index *is* (top level), else None."""
        if index.isValid() and isinstance(index.internalPointer(), _Root):
            row = index.row()
            return self._studies[row] if 0 <= row < self._exposed else None
        return None

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:
        if row < 0 or not 0 <= column < len(COLUMNS):
            return QModelIndex()
        if not parent.isValid():
            return (
                self.createIndex(row, column, self._root) if row < self._exposed else QModelIndex()
            )
        study = self._study_of(parent)
        if (
            study is None
            or parent.column() != 0
            or study.children is None
            or row >= len(study.children)
        ):
            return QModelIndex()
        return self.createIndex(row, column, study)

    def parent(self, index: AnyIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        owner = index.internalPointer()
        if isinstance(owner, _Study):
            return self.createIndex(owner.position, 0, self._root)
        return QModelIndex()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:
        if not parent.isValid():
            return self._exposed
        study = self._study_of(parent)
        if study is None or parent.column() != 0 or study.children is None:
            return 0
        return len(study.children)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return len(COLUMNS)

    def hasChildren(self, parent: AnyIndex = QModelIndex()) -> bool:
        if not parent.isValid():
            return self._exposed > 0
        study = self._study_of(parent)
        if study is None or parent.column() != 0:
            return False
        return study.children is None or len(study.children) > 0

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:
        if self._changing:  # no second change from inside the signals of the first
            return False
        if not parent.isValid():
            return self._exposed < len(self._studies)
        study = self._study_of(parent)
        return (
            study is not None
            and parent.column() == 0
            and study.children is None
            and not study.loading
        )

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:
        if self._changing:
            return
        if not parent.isValid():
            more = min(self._page, len(self._studies) - self._exposed)
            if more > 0:
                self.beginInsertRows(QModelIndex(), self._exposed, self._exposed + more - 1)
                self._exposed += more
                self.endInsertRows()
            return
        study = self._study_of(parent)
        if study is None or study.children is not None or study.loading:
            return
        self._load_children(study)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].title if 0 <= section < len(COLUMNS) else None
        return None

    def cell(self, index: AnyIndex, role: int) -> Any:
        column = index.column()
        study = self._study_of(index)
        if study is not None:
            if role == DISPLAY:
                return study.row.values[column]
            if role == STUDY_UID_ROLE:
                return study.row.study_uid
            return None
        owner = index.internalPointer()
        if (
            not isinstance(owner, _Study)
            or owner.children is None
            or index.row() >= len(owner.children)
        ):
            return None
        row = owner.children[index.row()]
        if role == DISPLAY:
            return row.values[column]
        if role == ID_ROLE:
            return row.id
        if role == ROW_ROLE:
            return row
        if role == STUDY_UID_ROLE:
            return row.study_uid
        if role == FOREGROUND and column == COLUMN_INDEX["pipeline"]:
            return status_color(row.pipeline_status)
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if not isinstance(index.internalPointer(), _Root):
            flags |= Qt.ItemFlag.ItemNeverHasChildren
        return flags

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = (column, order == Qt.SortOrder.DescendingOrder)
        if key != self._sort and 0 <= column < len(COLUMNS):
            self._sort = key
            self._generation += 1
            self.refresh()

    # -- queries ------------------------------------------------------------------------
    def set_filter(self, instance_filter: InstanceFilter) -> None:
        if instance_filter != self._filter:
            self._filter = instance_filter
            self._generation += 1
            self.refresh()

    def set_live_interval(self, bridge_ms: int) -> None:
        self._timer.setInterval(live_refresh_ms(bridge_ms))

    def refresh_soon(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def refresh(self) -> None:
        if self._workers.closed:
            return
        if self._refreshing:
            self._again = True
            return
        self._refreshing, self._again = True, False
        generation, flt, (column, descending) = self._generation, self._filter, self._sort
        self._workers.db(
            lambda: (generation, fetch_studies(self._index, flt, column, descending)),
            self._apply,
            self._failed,
        )

    def _failed(self, error: BaseException) -> None:
        self._refreshing = False
        log.error("reading studies failed: %s", error)

    def _apply(self, result: tuple[int, list[StudyRow]]) -> None:
        self._refreshing = False
        generation, rows = result
        if generation != self._generation:
            self.refresh()
            return
        self._changing = True
        try:
            self._apply_rows(rows)
        finally:
            self._changing = False
        self.refreshed.emit()
        if self._again:
            self.refresh()

    def _apply_rows(self, rows: list[StudyRow]) -> None:
        old = [s.row.study_uid for s in self._studies]
        plan = plan_change(old, [r.study_uid for r in rows])
        if plan.kind == "reset":
            self.beginResetModel()
            self._studies = [_Study(r, i) for i, r in enumerate(rows)]
            self._exposed = min(len(rows), max(self._page, self._exposed))
            self.endResetModel()
        else:
            if plan.kind == "prepend":
                self.beginInsertRows(QModelIndex(), 0, plan.count - 1)
                self._studies[0:0] = [_Study(r, 0) for r in rows[: plan.count]]
                self._exposed += plan.count
                self._renumber()
                self.endInsertRows()
            elif plan.kind == "append":
                added = [_Study(r, 0) for r in rows[len(old) :]]
                if self._exposed == len(self._studies):  # the end is showing: show them too
                    more = min(len(added), self._page)
                    self.beginInsertRows(QModelIndex(), self._exposed, self._exposed + more - 1)
                    self._studies.extend(added)
                    self._renumber()
                    self._exposed += more
                    self.endInsertRows()
                else:
                    self._studies.extend(added)
                    self._renumber()
            self._update_rows(rows)

    def _renumber(self) -> None:
        for i, study in enumerate(self._studies):
            study.position = i

    def _update_rows(self, rows: list[StudyRow]) -> None:
        for study, row in zip(self._studies, rows):
            if study.row == row:
                continue
            grew = study.row.instance_count != row.instance_count
            study.row = row
            if study.position < self._exposed:
                self.dataChanged.emit(
                    self.createIndex(study.position, 0, self._root),
                    self.createIndex(study.position, len(COLUMNS) - 1, self._root),
                )
                if grew and study.children is not None:
                    self._load_children(study)

    def _load_children(self, study: _Study) -> None:
        study.loading = True
        flt, uid, generation = self._filter, study.row.study_uid, self._generation
        self._workers.db(
            lambda: fetch_study_instances(self._index, flt, uid),
            lambda rows: self._children_arrived(study, generation, rows),
            self._failed_children(study),
        )

    def _failed_children(self, study: _Study) -> Any:
        def failed(error: BaseException) -> None:
            study.loading = False
            log.error("reading a study's instances failed: %s", error)

        return failed

    def _children_arrived(self, study: _Study, generation: int, rows: list[InstanceRow]) -> None:
        study.loading = False
        if (
            generation != self._generation
            or study not in self._studies
            or study.position >= self._exposed
        ):
            return
        parent = self.createIndex(study.position, 0, self._root)
        self._changing = True
        try:
            self._replace_children(study, parent, rows)
        finally:
            self._changing = False

    def _replace_children(
        self, study: _Study, parent: QModelIndex, rows: list[InstanceRow]
    ) -> None:
        if study.children:
            self.beginRemoveRows(parent, 0, len(study.children) - 1)
            study.children = []
            self.endRemoveRows()
        if rows:
            self.beginInsertRows(parent, 0, len(rows) - 1)
            study.children = rows
            self.endInsertRows()
        else:
            study.children = []
