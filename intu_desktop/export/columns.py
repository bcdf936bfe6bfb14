"""The columns of an export and the normalisation of one index row into them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# DESIGN §3's fifteen message keys, in order, then what the index adds about the receipt.
MESSAGE_COLUMNS: tuple[str, ...] = (
    "studyInstanceUid",
    "seriesInstanceUid",
    "sopInstanceUid",
    "sopClassUid",
    "modality",
    "studyDate",
    "studyTime",
    "studyDescription",
    "patientId",
    "patientName",
    "accessionNumber",
    "referringPhysician",
    "bodyPartExamined",
    "numberOfFrames",
    "storagePath",
)
RECEIPT_COLUMNS: tuple[str, ...] = (
    "receivedAt",
    "callingAe",
    "channel",
    "transferSyntax",
    "size",
    "pipelineStatus",
)
EXPORT_COLUMNS: tuple[str, ...] = MESSAGE_COLUMNS + RECEIPT_COLUMNS

_INT_COLUMNS = {"numberOfFrames": 1, "size": 0}  # column -> value when absent or unreadable


def as_text(value: Any) -> str:
    """Missing values are empty strings, never None (DESIGN §3)."""
    if type(value) is str:  # the common case, checked first: exports call this per cell
        return value
    return "" if value is None else str(value)


def as_int(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return default


def normalize_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """Exactly EXPORT_COLUMNS, in order: numbers for numberOfFrames and size, text otherwise.

    numberOfFrames is 1 when absent (DESIGN §3); an unknown size is 0.
    """
    out: dict[str, Any] = {}
    for column in EXPORT_COLUMNS:
        if column in _INT_COLUMNS:
            out[column] = as_int(row.get(column), _INT_COLUMNS[column])
        else:
            out[column] = as_text(row.get(column))
    return out
