"""The built-in test image: pydicom's CT_small with fresh UIDs and an obviously fake patient,
so a test store is a new instance every time and never looks like a real patient. No Qt."""

from __future__ import annotations

from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

TEST_PATIENT_NAME = "INTU^TEST IMAGE"
TEST_PATIENT_ID = "INTU-TEST"


def write_test_image(folder: Path) -> Path:
    """Write one CT image into `folder` and return its path (call off the GUI thread)."""
    ds = pydicom.dcmread(str(get_testdata_file("CT_small.dcm")))
    ds.PatientName = TEST_PATIENT_NAME
    ds.PatientID = TEST_PATIENT_ID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyDescription = "intu Desktop test image"
    path = folder / f"{ds.SOPInstanceUID}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path
