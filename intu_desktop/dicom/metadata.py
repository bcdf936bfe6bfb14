"""The message body of DESIGN §3, read from a stored file's header (never its pixel data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from intu_desktop.dicom.header_scan import HeaderScanner

# DESIGN §3: key -> DICOM keyword. The order and spelling are a contract.
MESSAGE_KEYS: tuple[tuple[str, str], ...] = (
    ("studyInstanceUid", "StudyInstanceUID"),
    ("seriesInstanceUid", "SeriesInstanceUID"),
    ("sopInstanceUid", "SOPInstanceUID"),
    ("sopClassUid", "SOPClassUID"),
    ("modality", "Modality"),
    ("studyDate", "StudyDate"),
    ("studyTime", "StudyTime"),
    ("studyDescription", "StudyDescription"),
    ("patientId", "PatientID"),
    ("patientName", "PatientName"),
    ("accessionNumber", "AccessionNumber"),
    ("referringPhysician", "ReferringPhysicianName"),
    ("bodyPartExamined", "BodyPartExamined"),
    ("numberOfFrames", "NumberOfFrames"),
    ("storagePath", ""),
)
EXTRA_KEYS: tuple[tuple[str, str], ...] = (
    ("seriesNumber", "SeriesNumber"),
    ("instanceNumber", "InstanceNumber"),
    ("seriesDescription", "SeriesDescription"),
    ("patientBirthDate", "PatientBirthDate"),
)
_TAGS = ["SpecificCharacterSet"] + [kw for _k, kw in MESSAGE_KEYS + EXTRA_KEYS if kw]
_SCANNER = HeaderScanner(_TAGS)


class UnreadableDataset(Exception):
    """The received bytes are not a data set we can parse (answered with 0xC000-range)."""


def read_header(path: Path) -> Dataset:
    """Parse only the attributes the message needs; pixel data is never loaded.

    The fast scanner handles the common encodings; pydicom reads whatever it declines.
    """
    try:
        ds = _SCANNER.read(path)
        if ds is None:
            ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_TAGS)
        # pydicom decodes values on first access: a corrupt VR or value must fail here, as
        # 0xC210, not later in the handler as an internal error (found by test_rel_fuzz).
        for keyword in _TAGS:
            ds.get(keyword)
        return ds
    except Exception as exc:  # pydicom raises many types for malformed input
        raise UnreadableDataset(f"cannot parse the data set: {type(exc).__name__}: {exc}") from exc


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    if value is None:
        return ""
    if isinstance(value, (list, tuple, MultiValue)):  # multi-valued: DICOM's own separator
        return "\\".join(str(v) for v in value)
    return str(value).rstrip("\x00 ")


def build_body(ds: Dataset, storage_path: Path, *, transfer_syntax: str = "",
               calling_ae: str = "", received_at: str = "") -> dict[str, Any]:
    """The message body: the fifteen keys (missing values are empty strings), then extras."""
    body: dict[str, Any] = {}
    for key, keyword in MESSAGE_KEYS:
        if key == "storagePath":
            body[key] = str(storage_path)
        elif key == "numberOfFrames":
            body[key] = _frames(ds)
        else:
            body[key] = _text(ds, keyword)
    for key, keyword in EXTRA_KEYS:
        body[key] = _text(ds, keyword)
    body["transferSyntaxUid"] = transfer_syntax
    body["callingAe"] = calling_ae
    body["receivedAt"] = received_at
    return body


def _frames(ds: Dataset) -> int:
    try:
        value = int(ds.get("NumberOfFrames", 1) or 1)
    except (TypeError, ValueError):
        return 1
    return value if value > 0 else 1
