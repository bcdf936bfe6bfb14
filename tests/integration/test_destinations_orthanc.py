"""Issue 4 acceptance, dicom: Orthanc (a real PACS) receives forwarded instances, checked
through its REST API, including a JPEG 2000 object in its original transfer syntax; the
Explicit VR Little Endian fallback; a PACS that is down; a permanent association reject."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from destinations_support import FAST, project_with, queue, wait_status, wait_until
from orthanc import Orthanc, orthanc_binary
from pydicom.data import get_testdata_file

from intu_desktop.config.model import DestinationConfig, RetryConfig
from intu_desktop.destinations.service import DeliveryService
from intu_desktop.events import EventBus
from intu_desktop.index.db import Index

pytestmark = pytest.mark.skipif(orthanc_binary() is None, reason="Orthanc is not installed")

EXPLICIT_LE = "1.2.840.10008.1.2.1"
SAMPLES = ("CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_rle.dcm")


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    idx = Index(tmp_path / "index.sqlite3")
    yield idx
    idx.close()


@pytest.fixture
def services() -> Iterator[list[DeliveryService]]:
    started: list[DeliveryService] = []
    yield started
    for service in started:
        service.stop()


def _start(index: Index, project, started: list[DeliveryService]) -> DeliveryService:
    service = DeliveryService(index, EventBus(), project, index.path.parent, poll_interval_s=0.2)
    service.start()
    started.append(service)
    return service


def _pacs(pacs: Orthanc, retry: RetryConfig = FAST, **options: object) -> DestinationConfig:
    return DestinationConfig(name="pacs-archive", type="dicom", retry=retry, options={
        "host": "127.0.0.1", "port": pacs.dicom_port, "ae_title": "INTU_DESKTOP", "called_ae_title": pacs.aet,
        "timeout_ms": 10000, **options})


def _sample(name: str) -> Path:
    return Path(get_testdata_file(name))


def test_forwarded_instances_arrive_in_their_original_transfer_syntax(index: Index, tmp_path: Path,
                                                                       services) -> None:
    with Orthanc(tmp_path / "orthanc") as pacs:
        project = project_with(_pacs(pacs))
        service = _start(index, project, services)
        ids = [queue(index, service, project, body="{}", storage_path=_sample(name))[0] for name in SAMPLES]
        delivered = wait_status(index, ids, "delivered")
        assert all(r["last_response"].startswith("0x0000 Success") for r in delivered)
        stored = pacs.sop_instance_uids()
        for name in SAMPLES:
            ds = pydicom.dcmread(_sample(name), stop_before_pixels=True)
            orthanc_id = stored[str(ds.SOPInstanceUID)]
            assert pacs.transfer_syntax(orthanc_id) == str(ds.file_meta.TransferSyntaxUID), name
        j2k = pydicom.dcmread(_sample("JPEG2000.dcm"), stop_before_pixels=True)
        assert pacs.transfer_syntax(stored[str(j2k.SOPInstanceUID)]) == "1.2.840.10008.1.2.4.91"


def test_jpeg2000_falls_back_to_explicit_little_endian_when_refused(index: Index, tmp_path: Path,
                                                                    services) -> None:
    with Orthanc(tmp_path / "orthanc", extra={"Jpeg2000TransferSyntaxAccepted": False}) as pacs:
        project = project_with(_pacs(pacs))
        service = _start(index, project, services)
        ids = queue(index, service, project, body="{}", storage_path=_sample("JPEG2000.dcm"))
        (row,) = wait_status(index, ids, "delivered")
        assert "converted from JPEG 2000 Image Compression to Explicit VR Little Endian" in row["last_response"]
        ((sop, orthanc_id),) = pacs.sop_instance_uids().items()
        assert pacs.transfer_syntax(orthanc_id) == EXPLICIT_LE
        # The pixels survived the conversion (same size as decoded here).
        original = pydicom.dcmread(_sample("JPEG2000.dcm"))
        assert sop == str(original.SOPInstanceUID)
        assert int(pacs.get(f"/instances/{orthanc_id}/simplified-tags")["Rows"]) == original.Rows


def test_pacs_down_is_retried_until_it_comes_back(index: Index, tmp_path: Path, services) -> None:
    pacs = Orthanc(tmp_path / "orthanc")
    pacs.start()
    pacs.stop()  # ports chosen, nothing listening
    try:
        project = project_with(_pacs(pacs))
        service = _start(index, project, services)
        ids = [queue(index, service, project, body="{}", storage_path=_sample(n))[0] for n in SAMPLES[:3]]
        wait_until(lambda: index.query("SELECT attempts FROM deliveries WHERE id = ?", (ids[0],))[0][0] >= 2)
        first = index.query("SELECT status, last_error FROM deliveries WHERE id = ?", (ids[0],))[0]
        assert first["status"] == "pending" and first["last_error"] == "connection refused"
        pacs.start()
        wait_status(index, ids, "delivered")
        assert len(pacs.instances()) == 3
    finally:
        pacs.stop()


def test_permanent_association_reject_is_a_dead_letter(index: Index, tmp_path: Path, services) -> None:
    with Orthanc(tmp_path / "orthanc", extra={"DicomCheckCalledAet": True}) as pacs:
        project = project_with(_pacs(pacs, called_ae_title="NOT_ORTHANC"))
        service = _start(index, project, services)
        ids = queue(index, service, project, body="{}", storage_path=_sample("CT_small.dcm"))
        (row,) = wait_status(index, ids, "failed")
        assert row["attempts"] == 1
        assert "association rejected: called AE title not recognized (rejected (permanent)" in row["last_error"]
        assert pacs.instances() == []
