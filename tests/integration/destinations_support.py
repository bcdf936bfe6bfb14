"""Helpers for the destination integration tests: runs to deliver written straight into the
index (as the pipeline would), projects, and the spec transformer's ImagingStudy shape."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from pydicom import dcmread

from intu_desktop.config.model import ChannelConfig, DestinationConfig, Project, RetryConfig
from intu_desktop.index.db import Index

CHANNEL = "dicom-radiology-ingest"
FAST = RetryConfig(max_attempts=200, backoff="exponential", initial_delay_ms=20, max_delay_ms=200, jitter=True)


def add_run(index: Index, *, body: str | None, content_type: str = "application/fhir+json",
            storage_path: Path | None = None, sop_uid: str | None = None, study_uid: str = "1.2.3",
            series_uid: str = "1.2.3.4", transfer_syntax: str = "", sop_class_uid: str = "") -> tuple[int, int]:
    """An instance row and a finished pipeline run. With a storage_path, the UIDs come from the file."""
    if storage_path is not None:
        ds = dcmread(storage_path, stop_before_pixels=True)
        sop_uid, study_uid, series_uid = str(ds.SOPInstanceUID), str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)
        transfer_syntax, sop_class_uid = str(ds.file_meta.TransferSyntaxUID), str(ds.SOPClassUID)
    sop_uid = sop_uid or f"2.25.{uuid.uuid4().int}"
    now = time.time()

    def write(conn: Any) -> tuple[int, int]:
        cur = conn.execute(
            "INSERT INTO instances (study_uid, series_uid, sop_uid, sop_class_uid, storage_path, transfer_syntax, "
            "channel_id, received_at) VALUES (?,?,?,?,?,?,?,?)",
            (study_uid, series_uid, sop_uid, sop_class_uid, str(storage_path or "/none.dcm"), transfer_syntax,
             CHANNEL, now),
        )
        instance_id = int(cur.lastrowid)
        cur = conn.execute(
            "INSERT INTO pipeline_runs (instance_id, message_id, channel_id, started_at, finished_at, status, "
            "input_json, output_body, output_content_type) VALUES (?,?,?,?,?,'ok','{}',?,?)",
            (instance_id, str(uuid.uuid4()), CHANNEL, now, now, body, content_type),
        )
        return int(cur.lastrowid), instance_id

    return index.write(write)


def project_with(*destinations: DestinationConfig) -> Project:
    channel = ChannelConfig(id=CHANNEL, path=Path("channel.yaml"), folder=Path("."), listener_type="dicom",
                            destinations=list(destinations))
    return Project(root=None, intu_file=None, profile="dev", channels=[channel],
                   destinations={d.name: d for d in destinations})


def queue(index: Index, service: Any, project: Project, **run: Any) -> list[int]:
    run_id, instance_id = add_run(index, **run)
    ids = index.write(lambda conn: service.enqueue(conn, run_id, instance_id, project.channels[0]))
    service.wake()
    return ids


def rows(index: Index, ids: list[int]) -> list[dict[str, Any]]:
    return [dict(index.query("SELECT * FROM deliveries WHERE id = ?", (i,))[0]) for i in ids]


def wait_status(index: Index, ids: list[int], status: str, timeout: float = 60.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = rows(index, ids)
        if all(r["status"] == status for r in found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not all {status}: {[(r['id'], r['status'], r['last_error']) for r in found]}")
        time.sleep(0.02)


def wait_until(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def spec_imaging_study(study_uid: str, *, series_uid: str = "1.2.3.4", sop_uid: str = "1.2.3.4.5",
                       description: str = "", patient_id: str = "PID-1") -> str:
    """What the spec's transformer returns for one instance (numberOfFrames included, and an
    empty description when the study has none)."""
    return json.dumps({
        "resourceType": "ImagingStudy",
        "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{study_uid}"}],
        "status": "available",
        "subject": {"identifier": {"system": "urn:oid:2.16.840.1.113883.19.5", "value": patient_id},
                    "display": "Doe^Jane"},
        "started": "2024-03-01T10:15:30Z",
        "description": description,
        "series": [{
            "uid": series_uid,
            "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"},
            "instance": [{"uid": sop_uid,
                          "sopClass": {"system": "urn:ietf:rfc:3986", "code": "urn:oid:1.2.840.10008.5.1.4.1.1.2"},
                          "numberOfFrames": 1}],
        }],
        "endpoint": [{"reference": "/data/store/x.dcm"}],
    })
