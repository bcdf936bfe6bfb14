"""Which instances a thumbnail grid or the live strip shows (worker-thread queries, no Qt)."""

from __future__ import annotations

from typing import Any

from intu_desktop.gui.formatting import dicom_date
from intu_desktop.gui.models.thumbnail_list import ThumbItem
from intu_desktop.index.db import Index

_FIELDS = (
    "id, storage_path, sop_uid, modality, series_number, instance_number, study_uid, series_uid"
)


def _label(r: Any) -> str:
    parts = [str(r["modality"] or "")]
    if r["series_number"]:
        parts.append(f"S{r['series_number']}")
    if r["instance_number"]:
        parts.append(f"#{r['instance_number']}")
    return " ".join(p for p in parts if p) or "instance"


def _item(r: Any) -> ThumbItem:
    return ThumbItem(int(r["id"]), str(r["storage_path"]), str(r["sop_uid"]), _label(r))


def latest_items(index: Index, limit: int) -> list[ThumbItem]:
    rows = index.query(
        f"SELECT {_FIELDS} FROM instances ORDER BY received_at DESC, id DESC LIMIT ?", (limit,)
    )
    return [_item(r) for r in rows]


def group_items(
    index: Index, instance_id: int | None, study_uid: str | None, scope: str, limit: int = 5000
) -> tuple[str, list[ThumbItem]]:
    """The series (scope 'series') or study of an instance, or a whole study; (title, items)."""
    series_uid = None
    about = None
    if instance_id is not None:
        found = index.query(
            "SELECT study_uid, series_uid, series_number, series_description, study_description, "
            "study_date, modality FROM instances WHERE id = ?",
            (instance_id,),
        )
        if not found:
            return ("", [])
        about = found[0]
        study_uid = str(about["study_uid"])
        series_uid = str(about["series_uid"])
    if study_uid is None:
        return ("", [])
    order = "ORDER BY CAST(series_number AS INTEGER), series_uid, CAST(instance_number AS INTEGER), id LIMIT ?"
    if about is None:
        found = index.query(
            "SELECT study_description, study_date FROM instances WHERE study_uid = ? LIMIT 1",
            (study_uid,),
        )
        about = found[0] if found else None
    if scope == "series" and series_uid is not None and about is not None:
        rows = index.query(
            f"SELECT {_FIELDS} FROM instances WHERE series_uid = ? {order}", (series_uid, limit)
        )
        words = [
            f"Series {about['series_number']}" if about["series_number"] else "Series",
            str(about["series_description"] or ""),
            str(about["modality"] or ""),
        ]
    else:
        rows = index.query(
            f"SELECT {_FIELDS} FROM instances WHERE study_uid = ? {order}", (study_uid, limit)
        )
        words = [
            "Study",
            str(about["study_description"] or "") if about is not None else "",
            dicom_date(str(about["study_date"] or "")) if about is not None else "",
        ]
    count = f"{len(rows)} instance{'s' if len(rows) != 1 else ''}"
    return (
        " · ".join(w for w in [" ".join(p for p in words[:2] if p), *words[2:], count] if w),
        [_item(r) for r in rows],
    )
