"""RELIABILITY 8, 12, 14–17, 23, 24: what the C-STORE status promises about each data set.

Objects are sent with real peers: DCMTK storescu, or pynetdicom sending a file's bytes
unparsed (for data sets no well-behaved SCU would produce).
"""

from __future__ import annotations

import logging
import os
import stat
import struct
from pathlib import Path

import pydicom
import pytest
from dicomtools import (
    copies_with_new_uids,
    dcmtk,
    echoscu,
    sample,
    storescu,
    temporary_leftovers,
    wait_for,
)
from pydicom.uid import generate_uid
from rel_helpers import confirmed_files, part10, rss_mb, send_as_is, storescu_in_background

from intu_desktop.dicom.storage import path_component

CT = "1.2.840.10008.5.1.4.1.1.2"
CANARY_NAME = "CANARY^NAME^7f3a"


def _raw(group: int, element: int, value: bytes, vr: bytes | None = None) -> bytes:
    """One Explicit VR Little Endian element (short-form VRs only)."""
    if len(value) % 2:
        value += b"\x00" if vr == b"UI" else b" "
    return struct.pack("<HH2sH", group, element, vr or b"LO", len(value)) + value


def _nested_data_set(depth: int, sop_uid: str) -> bytes:
    """A data set whose Content Sequence nests `depth` levels deep (undefined lengths)."""
    head = (_raw(0x0008, 0x0016, b"1.2.840.10008.5.1.4.1.1.88.11", b"UI") + _raw(0x0008, 0x0018, sop_uid.encode(), b"UI")
            + _raw(0x0008, 0x0060, b"SR", b"CS") + _raw(0x0010, 0x0010, CANARY_NAME.encode(), b"PN")
            + _raw(0x0020, 0x000D, generate_uid().encode(), b"UI") + _raw(0x0020, 0x000E, generate_uid().encode(), b"UI"))
    down = struct.pack("<HH2sHL", 0x0040, 0xA730, b"SQ", 0, 0xFFFFFFFF) + struct.pack("<HHL", 0xFFFE, 0xE000, 0xFFFFFFFF)
    up = struct.pack("<HHL", 0xFFFE, 0xE00D, 0) + struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)
    return head + down * depth + _raw(0x0040, 0xA160, b"deep text") + up * depth


