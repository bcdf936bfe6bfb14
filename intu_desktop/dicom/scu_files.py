"""Find the DICOM files to send and read just enough of each to propose it (issue 7).

Only the File Meta Information (PS3.10 §7.1) is read here; pixel data stays on disk until
the file is streamed to the peer.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydicom import dcmread
from pydicom.errors import InvalidDicomError
from pydicom.filereader import read_file_meta_info
from pydicom.uid import (
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

# PS3.5 §10: the three native (uncompressed) transfer syntaxes; any can be converted to another.
UNCOMPRESSED = frozenset({ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian})
# What we also propose for an uncompressed file, so a peer that dislikes its syntax still
# receives it (PS3.5 §10.1: Implicit VR Little Endian is the default every SCP accepts).
UNCOMPRESSED_FALLBACKS = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
# PS3.10 §7.1: Media Storage Directory (DICOMDIR) is a file-set index, not an instance.
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
# PS3.5 §9.1: a UID is digits and dots, at most 64 characters.
_MAX_UID = 64


@dataclass(frozen=True)
class DicomFile:
    """A file we can send: its UIDs and how its data set is encoded."""

    path: Path
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str
    size: int
    part10: bool  # False: a bare data set without preamble/File Meta (read whole to send)

    @property
    def uncompressed(self) -> bool:
        return self.transfer_syntax in UNCOMPRESSED


@dataclass(frozen=True)
class NotSendable:
    """A file we will not send, and why in words ("not a DICOM file")."""

    path: Path
    reason: str
    missing: bool = False  # the path itself does not exist (a failure, not a skip)


def walk(paths: Iterable[Path]) -> Iterator[Path]:
    """Every file named, and every file under every folder named (sorted, symlinks not followed)."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    yield Path(folder) / name
        else:
            yield path


def inspect(path: Path) -> DicomFile | NotSendable:
    """Read the File Meta (or, for a bare data set, its top-level UIDs) of one file."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return NotSendable(path, "no such file or directory", missing=True)
    except OSError as exc:
        return NotSendable(path, f"cannot read: {(exc.strerror or str(exc)).lower()}")
    try:
        meta = read_file_meta_info(path)
    except InvalidDicomError:
        return _inspect_bare(path, size)
    except (OSError, ValueError, EOFError, struct.error) as exc:
        return NotSendable(path, f"not a DICOM file ({type(exc).__name__})")
    sop_class = str(meta.get("MediaStorageSOPClassUID", "")).strip("\x00 ")
    sop_instance = str(meta.get("MediaStorageSOPInstanceUID", "")).strip("\x00 ")
    syntax = str(meta.get("TransferSyntaxUID", "")).strip("\x00 ")
    if sop_class == MEDIA_STORAGE_DIRECTORY:
        return NotSendable(path, "DICOMDIR (a media index, not an instance)")
    if not (_valid_uid(sop_class) and _valid_uid(sop_instance) and _valid_uid(syntax)):
        return NotSendable(
            path, "DICOM file without valid SOP class, instance or transfer syntax UID"
        )
    return DicomFile(path, sop_class, sop_instance, syntax, size, part10=True)


def _inspect_bare(path: Path, size: int) -> DicomFile | NotSendable:
    """A data set without the PS3.10 preamble: accept it only if it starts like one."""
    with open(path, "rb") as fp:
        head = fp.read(8)
    # A bare data set starts with a low group tag, usually (0008,xxxx) or (0002,xxxx), little
    # endian; anything else (text, images, archives) is not worth parsing with force=True.
    if len(head) < 8 or struct.unpack("<H", head[:2])[0] not in (0x0002, 0x0008):
        return NotSendable(path, "not a DICOM file")
    try:
        ds = dcmread(path, force=True, stop_before_pixels=True)
    except Exception:  # noqa: BLE001 - pydicom raises many kinds on garbage: not DICOM
        return NotSendable(path, "not a DICOM file")
    sop_class = str(ds.get("SOPClassUID", "")).strip("\x00 ")
    sop_instance = str(ds.get("SOPInstanceUID", "")).strip("\x00 ")
    if not (_valid_uid(sop_class) and _valid_uid(sop_instance)):
        return NotSendable(path, "not a DICOM file")
    meta_syntax = str(getattr(ds, "file_meta", {}).get("TransferSyntaxUID", "")).strip("\x00 ")
    if not _valid_uid(meta_syntax):
        implicit = bool(ds.original_encoding[0])
        meta_syntax = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    return DicomFile(path, sop_class, sop_instance, meta_syntax, size, part10=False)


def _valid_uid(uid: str) -> bool:
    return 0 < len(uid) <= _MAX_UID and all(c.isdigit() or c == "." for c in uid)


def context_key(item: DicomFile) -> tuple[str, str]:
    """Files with the same key share one proposed presentation context."""
    return (item.sop_class_uid, "native" if item.uncompressed else item.transfer_syntax)


def proposed_syntaxes(items: Iterable[DicomFile]) -> list[str]:
    """Transfer syntaxes to propose for files sharing a context key, best first.

    Compressed and deflated files are proposed exactly as they are: we never recompress.
    Uncompressed files also offer Explicit and Implicit VR Little Endian, which pynetdicom
    converts to when the peer accepts only those.
    """
    syntaxes: list[str] = []
    for item in items:
        if item.transfer_syntax not in syntaxes:
            syntaxes.append(item.transfer_syntax)
        if item.uncompressed:
            for fallback in UNCOMPRESSED_FALLBACKS:
                if fallback not in syntaxes:
                    syntaxes.append(fallback)
    return syntaxes
