"""What the instances view asks the index: filter and sort in, row ids and display rows out.

No Qt: these functions run on the database worker thread and are unit-testable.
Rows come back already formatted, so the GUI thread only looks strings up.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from intu_desktop.dicom.names import sop_class_name, transfer_syntax_name
from intu_desktop.gui.formatting import dicom_date, human_bytes, local_time, person_name
from intu_desktop.index.db import Index


@dataclass(frozen=True)
class Column:
    key: str  # stable name, used for saved column layouts
    title: str
    order_by: str  # SQL expression the column sorts by
    numeric: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("patient", "Patient", "patient_name"),
    Column("patient_id", "Patient ID", "patient_id"),
    Column("study_date", "Study date", "study_date"),
    Column("modality", "Modality", "modality"),
    Column("study_description", "Study description", "study_description"),
    Column("series", "Series", "CAST(series_number AS INTEGER)"),
    Column("sop_class", "SOP class", "sop_class_uid"),
    Column("transfer_syntax", "Transfer syntax", "transfer_syntax"),
    Column("size", "Size", "size", numeric=True),
    Column("calling_ae", "Calling AE", "calling_ae"),
    Column("received", "Received", "received_at"),
    Column("pipeline", "Pipeline", "pipeline_status"),
)
COLUMN_INDEX = {c.key: i for i, c in enumerate(COLUMNS)}
DEFAULT_SORT = COLUMN_INDEX["received"]

_ROW_FIELDS = (
    "id, patient_name, patient_id, study_date, modality, study_description, series_number, "
    "series_description, sop_class_uid, transfer_syntax, size, calling_ae, received_at, "
    "pipeline_status, sop_uid, study_uid, series_uid, storage_path"
)
# Columns the free-text box searches (LIKE, case-insensitive for ASCII).
_TEXT_FIELDS = (
    "patient_name",
    "patient_id",
    "study_description",
    "series_description",
    "accession_number",
    "modality",
    "calling_ae",
    "sop_uid",
    "study_uid",
    "series_uid",
)


@dataclass(frozen=True)
class InstanceFilter:
    text: str = ""
    modality: str = ""
    calling_ae: str = ""
    received_since: float | None = None  # epoch seconds
    study_date_from: str = ""  # DICOM DA YYYYMMDD, inclusive
    study_date_to: str = ""
    study_uid: str = ""

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for word in self.text.split():
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            clauses.append("(" + " OR ".join(f"{f} LIKE ? ESCAPE '\\'" for f in _TEXT_FIELDS) + ")")
            params.extend([pattern] * len(_TEXT_FIELDS))
        if self.modality:
            clauses.append("modality = ?")
            params.append(self.modality)
        if self.calling_ae:
            clauses.append("calling_ae = ?")
            params.append(self.calling_ae)
        if self.received_since is not None:
            clauses.append("received_at >= ?")
            params.append(float(self.received_since))
        if self.study_date_from:
            clauses.append("study_date >= ?")
            params.append(self.study_date_from)
        if self.study_date_to:
            clauses.append("study_date <> '' AND study_date <= ?")
            params.append(self.study_date_to)
        if self.study_uid:
            clauses.append("study_uid = ?")
            params.append(self.study_uid)
        return (" AND ".join(clauses), params)


@dataclass(frozen=True)
class InstanceQuery:
    filter: InstanceFilter = field(default_factory=InstanceFilter)
    sort_column: int = DEFAULT_SORT
    descending: bool = True

    def order_by(self) -> str:
        direction = "DESC" if self.descending else "ASC"
        column = (
            COLUMNS[self.sort_column]
            if 0 <= self.sort_column < len(COLUMNS)
            else COLUMNS[DEFAULT_SORT]
        )
        # The id breaks ties, so the order is total and pages never overlap.
        return f"{column.order_by} {direction}, id {direction}"


@dataclass(frozen=True)
class InstanceRow:
    id: int
    values: tuple[str, ...]  # display text per column of COLUMNS
    sop_class_uid: str
    transfer_syntax_uid: str
    sop_uid: str
    study_uid: str
    series_uid: str
    storage_path: str
    pipeline_status: str


def fetch_ids(index: Index, query: InstanceQuery) -> list[int]:
    where, params = query.filter.where()
    sql = (
        f"SELECT id FROM instances {'WHERE ' + where if where else ''} ORDER BY {query.order_by()}"
    )
    return [int(r[0]) for r in index.query(sql, params)]


def arrivals_first(query: InstanceQuery) -> bool:
    """Whether new arrivals always sort first: the newest received at the top (the default)."""
    return query.sort_column == DEFAULT_SORT and query.descending


def fetch_newer(index: Index, query: InstanceQuery, after_id: int, after_time: float) -> list[tuple[int, float]]:
    """(id, received time) of the rows a view showing ids up to `after_id`, the newest received
    at `after_time`, has not seen at its top: new rows (a higher id) and rows a re-sent instance
    updated in place (a later received time), newest first (the `arrivals_first` sort).

    Two range lookups, one on the id and one on the received_at index, merged here: as one
    query (an OR, or a UNION with its ORDER BY) SQLite scans the whole received_at index.
    """
    where, params = query.filter.where()
    also = where + " AND " if where else ""
    found: dict[int, float] = {}
    for condition, value in (("id > ?", after_id), ("received_at > ?", after_time)):
        sql = f"SELECT id, received_at FROM instances WHERE {also}{condition}"
        found.update((int(r[0]), float(r[1] or 0.0)) for r in index.query(sql, [*params, value]))
    return sorted(found.items(), key=lambda item: (item[1], item[0]), reverse=True)


def received_at(index: Index, instance_id: int) -> float | None:
    rows = index.query("SELECT received_at FROM instances WHERE id = ?", (instance_id,))
    return float(rows[0][0] or 0.0) if rows else None


# SQLite's default limit on host parameters is 999 in old builds: stay under it.
_MAX_PARAMETERS = 900


def parameter_chunks(values: Sequence[Any]) -> Iterator[tuple[list[Any], str]]:
    """`values` in slices small enough for one statement's host parameters, each with its
    `?,?,...` marks for an `IN (...)`."""
    for start in range(0, len(values), _MAX_PARAMETERS):
        chunk = list(values[start : start + _MAX_PARAMETERS])
        yield chunk, ",".join("?" * len(chunk))


def fetch_rows(index: Index, ids: Sequence[int]) -> dict[int, InstanceRow]:
    rows: dict[int, InstanceRow] = {}
    for chunk, marks in parameter_chunks(ids):
        for r in index.query(f"SELECT {_ROW_FIELDS} FROM instances WHERE id IN ({marks})", chunk):
            row = to_row(r)
            rows[row.id] = row
    return rows


def to_row(r: Any) -> InstanceRow:
    series = " ".join(
        p for p in (str(r["series_number"] or ""), str(r["series_description"] or "")) if p
    )
    values = (
        person_name(r["patient_name"]),
        str(r["patient_id"] or ""),
        dicom_date(r["study_date"]),
        str(r["modality"] or ""),
        str(r["study_description"] or ""),
        series,
        sop_class_name(str(r["sop_class_uid"] or "")),
        transfer_syntax_name(str(r["transfer_syntax"] or "")),
        human_bytes(int(r["size"] or 0)),
        str(r["calling_ae"] or ""),
        local_time(r["received_at"]),
        str(r["pipeline_status"] or ""),
    )
    return InstanceRow(
        id=int(r["id"]),
        values=values,
        sop_class_uid=str(r["sop_class_uid"] or ""),
        transfer_syntax_uid=str(r["transfer_syntax"] or ""),
        sop_uid=str(r["sop_uid"] or ""),
        study_uid=str(r["study_uid"] or ""),
        series_uid=str(r["series_uid"] or ""),
        storage_path=str(r["storage_path"] or ""),
        pipeline_status=str(r["pipeline_status"] or ""),
    )


def distinct_values(index: Index, column: str, limit: int = 200) -> list[str]:
    """Choices for the modality and calling-AE filters."""
    if column not in ("modality", "calling_ae"):
        raise ValueError(column)
    rows = index.query(
        f"SELECT DISTINCT {column} FROM instances WHERE {column} <> '' ORDER BY {column} LIMIT ?",
        (limit,),
    )
    return [str(r[0]) for r in rows]


@dataclass(frozen=True)
class RowPlan:
    """How to turn the rows a model shows into a new id list with the fewest signals."""

    kind: str  # "same" | "prepend" | "append" | "reset"
    count: int = 0  # rows added for prepend/append


def plan_change(old: Sequence[Any], new: Sequence[Any]) -> RowPlan:
    """New arrivals land at one end in the usual sorts (received time): insert, don't reset."""
    n_old, n_new = len(old), len(new)
    if n_old == 0:
        return RowPlan("same") if n_new == 0 else RowPlan("reset")
    if n_new >= n_old:
        added = n_new - n_old
        if added == 0:
            return RowPlan("same") if list(old) == list(new) else RowPlan("reset")
        if list(new[added:]) == list(old):
            return RowPlan("prepend", added)
        if list(new[:n_old]) == list(old):
            return RowPlan("append", added)
    return RowPlan("reset")