@pytest.mark.slow
def test_2000_nested_sequences_refused_while_a_transfer_runs(receiver, tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    rx = receiver()
    objects = copies_with_new_uids(sample("CT_small.dcm"), tmp_path / "objects", 60)
    deep_uid = generate_uid()
    deep = tmp_path / "deep.dcm"
    deep.write_bytes(part10(_nested_data_set(2000, deep_uid), "1.2.840.10008.5.1.4.1.1.88.11", deep_uid))
    send_as_is(rx.port, objects[0])  # warm up before measuring
    baseline = rss_mb()
    transfer = storescu_in_background([dcmtk("storescu"), "-aet", "CT_SCANNER_1", "-aec", "INTU_SCP",
                                       "127.0.0.1", str(rx.port), *map(str, objects[1:])])
    statuses = [int(send_as_is(rx.port, deep).Status) for _ in range(5)]
    assert transfer.wait() == 0, transfer.output
    # Cannot understand (PS3.4 B.2.3): never success for a data set the receiver cannot read.
    assert statuses == [0xC210] * 5
    assert rx.count() == 60
    assert not rx.runtime.index.query("SELECT 1 FROM instances WHERE sop_uid = ?", (deep_uid,))
    assert not temporary_leftovers(rx.data / "tmp")
    assert rss_mb() - baseline < 100
    wait_for(lambda: f"SOP instance {deep_uid} from CT_SCANNER_1 cannot be parsed" in caplog.text)
    assert "RecursionError" in caplog.text
    assert CANARY_NAME not in caplog.text
    assert echoscu(rx.port).returncode == 0


def _variant(tmp_path: Path, name: str, **changes: object) -> Path:
    ds = pydicom.dcmread(sample("CT_small.dcm"))
    ds.PatientName = CANARY_NAME
    for keyword, value in changes.items():
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    path = tmp_path / f"{name}.dcm"
    ds.save_as(path, enforce_file_format=False)
    return path


def test_missing_and_mismatched_uids_answered_with_the_right_range(receiver, tmp_path: Path) -> None:
    """RELIABILITY 14 and 15: 0xC000 without SOP UIDs, 0xA900 when they differ from the
    command; the Error Comment says why in words and carries no patient value."""
    rx = receiver()
    announced = generate_uid()
    missing = tmp_path / "missing.dcm"
    ds = pydicom.dcmread(sample("CT_small.dcm"))
    ds.PatientName = CANARY_NAME
    del ds.SOPInstanceUID
    from pynetdicom.dsutils import encode

    missing.write_bytes(part10(encode(ds, False, True), CT, announced))
    mismatch = _variant(tmp_path, "mismatch", SOPInstanceUID=generate_uid())
    mismatch.write_bytes(part10(encode(pydicom.dcmread(mismatch), False, True), CT, announced))
    for path, expected in ((missing, 0xC000), (mismatch, 0xA900)):
        status = send_as_is(rx.port, path)
        assert int(status.Status) == expected
        comment = str(status.get("ErrorComment", ""))
        assert comment and "CANARY" not in comment.upper()
    assert rx.count() == 0
    assert not temporary_leftovers(rx.data / "tmp")
    ok = send_as_is(rx.port, sample("CT_small.dcm"))
    assert int(ok.Status) == 0x0000 and "ErrorComment" not in ok  # no warning when none is true


def test_preamble_is_written_by_the_receiver(receiver, tmp_path: Path) -> None:
    """RELIABILITY 24 (CVE-2019-11687): a polyglot preamble never reaches the store."""
    rx = receiver()
    source = tmp_path / "polyglot.dcm"
    original = sample("CT_small.dcm").read_bytes()
    source.write_bytes(b"MZ\x90\x00" + b"\xcc" * 124 + original[128:])
    assert storescu(rx.port, [source]).returncode == 0
    stored = next((rx.data / "store").rglob("*.dcm"))
    assert stored.read_bytes()[:132] == b"\x00" * 128 + b"DICM"


def test_byte_caps_per_instance_and_per_association(receiver, tmp_path: Path) -> None:
    """RELIABILITY 8: above a cap the answer is 0xA700 and nothing is kept."""
    small_cap = receiver("max_instance_bytes: 20000", name="per-instance")
    result = storescu(small_cap.port, [sample("CT_small.dcm")], extra=["-v"])
    assert "Refused: OutOfResources" in result.stderr, result.stderr
    assert small_cap.count() == 0 and not list((small_cap.data / "store").rglob("*.dcm"))

    per_association = receiver("max_association_bytes: 100000", name="per-association")
    objects = copies_with_new_uids(sample("CT_small.dcm"), tmp_path / "objects", 5)  # ~40 KB each
    result = storescu(per_association.port, objects, extra=["-v"])
    confirmed = confirmed_files(result.stderr)
    assert 1 <= len(confirmed) < 5, result.stderr
    assert confirmed == [str(p) for p in objects[:len(confirmed)]]  # the first ones, then the cap
    assert per_association.count() == len(confirmed)
    assert "Refused: OutOfResources" in result.stderr
    assert storescu(per_association.port, objects[-1:]).returncode == 0  # a new association starts afresh


def test_handler_failure_is_never_success_and_the_listener_lives(receiver, tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """RELIABILITY 17: a bug in the store path answers 0xC211 (logged with its traceback)."""
    rx = receiver()
    listener = next(iter(rx.runtime.listeners.values()))
    real_place = listener.store.place

    def broken_place(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("injected fault")

    listener.store.place = broken_place  # fault injection on this one instance
    try:
        failed = storescu(rx.port, [sample("CT_small.dcm")], extra=["-v"])
    finally:
        listener.store.place = real_place
    assert failed.returncode != 0 and "Received Store Response (Success)" not in failed.stderr
    assert "Received Store Response (Error: CannotUnderstand)" in failed.stderr  # DCMTK's name for 0xCxxx
    assert "injected fault" in caplog.text  # the traceback is in the log
    assert rx.count() == 0 and not temporary_leftovers(rx.data / "tmp")
    assert storescu(rx.port, [sample("CT_small.dcm")]).returncode == 0


@pytest.mark.parametrize("policy,files,revisions", [("keep_history", 2, 1), ("keep_first", 1, 0), ("replace", 1, 0)])
def test_duplicate_policies(receiver, tmp_path: Path, policy: str, files: int, revisions: int) -> None:
    """RELIABILITY 16: the same SOP Instance UID with different bytes, under each policy."""
    rx = receiver(f"duplicate_policy: {policy}")
    first = _variant(tmp_path, "first", StudyDescription="FIRST VERSION")
    second = _variant(tmp_path, "second", StudyDescription="SECOND VERSION")
    for path in (first, second, second):  # the last one is byte-identical to the current file
        result = storescu(rx.port, [path])
        assert result.returncode == 0, result.stderr  # success in every case: nothing is refused
    stored = sorted((rx.data / "store").rglob("*.dcm"))
    assert len(stored) == files
    rows = rx.runtime.index.query("SELECT revisions, study_description FROM instances")
    assert len(rows) == 1 and rows[0]["revisions"] == revisions
    expected = "FIRST VERSION" if policy == "keep_first" else "SECOND VERSION"
    assert rows[0]["study_description"] == expected
    ds = pydicom.dcmread(sample("CT_small.dcm"), stop_before_pixels=True)
    current = (rx.data / "store" / path_component(str(ds.StudyInstanceUID)) / path_component(str(ds.SeriesInstanceUID))
               / f"{ds.SOPInstanceUID}.dcm")
    assert pydicom.dcmread(current).StudyDescription == expected


def test_private_temp_folder_is_0700_and_cleaned_at_start(start_runtime, tmp_path: Path) -> None:
    """RELIABILITY 12: leftovers of a crash (pynetdicom's or ours) are removed at start."""
    from dicomtools import free_port, write_channel

    data = tmp_path / "data"
    (data / "tmp").mkdir(parents=True)
    (data / "tmp" / "rx-leftover.part").write_bytes(b"half an object")
    series = data / "store" / "1.2.3" / "1.2.3.4"
    series.mkdir(parents=True)
    (series / ".1.2.3.4.5.dcm.part").write_bytes(b"half a rename")
    rt = start_runtime(write_channel(tmp_path / "ch", port=free_port()), data_dir=data, with_pipeline=False)
    assert stat.S_IMODE(os.stat(data / "tmp").st_mode) == 0o700
    assert not list((data / "tmp").iterdir())
    assert not list((data / "store").rglob("*.part"))
    assert rt.store.tmp_dir == (data / "tmp").resolve()


def test_the_nested_data_set_builder_nests(tmp_path: Path) -> None:
    """The builder behind the 2,000-level test makes what it says, at a depth pydicom reads."""
    uid = generate_uid()
    path = tmp_path / "shallow.dcm"
    path.write_bytes(part10(_nested_data_set(5, uid), "1.2.840.10008.5.1.4.1.1.88.11", uid))
    ds = pydicom.dcmread(path)
    depth = 0
    node = ds
    while "ContentSequence" in node:
        node = node.ContentSequence[0]
        depth += 1
    assert depth == 5 and str(ds.PatientName) == CANARY_NAME
