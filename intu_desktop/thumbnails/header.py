"""Reading the attributes of a stored file without loading its bulk data."""

from __future__ import annotations

from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

# Elements larger than this (Pixel Data, Encapsulated Document, big private blobs)
# are skipped on read and only fetched from the file if something asks for them,
# so a 300 MB multi-frame costs a header read, not 300 MB of memory.
DEFER_SIZE = 1024 * 1024

PIXEL_DATA_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)  # Pixel, Float, Double Float


class NotDicomError(Exception):
    """The file is not a DICOM data set."""


def read_header(path: Path) -> Dataset:
    """Read every attribute of `path` except bulk data, which stays deferred."""
    try:
        return dcmread(path, defer_size=DEFER_SIZE)
    except InvalidDicomError:
        pass
    # Some archives hold data sets without the Part 10 preamble/meta (PS3.10 7.1);
    # accept them only if they look like a composite object.
    ds = dcmread(path, defer_size=DEFER_SIZE, force=True)
    if "SOPClassUID" not in ds and not has_pixel_data(ds):
        raise NotDicomError("not a DICOM file")
    return ds


def has_pixel_data(ds: Dataset) -> bool:
    return any(tag in ds for tag in PIXEL_DATA_TAGS)


def transfer_syntax(ds: Dataset) -> UID:
    """The file's transfer syntax, inferred from how it was parsed when there is no meta."""
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    if ts:
        return UID(ts)
    implicit, little = getattr(ds, "original_encoding", (None, None))
    if implicit:
        return ImplicitVRLittleEndian
    return ExplicitVRLittleEndian if little is not False else ExplicitVRBigEndian


def element_length(ds: Dataset, tag: int) -> int:
    """Byte length of an element's value without reading a deferred value."""
    elem = ds.get_item(tag)
    if elem is None:
        return 0
    length = getattr(elem, "length", None)
    if isinstance(length, int) and length != 0xFFFFFFFF:
        return length
    value = elem.value
    return len(value) if isinstance(value, (bytes, bytearray)) else 0


def sop_class(ds: Dataset) -> str:
    return str(ds.get("SOPClassUID", "") or "")
