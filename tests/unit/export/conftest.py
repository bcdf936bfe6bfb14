"""Rows shaped like the index's, built from pydicom's test files and synthetic values."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.data import get_testdata_file

TEST_FILES = ("CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "SC_rgb.dcm", "emri_small.dcm")
CT_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"

RowFactory = Callable[..., dict[str, Any]]


def row_from_file(name: str, data_dir: Path) -> dict[str, Any]:
    path = get_testdata_file(name)
    ds = pydicom.dcmread(path, stop_before_pixels=True)

    def text(keyword: str) -> str:
        value = ds.get(keyword)
        return "" if value is None else str(value)

    return {
        "studyInstanceUid": text("StudyInstanceUID"),
        "seriesInstanceUid": text("SeriesInstanceUID"),
        "sopInstanceUid": text("SOPInstanceUID"),
        "sopClassUid": text("SOPClassUID"),
        "modality": text("Modality"),
        "studyDate": text("StudyDate"),
        "studyTime": text("StudyTime"),
        "studyDescription": text("StudyDescription"),
        "patientId": text("PatientID"),
        "patientName": text("PatientName"),
        "accessionNumber": text("AccessionNumber"),
        "referringPhysician": text("ReferringPhysicianName"),
        "bodyPartExamined": text("BodyPartExamined"),
        "numberOfFrames": int(ds.get("NumberOfFrames") or 1),
        "storagePath": str(
            data_dir
            / "store"
            / text("StudyInstanceUID")
            / text("SeriesInstanceUID")
            / Path(path).name
        ),
        "receivedAt": "2024-03-01T10:15:30.123456+00:00",
        "callingAe": "MODALITY1",
        "channel": "dicom-radiology-ingest",
        "transferSyntax": str(ds.file_meta.TransferSyntaxUID),
        "size": Path(path).stat().st_size,
        "pipelineStatus": "ok",
        "patientBirthDate": text("PatientBirthDate"),
        "seriesNumber": text("SeriesNumber"),
        "instanceNumber": text("InstanceNumber"),
    }


@pytest.fixture
def file_rows(tmp_path: Path) -> list[dict[str, Any]]:
    return [row_from_file(name, tmp_path) for name in TEST_FILES]


@pytest.fixture
def make_row() -> RowFactory:
    """A synthetic row; keyword arguments override fields."""

    def make(**overrides: Any) -> dict[str, Any]:
        row: dict[str, Any] = {
            "studyInstanceUid": "1.2.826.0.1.3680043.10.1",
            "seriesInstanceUid": "1.2.826.0.1.3680043.10.1.1",
            "sopInstanceUid": "1.2.826.0.1.3680043.10.1.1.1",
            "sopClassUid": CT_SOP_CLASS,
            "modality": "CT",
            "studyDate": "20240229",
            "studyTime": "101530.25",
            "studyDescription": "CT HEAD w/o contrast",
            "patientId": "PID-4711",
            "patientName": "Müller^Zoë",
            "accessionNumber": "ACC-0815",
            "referringPhysician": "House^Gregory",
            "bodyPartExamined": "HEAD",
            "numberOfFrames": 1,
            "storagePath": "/data/store/1.2.826.0.1.3680043.10.1/x.dcm",
            "receivedAt": "2024-03-01T10:15:30.123456+00:00",
            "callingAe": "CT_SCANNER",
            "channel": "dicom-radiology-ingest",
            "transferSyntax": EXPLICIT_LE,
            "size": 525436,
            "pipelineStatus": "ok",
            "patientBirthDate": "19700412",
        }
        row.update(overrides)
        return row

    return make


def generate_study_rows(
    studies: int, series: int, instances: int, **extra: Any
) -> Iterator[dict[str, Any]]:
    """Synthetic rows ordered by study, then series: study s has patient P<s>."""
    for s in range(1, studies + 1):
        for e in range(1, series + 1):
            for i in range(1, instances + 1):
                yield {
                    "studyInstanceUid": f"1.2.826.0.1.3680043.10.{s}",
                    "seriesInstanceUid": f"1.2.826.0.1.3680043.10.{s}.{e}",
                    "sopInstanceUid": f"1.2.826.0.1.3680043.10.{s}.{e}.{i}",
                    "sopClassUid": CT_SOP_CLASS,
                    "modality": "CT" if e % 2 else "SR",
                    "studyDate": "20240115",
                    "studyTime": "0930",
                    "studyDescription": f"Study {s}",
                    "patientId": f"P{s:05d}",
                    "patientName": f"Patient{s}^Given",
                    "accessionNumber": f"A{s:06d}",
                    "referringPhysician": "Ref^Doc",
                    "bodyPartExamined": "CHEST",
                    "numberOfFrames": 1,
                    "storagePath": f"/store/{s}/{e}/{i}.dcm",
                    "receivedAt": "2024-01-15T09:45:00+00:00",
                    "callingAe": "CT1",
                    "channel": "ch",
                    "transferSyntax": EXPLICIT_LE,
                    "size": 1000 + i,
                    "pipelineStatus": "ok",
                    "seriesNumber": str(e),
                    "instanceNumber": str(i),
                    **extra,
                }


@pytest.fixture
def study_rows() -> Callable[..., Iterator[dict[str, Any]]]:
    """generate_study_rows(studies, series, instances, **extra), lazily."""
    return generate_study_rows
