"""The message body of DESIGN §3, read from a stored file's header (never its pixel data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydicom
from pydicom import config
from pydicom.charset import convert_encodings, default_encoding
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import RawDataElement
from pydicom.multival import MultiValue
from pydicom.tag import Tag
from pydicom.values import convert_value

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
_KEYWORD = {int(Tag(kw)): kw for kw in _TAGS}
_VR = {int(Tag(kw)): dictionary_VR(kw) for kw in _TAGS}
_CHARSET = int(Tag("SpecificCharacterSet"))


class UnreadableDataset(Exception):
    """The received bytes are not a data set we can parse (answered with 0xC000-range)."""


class Header:
    """The attributes the message needs, by keyword, converted as pydicom converts them.

    `get(keyword, default)` and attribute access behave as a pydicom Dataset's do for
    these keywords; nothing else is read.
    """

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def get(self, keyword: str, default: Any = None) -> Any:
        return self._values.get(keyword, default)

    def __getattr__(self, keyword: str) -> Any:
        try:
            return self._values[keyword]
        except KeyError:
            raise AttributeError(keyword) from None

    def __contains__(self, keyword: str) -> bool:
        return keyword in self._values


def read_header(path: Path, head: bytes | None = None) -> Header:
    """Parse only the attributes the message needs; pixel data is never loaded.

    The fast scanner handles the common encodings and pydicom's `convert_value` converts
    each value (its validation and warnings included) without building a Dataset, whose
    per-element machinery cost as much as the conversion itself (issue 9). pydicom reads
    whatever the scanner declines. `head`: the file's first bytes, if the caller has them
    (header_scan.HeaderScanner.read_elements).
    """
    try:
        elements = _SCANNER.read_elements(path, head)
        if elements is not None:
            return Header(_convert(elements))
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_TAGS)
        # pydicom decodes values on first access: a corrupt VR or value must fail here, as
        # 0xC210, not later in the handler as an internal error (found by test_rel_fuzz).
        return Header({kw: ds.get(kw) for kw in _TAGS if kw in ds})
    except Exception as exc:  # pydicom raises many types for malformed input
        raise UnreadableDataset(f"cannot parse the data set: {type(exc).__name__}: {exc}") from exc


def _convert(elements: dict[int, RawDataElement]) -> dict[str, Any]:
    """What `Dataset.get` would return for each element (Dataset.__getitem__'s steps)."""
    values: dict[str, Any] = {}
    encodings: str | list[str] = default_encoding
    charset = elements.get(_CHARSET)
    if charset is not None:
        value = _value(charset, default_encoding)
        values["SpecificCharacterSet"] = value
        if value:
            encodings = convert_encodings(value)
    for tag, raw in elements.items():
        if tag != _CHARSET:
            values[_KEYWORD[tag]] = _value(raw, encodings)
    return values


# Converted values by their encoding: the objects of a series repeat most of theirs (the
# study, series, patient, dates), and pydicom's conversion with its validation is 5-20 us
# each (issue 9). Values are only read (Header), so sharing them is safe. A warning pydicom
# gives for an invalid value is given once per distinct value; errors are never cached.
_CONVERTED: dict[tuple[Any, ...], Any] = {}
_CONVERTED_MAX = 4096
_CACHED_LENGTH = 256  # longer values are converted every time


def _value(raw: RawDataElement, encodings: str | list[str]) -> Any:
    # The VR as pydicom's raw_element_vr hook chooses it for these public elements:
    # implicit VR takes the dictionary's, and so does an explicit UN shorter than 64 KB.
    vr = raw.VR
    if not vr or (vr == "UN" and config.replace_un_with_known_vr and len(raw.value or b"") < 0xFFFF):
        vr = _VR[int(raw.tag)]
    encoded = raw.value
    if not isinstance(encoded, bytes) or len(encoded) > _CACHED_LENGTH:
        return convert_value(vr, raw, encodings)
    key = (vr, int(raw.tag), encoded, raw.is_little_endian,
           encodings if isinstance(encodings, str) else tuple(encodings))
    try:
        return _CONVERTED[key]
    except KeyError:
        pass
    value = convert_value(vr, raw, encodings)
    if len(_CONVERTED) >= _CONVERTED_MAX:
        _CONVERTED.clear()
    _CONVERTED[key] = value
    return value


def _text(ds: Header, keyword: str) -> str:
    value = ds.get(keyword)
    if value is None:
        return ""
    if isinstance(value, (list, tuple, MultiValue)):  # multi-valued: DICOM's own separator
        return "\\".join(str(v) for v in value)
    return str(value).rstrip("\x00 ")


def build_body(ds: Header, storage_path: Path, *, transfer_syntax: str = "",
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


def _frames(ds: Header) -> int:
    try:
        value = int(ds.get("NumberOfFrames", 1) or 1)
    except (TypeError, ValueError):
        return 1
    return value if value > 0 else 1
