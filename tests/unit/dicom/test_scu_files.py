"""Finding and inspecting the files `send` proposes (scu_files.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import JPEG2000, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from intu_desktop.dicom.scu_files import (
    DicomFile,
    NotSendable,
    context_key,
    inspect,
    proposed_syntaxes,
    walk,
)


def _sample(name: str) -> Path:
    return Path(str(get_testdata_file(name)))


def test_walk_recurses_sorted_and_keeps_named_files(tmp_path: Path) -> None:
    (tmp_path / "b" / "c").mkdir(parents=True)
    for rel in ("b/c/z.dcm", "b/a.dcm", "top.dcm"):
        (tmp_path / rel).write_bytes(b"x")
    named = tmp_path / "named.txt"
    named.write_bytes(b"x")
    found = list(walk([tmp_path / "b", named]))
    assert found == [tmp_path / "b" / "a.dcm", tmp_path / "b" / "c" / "z.dcm", named]


def test_inspect_part10_reads_file_meta() -> None:
    item = inspect(_sample("CT_small.dcm"))
    assert isinstance(item, DicomFile)
    assert item.sop_class_uid == "1.2.840.10008.5.1.4.1.1.2"
    assert item.sop_instance_uid == "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"
    assert item.transfer_syntax == ExplicitVRLittleEndian
    assert item.part10 and item.uncompressed
    assert item.size == _sample("CT_small.dcm").stat().st_size


def test_inspect_compressed() -> None:
    item = inspect(_sample("JPEG2000.dcm"))
    assert isinstance(item, DicomFile)
    assert item.transfer_syntax == JPEG2000
    assert not item.uncompressed


def test_inspect_bare_dataset_without_preamble(tmp_path: Path) -> None:
    ds = dcmread(_sample("CT_small.dcm"))
    bare = tmp_path / "bare.dcm"
    # A data set without preamble and File Meta, as old archives hold them.
    ds.preamble = None
    del ds.file_meta
    ds.save_as(bare, implicit_vr=True, little_endian=True)
    assert bare.read_bytes()[:2] == b"\x08\x00"
    item = inspect(bare)
    assert isinstance(item, DicomFile), item
    assert not item.part10
    assert item.sop_instance_uid == str(ds.SOPInstanceUID)


def test_inspect_not_dicom(tmp_path: Path) -> None:
    text = tmp_path / "README.txt"
    text.write_text("hello, not DICOM\n")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert inspect(text) == NotSendable(text, "not a DICOM file")
    assert inspect(empty) == NotSendable(empty, "not a DICOM file")


def test_inspect_missing_file(tmp_path: Path) -> None:
    result = inspect(tmp_path / "gone.dcm")
    assert isinstance(result, NotSendable)
    assert result.missing
    assert result.reason == "no such file or directory"


def test_inspect_skips_dicomdir(tmp_path: Path) -> None:
    path = tmp_path / "DICOMDIR"
    shutil.copy(_sample("DICOMDIR"), path)
    result = inspect(path)
    assert isinstance(result, NotSendable)
    assert "DICOMDIR" in result.reason


def test_uncompressed_files_share_a_context_with_fallbacks() -> None:
    ct = inspect(_sample("CT_small.dcm"))
    j2k = inspect(_sample("JPEG2000.dcm"))
    assert isinstance(ct, DicomFile) and isinstance(j2k, DicomFile)
    assert context_key(ct) == (ct.sop_class_uid, "native")
    assert context_key(j2k) == (j2k.sop_class_uid, JPEG2000)
    assert proposed_syntaxes([ct]) == [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
    # Compressed data is proposed exactly as it is: never recompressed.
    assert proposed_syntaxes([j2k]) == [JPEG2000]
