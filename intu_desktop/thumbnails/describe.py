"""Kind and one-line summary of a stored object, from its header alone."""

from __future__ import annotations

import re

from pydicom.dataset import Dataset
from pydicom.uid import UID, MPEGTransferSyntaxes

from intu_desktop.thumbnails.header import (
    element_length,
    has_pixel_data,
    sop_class,
    transfer_syntax,
)

_STORAGE = "1.2.840.10008.5.1.4.1.1."
_SR_PREFIX = _STORAGE + "88."  # every SR IOD, KOS included (PS3.4 B.5)
_KEY_OBJECT_SELECTION = _STORAGE + "88.59"
_WAVEFORM_PREFIX = _STORAGE + "9."  # PS3.4 B.5: x.9.* are waveform storage classes
_PRESENTATION_STATE_PREFIX = _STORAGE + "11."
_ENCAPSULATED_PREFIX = _STORAGE + "104."
_ENCAPSULATED_PDF = _STORAGE + "104.1"
_RT_STRUCT = _STORAGE + "481.3"
_RT_PLANS = {_STORAGE + "481.5", _STORAGE + "481.8"}  # RT Plan, RT Ion Plan
_VIDEO_CLASSES = {_STORAGE + "77.1.1.1", _STORAGE + "77.1.2.1", _STORAGE + "77.1.4.1"}

# The waveform family by SOP class (PS3.3 A.34); longest prefix wins.
_WAVEFORM_LABELS = (
    (_WAVEFORM_PREFIX + "1.", "ECG"),
    (_WAVEFORM_PREFIX + "2.", "Hemodynamic"),
    (_WAVEFORM_PREFIX + "3.", "Cardiac electrophysiology"),
    (_WAVEFORM_PREFIX + "4.", "Audio"),
    (_WAVEFORM_PREFIX + "5.", "Arterial pulse"),
    (_WAVEFORM_PREFIX + "6.", "Respiratory"),
    (_WAVEFORM_PREFIX + "7.2", "EMG"),
    (_WAVEFORM_PREFIX + "7.3", "EOG"),
    (_WAVEFORM_PREFIX + "7.", "EEG"),
    (_WAVEFORM_PREFIX + "8.", "Body position"),
)

# Reading a PDF just to count pages is worth it only for documents of sane size.
_PDF_SCAN_LIMIT = 32 * 1024 * 1024
# SR trees are small; this guards against a hostile, absurdly deep one.
_SR_ITEM_LIMIT = 1_000_000


def describe(ds: Dataset) -> tuple[str, str]:
    """(kind, summary) for the object; kind "image" means there are pixels to render."""
    cls = sop_class(ds)
    modality = str(ds.get("Modality", "") or "")
    if cls in _VIDEO_CLASSES or transfer_syntax(ds) in MPEGTransferSyntaxes:
        return "video", _video_summary(ds)
    if has_pixel_data(ds):
        return "image", _image_summary(ds, modality)
    if cls.startswith(_SR_PREFIX) or modality in ("SR", "KO"):
        return "sr", _sr_summary(ds, cls)
    if cls in _RT_PLANS or modality == "RTPLAN":
        return "rtplan", _rtplan_summary(ds)
    if cls == _RT_STRUCT or modality == "RTSTRUCT":
        return "rtstruct", _count(
            "RT Structure Set", len(ds.get("StructureSetROISequence") or []), "ROI"
        )
    if cls.startswith(_WAVEFORM_PREFIX) or "WaveformSequence" in ds:
        return "waveform", _waveform_summary(ds, cls)
    if cls == _ENCAPSULATED_PDF or ds.get("MIMETypeOfEncapsulatedDocument") == "application/pdf":
        return "pdf", _pdf_summary(ds)
    if cls.startswith(_ENCAPSULATED_PREFIX) or "EncapsulatedDocument" in ds:
        size = _kilobytes(element_length(ds, 0x00420011))
        return "other", f"{_class_name(cls, 'Encapsulated document')} ({size})"
    if cls.startswith(_PRESENTATION_STATE_PREFIX):
        return "other", f"Presentation state: {_class_name(cls, 'unknown type')}"
    return "other", _class_name(cls, "Object without pixel data")


