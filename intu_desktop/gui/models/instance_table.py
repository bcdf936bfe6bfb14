"""The instances table: a QAbstractTableModel over row ids with a lazily filled row cache.

STYLE practice 3 (Anki's browser table): the worker fetches the ordered list of ids
that match the filter (cheap ints), the model exposes them a page at a time through
canFetchMore/fetchMore, and row values are read in pages on the worker when a view
first asks for them. Sorting and filtering re-query on the worker; the result is
applied on the GUI thread with the fewest signals (new arrivals are inserted, not a
reset), so selection and scroll position survive a burst of arrivals.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QModelRoleData,
    QModelRoleDataSpan,
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
    InstanceFilter,
    InstanceQuery,
    InstanceRow,
    RowPlan,
    arrivals_first,
    fetch_ids,
    fetch_newer,
    fetch_rows,
    plan_change,
    received_at,
)
from intu_desktop.gui.models.roles import role_items
from intu_desktop.gui.workers import Workers
from intu_desktop.index.db import Index

log = logging.getLogger(__name__)

PAGE_SIZE = 500
PLACEHOLDER = "…"
ID_ROLE = int(Qt.ItemDataRole.UserRole) + 1
ROW_ROLE = int(Qt.ItemDataRole.UserRole) + 2
# Beyond this many cached rows the cache starts over; visible rows re-read lazily.
CACHE_LIMIT = 20_000
# Live arrivals re-query at most this often.
LIVE_REFRESH_MS = 500

AnyIndex = QModelIndex | QPersistentModelIndex

_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_ROLES = frozenset({_DISPLAY, _TOOLTIP, _FOREGROUND, _ALIGNMENT, ID_ROLE, ROW_ROLE})
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_COLUMN_COUNT = len(COLUMNS)
_PIPELINE = COLUMN_INDEX["pipeline"]
_SOP_CLASS = COLUMN_INDEX["sop_class"]
_TRANSFER_SYNTAX = COLUMN_INDEX["transfer_syntax"]


def live_refresh_ms(bridge_ms: int) -> int:
    """How often the live views re-query: less often while the GUI thread is short of time
    (the event bridge's interval grows then), never more often than LIVE_REFRESH_MS."""
    return max(LIVE_REFRESH_MS, 2 * bridge_ms)


@dataclass
class _Refresh:
    generation: int
    query: InstanceQuery
    ids: list[int]
    plan: RowPlan
    rows: dict[int, InstanceRow]
    # id -> place counted from the end of ids: prepending rows leaves the others' places alone
    positions: dict[int, int]
    merge: bool  # positions holds only the prepended rows, to add to the known ones
    newest_id: int


class InstanceTableModel(QAbstractTableModel):
    """Rows are instance ids; `refreshed` is emitted each time a query result is applied."""

    refreshed = Signal()
    total_changed = Signal(int)

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
        self._page = max(1, page_size)
        self._query = InstanceQuery()
        self._ids: list[int] = []
        self._ids_query: InstanceQuery | None = None  # the query self._ids answer
        self._pos: dict[int, int] = {}  # id -> place counted from the end of self._ids
        self._newest_id = 0  # the highest id among self._ids
        self._exposed = 0
        self._cache: dict[int, InstanceRow] = {}
        self._requested: set[int] = set()
        self._wanted_rows: set[int] = set()
        self._generation = 0
        self._refreshing = False
        self._refresh_again = False
        self._loaded_once = False
        self._changing = False
        self._live_timer = QTimer(self)
        self._live_timer.setObjectName("instances-live-refresh")
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_REFRESH_MS)
        self._live_timer.timeout.connect(self.refresh)
        self._fetch_timer = QTimer(self)
        self._fetch_timer.setObjectName("instances-row-fetch")
        self._fetch_timer.setSingleShot(True)
        self._fetch_timer.setInterval(0)
        self._fetch_timer.timeout.connect(self._fetch_wanted)

    # -- what the view asks --------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._exposed

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section].title
        return None

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:
        # Overridden so a view's index() is one call into Python, not two (rowCount and
        # columnCount through hasIndex): each call from Qt into Python takes the GIL,
        # which the receiver's threads are competing for.
        if parent.isValid() or not (0 <= row < self._exposed and 0 <= column < _COLUMN_COUNT):
            return QModelIndex()
        return self.createIndex(row, column)

    def data(self, index: AnyIndex, role: int = _DISPLAY) -> Any:
        if not index.isValid() or not 0 <= index.row() < self._exposed:
            return None
        return self._value(index.row(), index.column(), int(role))

    def multiData(self, index: AnyIndex, roles: QModelRoleDataSpan | QModelRoleData) -> None:
        # Delegates ask for ~7 roles per cell at once: answering them in one call into
        # Python instead of seven keeps painting cheap while associations are busy.
        if not index.isValid() or not 0 <= index.row() < self._exposed:
            return
        row, column = index.row(), index.column()
        for item in role_items(roles):
            value = self._value(row, column, item.role())
            if value is not None:
                item.setData(value)
            else:
                item.clearData()  # the span is reused between cells: never leave a stale value

    def _value(self, row: int, column: int, role: int) -> Any:
        if role not in _ROLES:
            return None
        row_id = self._ids[row]
        if role == ID_ROLE:
            return row_id
        if role == _ALIGNMENT:
            return _RIGHT if COLUMNS[column].numeric else None
        cached = self._cache.get(row_id)
        if cached is None:
            self._want(row)
            return PLACEHOLDER if role == _DISPLAY else None
        if role == _DISPLAY:
            return cached.values[column]
        if role == ROW_ROLE:
            return cached
        if role == _FOREGROUND:
            return status_color(cached.pipeline_status) if column == _PIPELINE else None
        if column == _SOP_CLASS:  # tooltip: the UID behind the name
            return cached.sop_class_uid
        if column == _TRANSFER_SYNTAX:
            return cached.transfer_syntax_uid
        return None

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:
        # Never while rows are being inserted or the model reset: a view (or a tester)
        # reacting to those signals must not start a second change inside the first.
        return not parent.isValid() and not self._changing and self._exposed < len(self._ids)

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:
        if parent.isValid() or self._changing:
            return
        more = min(self._page, len(self._ids) - self._exposed)
        if more <= 0:
            return
        first = self._exposed
        self._changing = True
        self.beginInsertRows(QModelIndex(), first, first + more - 1)
        self._exposed += more
        self.endInsertRows()
        self._changing = False

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if (column, descending) == (self._query.sort_column, self._query.descending):
            return
        self._set_query(replace(self._query, sort_column=column, descending=descending))

    # -- what the window asks ----------------------------------------------------------
    @property
    def query(self) -> InstanceQuery:
        return self._query

    @property
    def total(self) -> int:
        """Rows matching the filter (exposed or not)."""
        return len(self._ids)

    @property
    def busy(self) -> bool:
        return self._refreshing

    def set_filter(self, instance_filter: InstanceFilter) -> None:
        if instance_filter != self._query.filter:
            self._set_query(replace(self._query, filter=instance_filter))

    def instance_id(self, row: int) -> int | None:
        return self._ids[row] if 0 <= row < self._exposed else None

    def row_of(self, instance_id: int) -> int | None:
        pos = self._pos.get(instance_id)
        if pos is None:
            return None
        row = len(self._ids) - 1 - pos
        return row if 0 <= row < self._exposed else None

    def cached_row(self, instance_id: int) -> InstanceRow | None:
        return self._cache.get(instance_id)

    def set_live_interval(self, bridge_ms: int) -> None:
        self._live_timer.setInterval(live_refresh_ms(bridge_ms))

    def refresh_soon(self) -> None:
        """New rows arrived: re-query, at most every LIVE_REFRESH_MS (longer under load)."""
        if not self._live_timer.isActive():
            self._live_timer.start()

    def invalidate(self, instance_ids: list[int]) -> None:
        """These rows changed (pipeline status, new version): read them again."""
        for instance_id in instance_ids:
            self._cache.pop(instance_id, None)
            row = self.row_of(instance_id)
            if row is not None:
                self._want(row)

    def refresh(self) -> None:
        if self._workers.closed:
            return
        if self._refreshing:
            self._refresh_again = True
            return
        self._refreshing = True
        self._refresh_again = False
        generation, query, old_ids, page = self._generation, self._query, self._ids, self._page
        first_rows = max(self._page, self._exposed)
        newest_id = self._newest_id
        incremental = bool(old_ids) and self._ids_query == query and arrivals_first(query)

        def everything() -> _Refresh:
            ids = fetch_ids(self._index, query)
            plan = plan_change(old_ids, ids)
            if plan.kind in ("prepend", "append") and plan.count > page:
                plan = RowPlan("reset")  # e.g. a cleared filter: start again from the first page
            head = ids[: plan.count] if plan.kind == "prepend" else ids[:first_rows]
            if plan.kind == "append":
                head = ids[len(old_ids) : len(old_ids) + self._page]
            rows = fetch_rows(self._index, head) if plan.kind != "same" else {}
            n = len(ids)
            positions = {row_id: n - 1 - i for i, row_id in enumerate(ids)} if plan.kind != "same" else {}
            return _Refresh(generation, query, ids, plan, rows, positions, False, max(ids, default=0))

        def arrivals() -> _Refresh | None:
            """New rows at the top of the default sort: read those only, not every id again
            (which costs ~0.4 s per refresh with 200,000 instances). None: read everything."""
            top = received_at(self._index, old_ids[0])
            if top is None:
                return None
            newer = fetch_newer(self._index, query, newest_id, top)
            if not newer:
                return _Refresh(generation, query, old_ids, RowPlan("same"), {}, {}, True, newest_id)
            if len(newer) > page or newer[-1][1] < top or any(row_id <= newest_id for row_id, _t in newer):
                return None  # many at once, one that sorts below the top, or a re-sent one moved up
            fresh = [row_id for row_id, _t in newer]
            ids = fresh + old_ids
            n = len(ids)
            positions = {row_id: n - 1 - j for j, row_id in enumerate(fresh)}
            return _Refresh(generation, query, ids, RowPlan("prepend", len(fresh)),
                            fetch_rows(self._index, fresh), positions, True, max(newest_id, *fresh))

        def work() -> _Refresh:
            return (arrivals() if incremental else None) or everything()

        self._workers.db(work, self._apply, self._failed)

    def stop(self) -> None:
        self._live_timer.stop()
        self._fetch_timer.stop()

    # -- internals ---------------------------------------------------------------------
    def _set_query(self, query: InstanceQuery) -> None:
        self._query = query
        self._generation += 1
        self.refresh()

    def _failed(self, error: BaseException) -> None:
        self._refreshing = False
        log.error("reading the instance list failed: %s", error)

    def _apply(self, result: _Refresh) -> None:
        self._refreshing = False
        if result.generation != self._generation:
            self.refresh()  # the query changed meanwhile: this answer is stale
            return
        plan = result.plan
        self._cache.update(result.rows)
        self._changing = True
        try:
            self._apply_plan(result)
        finally:
            self._changing = False
        if len(self._cache) > CACHE_LIMIT:
            self._cache = dict(result.rows)
            self._requested.clear()
        self._loaded_once = True
        if plan.kind != "same":
            self.total_changed.emit(len(self._ids))
        self.refreshed.emit()
        if self._refresh_again:
            self.refresh()

    def _take(self, result: _Refresh) -> None:
        """The ids, their places and the newest id of a result (inside begin/end of a change)."""
        self._ids, self._ids_query, self._newest_id = result.ids, result.query, result.newest_id
        if result.merge:
            self._pos.update(result.positions)
        else:
            self._pos = result.positions

    def _apply_plan(self, result: _Refresh) -> None:
        plan = result.plan
        if plan.kind == "prepend":
            self.beginInsertRows(QModelIndex(), 0, plan.count - 1)
            self._take(result)
            self._exposed += plan.count
            self.endInsertRows()
        elif plan.kind == "append":
            if self._exposed == len(self._ids):  # the end is showing: the arrivals join it
                more = min(plan.count, self._page)
                # The id list changes inside begin/end only: a model tester or view that
                # asks canFetchMore() from rowsAboutToBeInserted must see the old state.
                self.beginInsertRows(QModelIndex(), self._exposed, self._exposed + more - 1)
                self._take(result)
                self._exposed += more
                self.endInsertRows()
            else:
                self._take(result)
        elif plan.kind == "reset":
            keep = self._exposed if self._loaded_once else 0
            self.beginResetModel()
            self._take(result)
            self._exposed = min(len(self._ids), max(self._page, keep))
            self._requested.clear()
            self._wanted_rows.clear()
            self.endResetModel()
        else:
            self._ids_query = result.query  # the same ids answer this query too

    def _want(self, row: int) -> None:
        self._wanted_rows.add(row)
        if not self._fetch_timer.isActive():
            self._fetch_timer.start()

    def _fetch_wanted(self) -> None:
        """Read the rows views asked for, a page around each, in one worker call."""
        if not self._wanted_rows or self._workers.closed:
            return
        ids: list[int] = []
        seen: set[int] = set()
        for row in sorted(self._wanted_rows):
            lo, hi = max(0, row - 20), min(self._exposed, row + 100)
            for r in range(lo, hi):
                row_id = self._ids[r]
                if (
                    row_id not in self._cache
                    and row_id not in self._requested
                    and row_id not in seen
                ):
                    seen.add(row_id)
                    ids.append(row_id)
        self._wanted_rows.clear()
        if not ids:
            return
        self._requested.update(ids)

        def arrived(rows: dict[int, InstanceRow]) -> None:
            self._requested.difference_update(ids)
            self._rows_arrived(rows)

        def failed(error: BaseException) -> None:
            self._requested.difference_update(ids)
            log.error("reading instance rows failed: %s", error)

        self._workers.db(lambda: fetch_rows(self._index, ids), arrived, failed)

    def _rows_arrived(self, rows: dict[int, InstanceRow]) -> None:
        self._cache.update(rows)
        changed = [r for r in (self.row_of(i) for i in rows) if r is not None]
        if changed:
            self.dataChanged.emit(
                self.index(min(changed), 0), self.index(max(changed), len(COLUMNS) - 1)
            )
