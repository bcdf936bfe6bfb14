"""Issue 2: every sendable pydicom sample stored intact, paths per DESIGN §2, hostile UIDs, failures."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pydicom
import pytest
from dicomtools import (
    PROPOSE_FLAG,
    echoscu,
    free_port,
    sample,
    storescu,
    temporary_leftovers,
    wait_for,
    write_channel,
)
from pydicom.uid import generate_uid

from intu_desktop.dicom.storage import is_valid_uid, path_component


def _sendable_samples() -> list[Path]:
    """pydicom test files a correct SCP can receive from storescu in their own transfer syntax."""
    out = []
    folder = Path(pydicom.data.__file__).parent / "test_files"  # local files only, no downloads
    for path in sorted(folder.rglob("*.dcm")):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception:
            continue
        meta = getattr(ds, "file_meta", None)
        ts = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
        if ts not in PROPOSE_FLAG or "SOPInstanceUID" not in ds or "SOPClassUID" not in ds:
            continue
        if meta.get("MediaStorageSOPInstanceUID") != ds.SOPInstanceUID:
            continue  # the file contradicts itself; storescu would announce another UID
        out.append(path)
    return out


SAMPLES = _sendable_samples()


def _stored_path(data: Path, ds: pydicom.Dataset) -> Path:
    return (data / "store" / path_component(str(ds.get("StudyInstanceUID", "")))
            / path_component(str(ds.get("SeriesInstanceUID", ""))) / f"{path_component(str(ds.SOPInstanceUID))}.dcm")


def test_samples_exist() -> None:
    assert len(SAMPLES) >= 40


def test_every_sample_stored_identical_in_its_own_transfer_syntax(start_runtime, tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    start_runtime(write_channel(tmp_path / "ch", port=port), data_dir=data, with_pipeline=False)
    refused = []
    stored_count = 0
    for path in SAMPLES:
        sent = pydicom.dcmread(path)
        flag = PROPOSE_FLAG[str(sent.file_meta.TransferSyntaxUID)]
        result = storescu(port, [path], extra=["-R", flag])
        if result.returncode != 0:
            # storescu itself cannot send some odd samples; those are not our refusals
            if "Store Failed" in result.stderr or "0x" in result.stderr and "Status" in result.stderr:
                refused.append((path.name, result.stderr[-300:]))
            continue
        stored_path = _stored_path(data, sent)
        assert stored_path.exists(), path.name
        stored_count += 1
        stored = pydicom.dcmread(stored_path)
        assert stored.file_meta.TransferSyntaxUID == sent.file_meta.TransferSyntaxUID, path.name
        assert stored.preamble == b"\x00" * 128
        for elem in sent:
            if elem.tag.group in (0x0002, 0xFFFC) or elem.tag.element == 0:
                continue  # file meta, padding and group lengths are storescu's to re-encode
            assert elem.tag in stored, (path.name, elem.tag)
            assert stored[elem.tag].value == elem.value, (path.name, elem.tag)
    assert not refused, refused
    assert stored_count >= 0.8 * len(SAMPLES), (stored_count, len(SAMPLES))


def _hostile(tmp_path: Path, study: str, series: str, sop: str) -> Path:
    ds = pydicom.dcmread(sample("CT_small.dcm"))
    patches = {}
    values = []
    for i, value in enumerate((study, series)):
        raw = value.encode("utf-8")
        if raw.isascii():
            values.append(value)
        else:
            # pydicom will not write non-ASCII UIDs; a hostile sender will: patch the bytes in.
            placeholder = (f"9{i}" * len(raw))[: len(raw)]
            patches[placeholder.encode()] = raw
            values.append(placeholder)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = values
    ds.SOPInstanceUID = sop
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    path = tmp_path / f"hostile-{abs(hash((study, series, sop)))}.dcm"
    ds.save_as(path, enforce_file_format=True)
    data = path.read_bytes()
    for placeholder, raw in patches.items():
        assert data.count(placeholder) == 1
        data = data.replace(placeholder, raw)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("study,series,sop,stored", [
    ("../../../../tmp/escape", "..", "../../evil", True),
    ("/etc/passwd", "/tmp", "/tmp/abs", True),
    # storescu cuts the command's UID to 64 characters: the data set no longer matches (0xA900)
    ("1." + "2" * 198, "1.2.3", "1.2.3." + "4" * 190, False),
    ("1." + "2" * 198, "1.2.3", "1.2.3.4", True),
    ("1.2.ü.3", "1.2.\u202e3", "1.2.3.04", True),
    ("", "", "1.2.3.4", True),
])
def test_crafted_uids_stay_inside_the_store(start_runtime, tmp_path: Path, study: str, series: str,
                                            sop: str, stored: bool) -> None:
    port = free_port()
    data = tmp_path / "data"
    rt = start_runtime(write_channel(tmp_path / "ch", port=port), data_dir=data, with_pipeline=False)
    storescu(port, [_hostile(tmp_path, study, series, sop)])
    store = (data / "store").resolve()
    for path in data.rglob("*"):
        assert path.resolve() == store or store in path.resolve().parents or path.name in (
            "store", "tmp", "index.sqlite3", "index.sqlite3-wal", "index.sqlite3-shm", "logs") or \
            path.resolve().parent == data.resolve() or "logs" in path.parts or path.parent == data / "tmp"
    for path in (data / "store").rglob("*.dcm"):
        rel = path.relative_to(store)
        assert all(part == "unknown" or is_valid_uid(part.removesuffix(".dcm")) or part.startswith("x-")
                   for part in rel.parts)
    rows = rt.index.query("SELECT sop_uid FROM instances")
    assert [r["sop_uid"] for r in rows] == ([sop] if stored else [])  # the original value is kept
    assert echoscu(port).returncode == 0  # still answering


def _make_store_unwritable(store: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(store)], check=True)  # root ignores permission bits
    else:
        store.chmod(0o500)


def _make_store_writable(store: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(store)], check=True)
    else:
        store.chmod(0o700)


def test_unwritable_store_answers_a7xx_then_recovers(start_runtime, tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    rt = start_runtime(write_channel(tmp_path / "ch", port=port), data_dir=data, with_pipeline=False)
    store = data / "store"
    _make_store_unwritable(store)
    try:
        failed = storescu(port, [sample("CT_small.dcm")], extra=["-v"])
        assert failed.returncode != 0
        assert "Refused: OutOfResources" in failed.stderr + failed.stdout, failed.stderr
        assert rt.index.query("SELECT COUNT(*) FROM instances")[0][0] == 0
        assert not list(store.rglob("*.dcm"))
    finally:
        _make_store_writable(store)
    ok = storescu(port, [sample("CT_small.dcm")])
    assert ok.returncode == 0, ok.stderr
    assert rt.index.query("SELECT COUNT(*) FROM instances")[0][0] == 1
    assert not temporary_leftovers(data / "tmp")


def test_abort_in_the_middle_of_an_object_leaves_nothing(start_runtime, tmp_path: Path) -> None:
    """A real association, half an object, then an A-ABORT: no file, no row, no temp file."""
    from pynetdicom import AE
    from pynetdicom.sop_class import CTImageStorage

    port = free_port()
    data = tmp_path / "data"
    rt = start_runtime(write_channel(tmp_path / "ch", port=port, extra_dicom="max_pdu_length: 16384"),
                       data_dir=data, with_pipeline=False)
    ae = AE(ae_title="CT_SCANNER_1")
    ae.add_requested_context(CTImageStorage, "1.2.840.10008.1.2.1")
    ae.maximum_pdu_size = 16384
    assoc = ae.associate("127.0.0.1", port, ae_title="INTU_SCP")
    assert assoc.is_established
    ds = pydicom.dcmread(sample("CT_small.dcm"))
    ds.SOPInstanceUID = generate_uid()
    # Send the command and the first data set fragments by hand, then abort.
    from pynetdicom.dimse_primitives import C_STORE
    from pynetdicom.dsutils import encode

    req = C_STORE()
    req.MessageID = 1
    req.AffectedSOPClassUID = CTImageStorage
    req.AffectedSOPInstanceUID = ds.SOPInstanceUID
    req.Priority = 2
    req.DataSet = io.BytesIO(encode(ds, False, True))
    from pynetdicom.dimse_messages import C_STORE_RQ

    msg = C_STORE_RQ()
    msg.primitive_to_message(req)
    context_id = assoc.accepted_contexts[0].context_id
    pdata = list(msg.encode_msg(context_id, 16384))
    assert len(pdata) > 2
    for primitive in pdata[:2]:
        assoc.dul.send_pdu(primitive)
    wait_for(lambda: any((data / "tmp").iterdir()), timeout=10)
    assoc.abort()
    wait_for(lambda: not any((data / "tmp").iterdir()), timeout=10)
    assert rt.index.query("SELECT COUNT(*) FROM instances")[0][0] == 0
    assert not list((data / "store").rglob("*.dcm"))
    assert echoscu(port).returncode == 0


@pytest.mark.parametrize("chunked", [True, False])
def test_stored_file_meta_says_who_sent_it_to_whom(start_runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   chunked: bool) -> None:
    """Sending and Receiving Application Entity Title (PS3.10 7.1) in the stored file's File
    Meta group, whether pynetdicom streamed the data set to a file or kept it in memory."""
    from pynetdicom import _config

    port = free_port()
    data = tmp_path / "data"
    start_runtime(write_channel(tmp_path / "ch", port=port), data_dir=data, with_pipeline=False)
    monkeypatch.setattr(_config, "STORE_RECV_CHUNKED_DATASET", chunked)  # after the listener set it
    path = sample("CT_small.dcm")
    assert storescu(port, [path]).returncode == 0
    sent = pydicom.dcmread(path)
    stored = _stored_path(data, sent)
    wait_for(stored.is_file)
    ds = pydicom.dcmread(stored)
    meta = ds.file_meta
    assert (meta.SendingApplicationEntityTitle, meta.ReceivingApplicationEntityTitle) == ("CT_SCANNER_1", "INTU_SCP")
    assert meta.MediaStorageSOPInstanceUID == sent.SOPInstanceUID
    assert meta.TransferSyntaxUID == sent.file_meta.TransferSyntaxUID
    assert ds.PixelData == sent.PixelData
