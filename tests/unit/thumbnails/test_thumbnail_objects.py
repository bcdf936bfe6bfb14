"""Objects without pixels get a kind and a summary; broken ones an error, never an exception."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.sequence import Sequence
from pydicom.uid import JPEG2000MC, MPEG4HP41

from intu_desktop.thumbnails import render_thumbnail

STORAGE = "1.2.840.10008.5.1.4.1.1."


@pytest.mark.parametrize(
    ("name", "kind", "summary"),
    [
        ("test-SR.dcm", "sr", "Structured report: 28 items"),
        ("reportsi.dcm", "sr", "Structured report: 8 items"),
        ("rtplan.dcm", "rtplan", "RT Plan: 1 beam"),
        ("rtstruct.dcm", "rtstruct", "RT Structure Set: 3 ROIs"),  # no Part 10 preamble
        ("waveform_ecg.dcm", "waveform", "ECG waveform: 12 channels, 2 groups"),
    ],
)
def test_objects_without_pixels(
    data: Callable[[str], Path], name: str, kind: str, summary: str
) -> None:
    rendered = render_thumbnail(data(name))
    assert rendered.pixels is None
    assert rendered.kind == kind
    assert rendered.summary == summary
    assert rendered.error is None


def _pdf(pages: int, padding: int = 0) -> bytes:
    objects = [b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj"]
    objects.append(b"2 0 obj << /Type /Pages /Count %d >> endobj" % pages)
    objects += [b"%d 0 obj << /Type /Page /Parent 2 0 R >> endobj" % (3 + i) for i in range(pages)]
    return b"%PDF-1.4\n" + b"\n".join(objects) + b"\n%" + b"x" * padding + b"\n%%EOF\n"


@pytest.mark.parametrize(("padding", "size_text"), [(0, "(1 KB)"), (2 * 1024 * 1024, "(2048 KB)")])
def test_encapsulated_pdf(new_ds, write, padding: int, size_text: str) -> None:
    # The 2 MB variant is larger than the header reader's defer size.
    ds = new_ds(STORAGE + "104.1", "DOC")
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    document = _pdf(3, padding)
    ds.EncapsulatedDocument = document + (b"\0" if len(document) % 2 else b"")
    rendered = render_thumbnail(write(ds))
    assert (rendered.kind, rendered.error, rendered.pixels) == ("pdf", None, None)
    assert rendered.summary == f"Encapsulated PDF, 3 pages {size_text}"


def test_key_object_selection(new_ds, write) -> None:
    ds = new_ds(STORAGE + "88.59", "KO")
    items = []
    for value_type in ("IMAGE", "IMAGE", "TEXT"):
        item = Dataset()
        item.ValueType = value_type
        items.append(item)
    ds.ContentSequence = Sequence(items)
    rendered = render_thumbnail(write(ds))
    assert (rendered.kind, rendered.summary, rendered.error) == (
        "sr",
        "Key object selection: 2 references",
        None,
    )


@pytest.mark.parametrize(
    ("sop_class", "kind", "summary"),
    [
        (STORAGE + "11.1", "other", "Presentation state: Grayscale Softcopy Presentation State"),
        (STORAGE + "104.2", "other", "Encapsulated CDA (empty)"),
        (STORAGE + "66", "other", "Raw Data"),
        ("1.2.3.4.5", "other", "Object without pixel data (1.2.3.4.5)"),
    ],
)
def test_other_objects(new_ds, write, sop_class: str, kind: str, summary: str) -> None:
    rendered = render_thumbnail(write(new_ds(sop_class)))
    assert (rendered.kind, rendered.summary, rendered.error, rendered.pixels) == (
        kind,
        summary,
        None,
        None,
    )


def test_video_is_not_an_error(new_ds, write) -> None:
    ds = new_ds(STORAGE + "77.1.4.1", "XC")
    ds.file_meta.TransferSyntaxUID = MPEG4HP41
    ds.Rows, ds.Columns, ds.NumberOfFrames = 720, 1280, 300
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 3, "YBR_PARTIAL_420"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = encapsulate([b"\x00\x00\x00\x01" + b"\x42" * 100])
    ds["PixelData"].VR = "OB"
    rendered = render_thumbnail(write(ds))
    assert (rendered.kind, rendered.pixels, rendered.error) == ("video", None, None)
    assert (
        rendered.summary.startswith("Video (MPEG-4 AVC/H.264") and "300 frames" in rendered.summary
    )


def test_missing_decoder_is_reported_in_words(data: Callable[[str], Path], write) -> None:
    ds = dcmread(data("JPEG2000.dcm"))
    ds.file_meta.TransferSyntaxUID = JPEG2000MC  # Part 2 multi-component: nothing decodes it
    rendered = render_thumbnail(write(ds))
    assert (rendered.kind, rendered.pixels) == ("image", None)
    assert rendered.error == (
        "cannot decode JPEG 2000 Part 2 Multi-component Image Compression: no decoder installed"
    )


def test_corrupt_jpeg_is_an_error(data: Callable[[str], Path], write) -> None:
    ds = dcmread(data("SC_rgb_jpeg_dcmtk.dcm"))
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    ds.PixelData = encapsulate([frame[:100] + bytes(len(frame) - 100)])
    rendered = render_thumbnail(write(ds))
    assert rendered.kind == "image" and rendered.pixels is None
    assert rendered.error is not None and rendered.error.startswith("cannot decode JPEG Baseline")


def test_truncated_pixel_data_is_an_error(data: Callable[[str], Path]) -> None:
    rendered = render_thumbnail(data("MR_truncated.dcm"))
    assert rendered.kind == "image" and rendered.pixels is None
    assert rendered.error and rendered.error.startswith("cannot decode")


@pytest.mark.parametrize("content", [b"", b"GET / HTTP/1.1\r\n\r\n" * 20])
def test_not_dicom(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.dcm"
    path.write_bytes(content)
    rendered = render_thumbnail(path)
    assert (rendered.kind, rendered.pixels) == ("other", None)
    assert rendered.error == "cannot read file: not a DICOM file"


def test_missing_file_and_directory(tmp_path: Path) -> None:
    for path in (tmp_path / "gone.dcm", tmp_path):
        rendered = render_thumbnail(path)
        assert rendered.pixels is None
        assert rendered.error and rendered.error.startswith("cannot read file")


def test_big_multiframe_reads_one_frame(gray_image, write) -> None:
    ds = gray_image(rows=256, columns=256)
    ds.set_pixel_data(np.zeros((200, 256, 256), dtype=np.uint16), "MONOCHROME2", 12)
    path = write(ds)  # 26 MB of pixel data
    del ds
    tracemalloc.start()
    try:
        rendered = render_thumbnail(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rendered.error is None and rendered.pixels is not None
    assert peak < 4 * 1024 * 1024  # one frame is 128 KB; all frames would be 26 MB
