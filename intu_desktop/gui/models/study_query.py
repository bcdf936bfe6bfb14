"""Instances grouped by study: one aggregate row per study, its instances on demand (no Qt)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from intu_desktop.gui.formatting import dicom_date, human_bytes, local_time, person_name
from intu_desktop.gui.models.instance_query import (
    COLUMN_INDEX,
    InstanceFilter,
    InstanceRow,
    fetch_rows,
    parameter_chunks,
)
from intu_desktop.index.db import Index

# Sort expressions over the aggregates, by instance column; others sort by last arrival.
_STUDY_ORDER = {
    COLUMN_INDEX["patient"]: "patient_name",
    COLUMN_INDEX["patient_id"]: "patient_id",
    COLUMN_INDEX["study_date"]: "study_date",
    COLUMN_INDEX["modality"]: "modalities",
    COLUMN_INDEX["study_description"]: "study_description",
    COLUMN_INDEX["series"]: "series_count",
    COLUMN_INDEX["sop_class"]: "instance_count",
    COLUMN_INDEX["size"]: "total_size",
    COLUMN_INDEX["calling_ae"]: "calling_aes",
    COLUMN_INDEX["received"]: "last_received",
}


@dataclass(frozen=True)
class StudyRow:
    study_uid: str
    values: tuple[str, ...]  # display text per instance column
    instance_count: int
    last_received: float = 0.0  # the sort key of the default order (newest arrival first)


def fetch_studies(
    index: Index, instance_filter: InstanceFilter, sort_column: int, descending: bool
) -> list[StudyRow]:
    where, params = instance_filter.where()
    order = _STUDY_ORDER.get(sort_column, "last_received")
    direction = "DESC" if descending else "ASC"
    sql = f"{_aggregate(where)} ORDER BY {order} {direction}, study_uid {direction}"
    return [_study_row(r) for r in index.query(sql, params)]


def fetch_touched_studies(
    index: Index, instance_filter: InstanceFilter, instance_ids: Iterable[int]
) -> tuple[set[str], list[StudyRow]]:
    """The studies these instances belong to, and their rows aggregated again under the
    filter: what a live refresh needs instead of every study (a study touched but absent
    from the rows no longer matches the filter)."""
    touched: set[str] = set()
    for chunk, marks in parameter_chunks(sorted(set(instance_ids))):
        sql = f"SELECT DISTINCT study_uid FROM instances WHERE id IN ({marks})"
        touched.update(str(r[0] or "") for r in index.query(sql, chunk))
    where, params = instance_filter.where()
    rows: list[StudyRow] = []
    for chunk, marks in parameter_chunks(sorted(touched)):
        condition = f"study_uid IN ({marks})"
        sql = _aggregate(f"{where} AND {condition}" if where else condition)
        rows.extend(_study_row(r) for r in index.query(sql, [*params, *chunk]))
    return touched, rows


def arrival_key(row: StudyRow) -> tuple[float, str]:
    """The default order of the studies (newest arrival first) as a descending sort key."""
    return row.last_received, row.study_uid


def _aggregate(where: str) -> str:
    return (
        "SELECT study_uid, MAX(patient_name) AS patient_name, MAX(patient_id) AS patient_id, "
        "MAX(study_date) AS study_date, GROUP_CONCAT(DISTINCT modality) AS modalities, "
        "MAX(study_description) AS study_description, COUNT(DISTINCT series_uid) AS series_count, "
        "COUNT(*) AS instance_count, SUM(size) AS total_size, GROUP_CONCAT(DISTINCT calling_ae) AS calling_aes, "
        "MAX(received_at) AS last_received, "
        "SUM(pipeline_status IN ('error', 'invalid')) AS failed, SUM(pipeline_status = 'pending') AS pending "
        f"FROM instances {'WHERE ' + where if where else ''} GROUP BY study_uid"
    )


def _study_row(r: Any) -> StudyRow:
    count = int(r["instance_count"] or 0)
    failed, pending = int(r["failed"] or 0), int(r["pending"] or 0)
    status = f"{failed} failed" if failed else (f"{pending} pending" if pending else "ok")
    values = (
        person_name(r["patient_name"]),
        str(r["patient_id"] or ""),
        dicom_date(r["study_date"]),
        str(r["modalities"] or "").replace(",", ", "),
        str(r["study_description"] or ""),
        f"{int(r['series_count'] or 0)} series",
        f"{count} instance{'s' if count != 1 else ''}",
        "",
        human_bytes(int(r["total_size"] or 0)),
        str(r["calling_aes"] or "").replace(",", ", "),
        local_time(r["last_received"]),
        status,
    )
    return StudyRow(str(r["study_uid"] or ""), values, count, float(r["last_received"] or 0.0))


def fetch_study_instances(
    index: Index, instance_filter: InstanceFilter, study_uid: str
) -> list[InstanceRow]:
    where, params = instance_filter.where()
    where = f"{where} AND study_uid = ?" if where else "study_uid = ?"
    params = [*params, study_uid]
    ids = [
        int(r[0])
        for r in index.query(
            f"SELECT id FROM instances WHERE {where} "
            "ORDER BY CAST(series_number AS INTEGER), series_uid, CAST(instance_number AS INTEGER), id",
            params,
        )
    ]
    rows = fetch_rows(index, ids)
    return [rows[i] for i in ids if i in rows]
