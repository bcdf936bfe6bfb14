"""Fixtures for the thumbnail tests: pydicom's test files and small synthetic objects."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


def pydicom_file(name: str) -> Path:
    """A pydicom test file; files outside pydicom's wheel need the pydicom-data package."""
    # download=False: never reach for the network; skip when the file is not local.
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} needs the pydicom-data package")
    return Path(str(path))


@pytest.fixture
def data() -> Callable[[str], Path]:
    return pydicom_file


def _new_dataset(sop_class: str = SECONDARY_CAPTURE, modality: str = "OT") -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = modality
    ds.PatientName = "Canary^Patient"
    ds.PatientID = "CANARY-ID-4711"
    return ds


@pytest.fixture
def new_ds() -> Callable[..., Dataset]:
    """A minimal composite data set with canary patient values and fresh UIDs."""
    return _new_dataset


def _gray_image(rows: int = 64, columns: int = 64, frames: int = 1) -> Dataset:
    # A horizontal 0..4095 ramp, offset per frame so frames are distinguishable.
    line = np.linspace(0, 4095, columns).astype(np.uint16)
    frame = np.repeat(line[None, :], rows, axis=0)
    ds = _new_dataset()
    if frames == 1:
        ds.set_pixel_data(frame, "MONOCHROME2", 12)
    else:
        stack = np.stack([np.minimum(frame + i * 10, 4095) for i in range(frames)])
        ds.set_pixel_data(stack.astype(np.uint16), "MONOCHROME2", 12)
    return ds


@pytest.fixture
def gray_image() -> Callable[..., Dataset]:
    """Factory for a 12-bit MONOCHROME2 ramp image (optionally multi-frame)."""
    return _gray_image


@pytest.fixture
def write(tmp_path: Path) -> Callable[[Dataset, str], Path]:
    def _write(ds: Dataset, name: str = "object.dcm") -> Path:
        path = tmp_path / name
        ds.save_as(path, enforce_file_format=True)
        return path

    return _write