def _class_name(cls: str, fallback: str) -> str:
    if not cls:
        return fallback
    name = UID(cls).name
    if name == cls:  # pydicom does not know it
        return f"{fallback} ({cls})"
    return name.removesuffix(" Storage")


def _count(label: str, n: int, noun: str) -> str:
    return f"{label}: {n} {noun}{'' if n == 1 else 's'}"


def _image_summary(ds: Dataset, modality: str) -> str:
    rows, columns = ds.get("Rows", 0) or 0, ds.get("Columns", 0) or 0
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    text = f"{modality or 'Image'} {columns}x{rows}"
    return f"{text}, {frames} frames" if frames > 1 else text


def _video_summary(ds: Dataset) -> str:
    ts = transfer_syntax(ds)
    frames = int(ds.get("NumberOfFrames", 0) or 0)
    text = f"Video ({ts.name})"
    return f"{text}, {frames} frames" if frames else text


def _sr_summary(ds: Dataset, cls: str) -> str:
    items, references = _walk_content(ds)
    if cls == _KEY_OBJECT_SELECTION or ds.get("Modality") == "KO":
        return _count("Key object selection", references, "reference")
    return _count("Structured report", items, "item")


def _walk_content(ds: Dataset) -> tuple[int, int]:
    """Content items in the SR tree (PS3.3 C.17.3), and how many reference instances."""
    items = references = 0
    stack = [ds]
    while stack and items < _SR_ITEM_LIMIT:
        node = stack.pop()
        for child in node.get("ContentSequence") or []:
            items += 1
            if child.get("ValueType") in ("IMAGE", "COMPOSITE", "WAVEFORM"):
                references += 1
            stack.append(child)
    return items, references


def _rtplan_summary(ds: Dataset) -> str:
    beams = ds.get("BeamSequence") or ds.get("IonBeamSequence")
    if beams:
        return _count("RT Plan", len(beams), "beam")
    setups = ds.get("ApplicationSetupSequence")  # brachytherapy (PS3.3 C.8.8.15)
    if setups:
        return _count("RT Plan", len(setups), "application setup")
    return "RT Plan"


def _waveform_summary(ds: Dataset, cls: str) -> str:
    label = next((text for prefix, text in _WAVEFORM_LABELS if cls.startswith(prefix)), "")
    groups = ds.get("WaveformSequence") or []
    channels = int(groups[0].get("NumberOfWaveformChannels", 0) or 0) if groups else 0
    text = _count(f"{label} waveform" if label else "Waveform", channels, "channel")
    # Several multiplex groups (e.g. rhythm + median beat) usually repeat the channels.
    return f"{text}, {len(groups)} groups" if len(groups) > 1 else text


def _pdf_summary(ds: Dataset) -> str:
    length = element_length(ds, 0x00420011)
    size = _kilobytes(length)
    pages = _pdf_pages(ds) if 0 < length <= _PDF_SCAN_LIMIT else 0
    if pages:
        return f"Encapsulated PDF, {pages} page{'' if pages == 1 else 's'} ({size})"
    return f"Encapsulated PDF ({size})"


def _pdf_pages(ds: Dataset) -> int:
    try:
        document = bytes(ds.EncapsulatedDocument or b"")
    except (OSError, ValueError):
        return 0
    # Page objects are "/Type /Page" (not "/Pages"); compressed object streams hide
    # them, in which case the page tree root's /Count is the next best answer.
    pages = len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", document))
    if pages:
        return pages
    counts = re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", document)
    return max((int(c) for c in counts), default=0)


def _kilobytes(length: int) -> str:
    if length >= 10 * 1024 * 1024:
        return f"{length // (1024 * 1024)} MB"
    return f"{max(1, round(length / 1024))} KB" if length else "empty"
