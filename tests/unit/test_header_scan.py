"""The fast header scanner reads what pydicom reads, or declines (issue 9).

Compared with `pydicom.dcmread(specific_tags=...)` on every file of pydicom's test data
(implicit and explicit VR, compressed, odd and broken encoders) and on files built here
with undefined-length sequences and UN elements before the wanted tags.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pydicom
import pydicom.data
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from intu_desktop.dicom import metadata
from intu_desktop.dicom.header_scan import HeaderScanner

# pydicom's own test files, shipped in its wheel (nothing is downloaded).
TEST_FILES = Path(pydicom.data.__file__).parent / "test_files"
TAGS = metadata._TAGS
SCANNER = HeaderScanner(TAGS)


def _values(ds: Dataset) -> dict[str, str]:
    return {kw: repr(ds.get(kw)) for kw in TAGS}


def _pydicom_values(path: Path) -> dict[str, str] | None:
    try:
        return _values(pydicom.dcmread(path, stop_before_pixels=True, specific_tags=TAGS))
    except Exception:  # pydicom cannot read it: the scanner's answer is then not compared
        return None


def test_same_values_as_pydicom_on_its_test_files() -> None:
    scanned = compared = 0
    for path in sorted(TEST_FILES.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in (".dcm", ""):
            continue
        expected = _pydicom_values(path)
        try:
            fast = SCANNER.read(path)
            got = _values(fast) if fast is not None else None
        except Exception:  # value conversion failed: read_header would answer 0xC210
            got = None
        if got is None:
            continue
        scanned += 1
        if expected is not None:
            assert got == expected, path.name
            compared += 1
    # The scanner must actually take the common files, or this test proves nothing.
    assert compared >= 30, (scanned, compared)


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "JPEG2000.dcm"])
def test_common_files_take_the_fast_path(name: str) -> None:
    path = TEST_FILES / name
    fast = SCANNER.read(path)
    assert fast is not None
    assert _values(fast) == _pydicom_values(path)


def _write(tmp_path: Path, syntax: str, *, nested: bool) -> Path:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = generate_uid()
    ds.StudyDate = "20261129"
    ds.Modality = "CT"
    item = Dataset()
    item.ReferencedSOPClassUID = ds.SOPClassUID
    item.ReferencedSOPInstanceUID = generate_uid()
    deeper = Dataset()
    deeper.CodeValue = "T-D0050"
    item.PurposeOfReferenceCodeSequence = Sequence([deeper])
    ds.ReferencedImageSequence = Sequence([item, item])  # (0008,1140): before most wanted tags
    if nested:
        ds.ReferencedImageSequence.is_undefined_length = True
        for it in ds.ReferencedImageSequence:
            it.is_undefined_length_sequence_item = True
    ds.PatientName = "Müller^Jürgen"
    ds.PatientID = "ID-7"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 3
    ds.InstanceNumber = 12
    ds.NumberOfFrames = 4
    ds.add_new(0x00091010, "UN", b"\x01\x02\x03\x04")  # private, unknown VR
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = syntax
    path = tmp_path / f"{syntax}-{nested}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
@pytest.mark.parametrize("nested", [False, True])
def test_sequences_and_unknown_elements_are_skipped(tmp_path: Path, syntax: str, nested: bool) -> None:
    path = _write(tmp_path, syntax, nested=nested)
    fast = SCANNER.read(path)
    assert fast is not None
    assert _values(fast) == _pydicom_values(path)
    assert str(fast.PatientName) == "Müller^Jürgen" and fast.NumberOfFrames == 4


def test_declines_what_it_does_not_handle(tmp_path: Path) -> None:
    assert SCANNER.read(TEST_FILES / "MR_small_bigendian.dcm") is None
    assert SCANNER.read(TEST_FILES / "image_dfl.dcm") is None
    not_part10 = tmp_path / "raw.dcm"
    not_part10.write_bytes(b"\x08\x00\x16\x00" + b"\x00" * 200)
    assert SCANNER.read(not_part10) is None
    good = _write(tmp_path, ExplicitVRLittleEndian, nested=True)
    data = good.read_bytes()
    sequence = data.index(b"\x08\x00\x40\x11SQ")  # (0008,1140) ReferencedImageSequence
    truncated = tmp_path / "cut.dcm"
    # Cut inside the sequence (a fixed offset could land on an element boundary: the UIDs'
    # lengths vary, and a data set cut between two elements is a complete, shorter one).
    truncated.write_bytes(data[:sequence + 30])
    assert SCANNER.read(truncated) is None


def test_read_header_still_refuses_garbage(tmp_path: Path) -> None:
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(b"not DICOM at all")  # declined by the scanner, refused by pydicom
    with pytest.raises(metadata.UnreadableDataset):
        metadata.read_header(broken)


def _nested(tmp_path: Path, depth: int, *, undefined: bool) -> Path:
    path = _write(tmp_path, ExplicitVRLittleEndian, nested=False)
    ds = pydicom.dcmread(path)
    inner = Dataset()
    inner.CodeValue = "leaf"
    for _ in range(depth):
        outer = Dataset()
        outer.ContentSequence = Sequence([inner])  # (0040,A730): after every wanted tag
        if undefined:
            outer.ContentSequence.is_undefined_length = True
            inner.is_undefined_length_sequence_item = True
        inner = outer
    ds.ContentSequence = inner.ContentSequence
    out = tmp_path / f"nested-{depth}-{undefined}.dcm"
    ds.save_as(out, enforce_file_format=True)
    return out


@pytest.mark.parametrize("undefined", [False, True])
def test_nesting_is_walked_and_bounded(tmp_path: Path, undefined: bool) -> None:
    shallow = _nested(tmp_path, 10, undefined=undefined)
    fast = SCANNER.read(shallow)
    assert fast is not None and _values(fast) == _pydicom_values(shallow)
    # Deeper than MAX_DEPTH, even after the wanted tags: pydicom decides (and refuses
    # what it cannot read), so the scanner never stores what pydicom would refuse.
    assert SCANNER.read(_nested(tmp_path, 40, undefined=undefined)) is None


def test_lengths_that_do_not_add_up_are_declined(tmp_path: Path) -> None:
    good = _nested(tmp_path, 3, undefined=False)
    raw = bytearray(good.read_bytes())
    at = raw.index(b"\x40\x00\x30\xa7SQ")  # the outer ContentSequence, explicit VR
    raw[at + 8:at + 12] = (int.from_bytes(raw[at + 8:at + 12], "little") - 2).to_bytes(4, "little")
    broken = tmp_path / "broken-length.dcm"
    broken.write_bytes(bytes(raw))
    assert SCANNER.read(broken) is None


def test_read_header_converts_values_as_pydicom_does() -> None:
    """read_header converts the scanned elements without building a Dataset: every value
    (type and contents) equals what a Dataset read by pydicom returns, on every test file."""
    compared = 0
    for path in sorted(TEST_FILES.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in (".dcm", ""):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # odd files warn in both readers alike
            expected = _pydicom_values(path)
            if expected is None:
                continue
            header = metadata.read_header(path)
        assert {kw: repr(header.get(kw)) for kw in TAGS} == expected, path.name
        assert metadata.build_body(header, path) == metadata.build_body(
            pydicom.dcmread(path, stop_before_pixels=True), path), path.name
        compared += 1
    assert compared >= 100, compared


def test_read_header_keeps_pydicom_validation(tmp_path: Path) -> None:
    path = _write(tmp_path, ExplicitVRLittleEndian, nested=False)
    ds = pydicom.dcmread(path)
    ds.StudyInstanceUID = "1.2.x3"  # not a UID: pydicom warns when it reads it
    ds.PatientName = "Ünïcode^Näme"
    ds.save_as(path)
    with pytest.warns(UserWarning, match="Invalid value for VR UI"):
        header = metadata.read_header(path)
    assert str(header.StudyInstanceUID) == "1.2.x3"
    assert metadata.build_body(header, path)["patientName"] == "Ünïcode^Näme"  # ISO_IR 192
