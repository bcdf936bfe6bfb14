"""Issue 8: storescu sends the pydicom samples, `intu-desktop export` writes them back out."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
from pathlib import Path

import pydicom
from dicomtools import free_port, sample, storescu, wait_for, wait_port, write_channel

from intu_desktop.export import EXPORT_COLUMNS

PROGRAM = [sys.executable, "-m", "intu_desktop"]
# Names with commas, quotes, carets and non-ASCII, written into copies of real samples.
NAMES = {"CT_small.dcm": 'Müller^Zoë "Zo", Jr', "MR_small.dcm": "O'Brien, Seán^Ana", "JPEG2000.dcm": "山田^太郎"}


def _objects(folder: Path) -> list[Path]:
    folder.mkdir()
    out = []
    for name, patient in NAMES.items():
        ds = pydicom.dcmread(sample(name))
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.PatientName = patient
        path = folder / name
        ds.save_as(path, enforce_file_format=True)
        out.append(path)
    return out


def test_csv_and_fhir_bundle_of_what_storescu_sent(tmp_path: Path) -> None:
    port = free_port()
    channel = write_channel(tmp_path / "ch", port=port)
    data = tmp_path / "data"
    proc = subprocess.Popen([*PROGRAM, "--headless", "--channel", str(channel), "--data-dir", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port, timeout=30)
        files = _objects(tmp_path / "objects")
        for path in files:  # each in its own transfer syntax
            flag = {"1.2.840.10008.1.2.4.90": "-xv", "1.2.840.10008.1.2.4.91": "-xw"}.get(
                str(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID), "-xe")
            assert storescu(port, [path], extra=[flag]).returncode == 0
        wait_for(lambda: len(list((data / "store").rglob("*.dcm"))) == len(files))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)

    out = tmp_path / "export.csv"
    done = subprocess.run([*PROGRAM, "export", "--data-dir", str(data), "--format", "csv", "--out", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "identifiable" in done.stderr
    with open(out, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0].keys()) == EXPORT_COLUMNS
    assert len(rows) == len(NAMES)
    for row in rows:
        stored = pydicom.dcmread(row["storagePath"], stop_before_pixels=True)
        assert row["patientName"] == str(stored.PatientName)
        assert row["patientId"] == str(stored.get("PatientID", ""))
        assert row["studyInstanceUid"] == stored.StudyInstanceUID
        assert row["sopInstanceUid"] == stored.SOPInstanceUID
        assert row["modality"] == str(stored.get("Modality", ""))
        assert row["studyDate"] == str(stored.get("StudyDate", ""))
        assert row["transferSyntax"] == stored.file_meta.TransferSyntaxUID
        assert row["callingAe"] == "CT_SCANNER_1"
    assert sorted(r["patientName"] for r in rows) == sorted(NAMES.values())

    bundle_path = tmp_path / "bundle.json"
    done = subprocess.run([*PROGRAM, "export", "--data-dir", str(data), "--format", "fhir-bundle", "--out",
                           str(bundle_path), "--deidentify"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    from fhir.resources.R4B.bundle import Bundle

    text = bundle_path.read_text(encoding="utf-8")
    bundle = Bundle.model_validate_json(text)
    assert bundle.type == "collection"
    studies = {str(pydicom.dcmread(f, stop_before_pixels=True).StudyInstanceUID) for f in _read(tmp_path)}
    assert len(bundle.entry) == len(studies)
    for name in NAMES.values():
        assert name not in text and json.dumps(name)[1:-1] not in text
    for uid in studies:
        assert uid not in text


def _read(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "objects").glob("*.dcm"))
