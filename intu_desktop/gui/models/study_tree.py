"""Instances grouped by study: studies at the top level, their instances fetched on expand.

Same columns as the instances table. Studies are paged in like the flat table's
rows (canFetchMore on the root); a study's instances are read on the worker the
first time the view expands it (canFetchMore/fetchMore on that study).

While a study arrives, a live refresh re-aggregates only the studies the new or changed
instances belong to (not every study in the index: ~0.4 s at 200,000 instances), moves
them to their place in the default order and inserts the new instances of an expanded
study among the old ones: rows move or appear, they are never reset, so what the user
selected or expanded stays selected and expanded.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable
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
from intu_desktop.gui.models.study_query import (
    StudyRow,
    arrival_key,
    fetch_studies,
    fetch_study_instances,
    fetch_touched_studies,
)
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
        self._full_needed = True  # the next refresh reads every study
        self._touched: set[int] = set()  # instances stored or changed since the last refresh
        self._timer = QTimer(self)
        self._timer.setObjectName("studies-live-refresh")
        self._timer.setSingleShot(True)
        self._timer.setInterval(LIVE_REFRESH_MS)
        self._timer.timeout.connect(self._start)

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
                # A view or tester reacting to the insertion must not page in again inside it.
                self._changing = True
                try:
                    self.beginInsertRows(QModelIndex(), self._exposed, self._exposed + more - 1)
                    self._exposed += more
                    self.endInsertRows()
                finally:
                    self._changing = False
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

    def refresh_soon(self, instance_ids: Iterable[int] | None = None) -> None:
        """Refresh after the live interval: only the studies of these instances when they
        are given (stored or changed ones), every study when not."""
        if instance_ids is None:
            self._full_needed = True
        else:
            self._touched.update(instance_ids)
        if not self._timer.isActive():
            self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def refresh(self) -> None:
        """Read every study again."""
        self._full_needed = True
        self._start()

    def _start(self) -> None:
        if self._workers.closed:
            return
        if self._refreshing:
            self._again = True
            return
        self._refreshing, self._again = True, False
        generation, flt, (column, descending) = self._generation, self._filter, self._sort
        index = self._index
        if self._full_needed or self._sort != (DEFAULT_SORT, True):
            # Other sorts than newest-first may move any study: read them all.
            self._full_needed = False
            self._touched.clear()
            self._workers.db(
                lambda: (generation, fetch_studies(index, flt, column, descending)),
                self._apply,
                self._failed,
            )
        elif self._touched:
            ids, self._touched = self._touched, set()
            self._workers.db(
                lambda: (generation, fetch_touched_studies(index, flt, ids)),
                self._apply_touched,
                self._failed,
            )
        else:
            self._refreshing = False

    def _failed(self, error: BaseException) -> None:
        self._refreshing = False
        self._full_needed = True  # what was touched is unknown now
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
        self._finish()

    def _apply_touched(self, result: tuple[int, tuple[set[str], list[StudyRow]]]) -> None:
        self._refreshing = False
        generation, (touched, rows) = result
        if generation != self._generation:
            self.refresh()
            return
        self._changing = True
        try:
            self._merge_touched(touched, rows)
        finally:
            self._changing = False
        self._finish()

    def _finish(self) -> None:
        self.refreshed.emit()
        if self._again:
            self._start()

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

    def _merge_touched(self, touched: set[str], rows: list[StudyRow]) -> None:
        """Bring the touched studies to their rows of the newest-first order, by moves and
        insertions (the others keep their order: nothing of theirs changed)."""
        fresh = {row.study_uid: row for row in rows}
        for position in reversed(range(len(self._studies))):
            uid = self._studies[position].row.study_uid
            if uid in touched and uid not in fresh:  # no longer matches the filter
                self._remove_study(position)
        known = {study.row.study_uid: study for study in self._studies}
        changed: list[_Study] = []
        for row in rows:
            study = known.get(row.study_uid)
            if study is None:
                changed.append(_Study(row, -1))
            else:
                study.row = row
                changed.append(study)
        key = lambda study: arrival_key(study.row)  # noqa: E731
        untouched = [study for study in self._studies if study.row.study_uid not in fresh]
        changed_in_order = sorted(changed, key=key, reverse=True)
        target = list(heapq.merge(untouched, changed_in_order, key=key, reverse=True))
        for position, study in enumerate(target):
            if position < len(self._studies) and self._studies[position] is study:
                continue
            if study.position < 0:
                self._insert_study(position, study)
            else:  # further down: everything above it is in place already
                self._move_study_up(self._studies.index(study, position), position)
        for study in changed:
            if study.position < self._exposed:
                self.dataChanged.emit(
                    self.createIndex(study.position, 0, self._root),
                    self.createIndex(study.position, len(COLUMNS) - 1, self._root),
                )
                if study.children is not None and not study.loading:
                    self._load_children(study)

    def _insert_study(self, position: int, study: _Study) -> None:
        if position < self._exposed or self._exposed == len(self._studies):
            self.beginInsertRows(QModelIndex(), position, position)
            self._studies.insert(position, study)
            self._exposed += 1
            self._renumber()
            self.endInsertRows()
        else:  # below what the view has paged in: it will page it in
            self._studies.insert(position, study)
            self._renumber()

    def _move_study_up(self, source: int, position: int) -> None:
        if source < self._exposed:
            self.beginMoveRows(QModelIndex(), source, source, QModelIndex(), position)
            self._studies.insert(position, self._studies.pop(source))
            self._renumber()
            self.endMoveRows()
        else:  # from below the paged-in rows: to the view it is a new row
            study = self._studies.pop(source)
            self._renumber()
            self._insert_study(position, study)

    def _remove_study(self, position: int) -> None:
        if position < self._exposed:
            self.beginRemoveRows(QModelIndex(), position, position)
            self._studies.pop(position)
            self._exposed -= 1
            self._renumber()
            self.endRemoveRows()
        else:
            self._studies.pop(position)
            self._renumber()

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
        if study.children and _in_order_within(study.children, rows):
            self._insert_new_children(study, parent, rows)
            return
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

    def _insert_new_children(
        self, study: _Study, parent: QModelIndex, rows: list[InstanceRow]
    ) -> None:
        """Insert the instances that are new, run by run, where they sort; then repaint the
        ones that changed (pipeline status). A selected instance stays selected."""
        children = study.children
        assert children is not None
        old = {row.id for row in children}
        position = 0
        while position < len(rows):
            if rows[position].id in old:
                position += 1
                continue
            start = position
            while position < len(rows) and rows[position].id not in old:
                position += 1
            self.beginInsertRows(parent, start, position - 1)
            children[start:start] = rows[start:position]
            self.endInsertRows()
        for position, row in enumerate(rows):
            if children[position] != row:
                children[position] = row
                self.dataChanged.emit(
                    self.createIndex(position, 0, study),
                    self.createIndex(position, len(COLUMNS) - 1, study),
                )


def _in_order_within(old: list[InstanceRow], new: list[InstanceRow]) -> bool:
    """Whether every old row is still there, in the same order (new rows only added)."""
    where = {row.id: position for position, row in enumerate(new)}
    positions = [where.get(row.id, -1) for row in old]
    return all(p >= 0 for p in positions) and all(a < b for a, b in zip(positions, positions[1:]))
