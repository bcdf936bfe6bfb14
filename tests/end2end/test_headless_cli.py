"""The installed program as a user runs it: validate, headless start/stop, exit codes, memory."""

from __future__ import annotations

import os
import re
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from dicomtools import echoscu, free_port, sample, storescu, wait_for, wait_port, write_channel
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

PROGRAM = [sys.executable, "-m", "intu_desktop"]


def _start(args: list[str], data: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([*PROGRAM, *args, "--data-dir", str(data)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def test_version() -> None:
    from intu_desktop import __version__

    out = subprocess.run([*PROGRAM, "--version"], capture_output=True, text=True, check=True)
    assert __version__ in out.stdout


def test_validate_reports_each_bad_field_with_file_and_line(tmp_path: Path) -> None:
    channel = tmp_path / "broken" / "channel.yaml"
    channel.parent.mkdir()
    channel.write_text(
        "id: broken\n"
        "enabled: true\n"
        "listener:\n"
        "  type: dicom\n"
        "  dicom:\n"
        "    port: 70000\n"
        "    ae_title: THIS_TITLE_IS_TOO_LONG\n"
        "    calling_ae_titles:\n"
        "      - \"BAD\\\\AE\"\n"
        "    tls:\n"
        "      cert_file: /nonexistent/server.crt\n"
        "      key_file: /nonexistent/server.key\n"
        "destinations:\n"
        "  - no-such-destination\n",
        encoding="utf-8",
    )
    result = subprocess.run([*PROGRAM, "validate", "--channel", str(channel)], capture_output=True, text=True)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    expected = {6: "listener.dicom.port", 7: "listener.dicom.ae_title", 9: "listener.dicom.calling_ae_titles",
                11: "listener.dicom.tls.cert_file", 12: "listener.dicom.tls.key_file", 14: "destinations"}
    for line_no, key in expected.items():
        pattern = re.compile(rf"^{re.escape(str(channel))}:{line_no}: {re.escape(key)}")
        assert any(pattern.match(line) for line in lines), (line_no, key, lines)


def test_validate_accepts_the_default_project() -> None:
    result = subprocess.run([*PROGRAM, "validate"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "1 DICOM listener" in result.stdout


def test_headless_logs_events_and_exits_0_on_sigterm_within_5_s(tmp_path: Path) -> None:
    port = free_port()
    channel = write_channel(tmp_path / "ch", port=port)
    proc = _start(["--headless", "--channel", str(channel)], tmp_path / "data")
    try:
        wait_port(port, timeout=30)
        assert storescu(port, [sample("CT_small.dcm")]).returncode == 0
        assert echoscu(port, aet="STRANGER", aec="WRONG").returncode != 0
        time.sleep(1)
    finally:
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert time.monotonic() - started < 5
    assert "association requested by CT_SCANNER_1" in out
    assert "stored 1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322" in out
    assert "rejected: called AE title not recognized" in out
    # No PHI on stdout: CT_small's patient name and ID never appear.
    ds = pydicom.dcmread(sample("CT_small.dcm"))
    assert str(ds.PatientName) not in out and str(ds.PatientID) not in out


def test_second_instance_on_a_busy_port_exits_2_with_the_reason(tmp_path: Path) -> None:
    port = free_port()
    channel = write_channel(tmp_path / "ch", port=port)
    first = _start(["--headless", "--channel", str(channel)], tmp_path / "d1")
    try:
        wait_port(port, timeout=30)
        second = subprocess.run([*PROGRAM, "--headless", "--channel", str(channel), "--data-dir",
                                 str(tmp_path / "d2")], capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        assert f"port {port} is already in use" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)


def test_bad_tls_files_exit_2(tmp_path: Path) -> None:
    port = free_port()
    cert = tmp_path / "garbage.crt"
    cert.write_text("not a certificate")
    key = tmp_path / "garbage.key"
    key.write_text("not a key")
    channel = write_channel(tmp_path / "ch", port=port,
                            extra_dicom=f"tls:\n  cert_file: {cert}\n  key_file: {key}")
    result = subprocess.run([*PROGRAM, "--headless", "--channel", str(channel), "--data-dir",
                             str(tmp_path / "d")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "not a PEM certificate" in result.stderr


def test_gui_without_display_says_so_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    port = free_port()
    channel = write_channel(tmp_path / "ch", port=port)
    result = subprocess.run([*PROGRAM, "--channel", str(channel), "--data-dir", str(tmp_path / "d")],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "--headless" in result.stderr


def _big_multiframe(path: Path, megabytes: int) -> Path:
    rows = cols = 512
    frames = megabytes * 1024 * 1024 // (rows * cols * 2)
    ds = pydicom.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2.1"  # Enhanced CT Image Storage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "CT"
    ds.PatientName = "Big^Object"
    ds.PatientID = "BIG1"
    ds.Rows, ds.Columns = rows, cols
    ds.NumberOfFrames = frames
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(path, enforce_file_format=True)
    # Pixel Data appended frame by frame: this process stays small, so a child forked from it
    # does not inherit a large RSS into its ru_maxrss.
    frame = (np.arange(rows * cols, dtype=np.uint16) % 4096).tobytes()
    with open(path, "ab") as fh:
        fh.write(struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, len(frame) * frames))
        for _ in range(frames):
            fh.write(frame)
    return path


@pytest.mark.slow
def test_300_mb_object_stored_intact_with_small_peak_memory(tmp_path: Path) -> None:
    import hashlib

    big = _big_multiframe(tmp_path / "big.dcm", 300)
    port = free_port()
    channel = write_channel(tmp_path / "ch", port=port)
    data = tmp_path / "data"
    proc = _start(["--headless", "--channel", str(channel)], data)
    try:
        wait_port(port, timeout=30)
        result = storescu(port, [big], extra=["-xe"], timeout=600)
        assert result.returncode == 0, result.stderr
        stored = wait_for(lambda: list((data / "store").rglob("*.dcm")), timeout=30)
        # VmHWM is the peak RSS of this program since its exec; ru_maxrss would also count the
        # pytest process the child was forked from.
        status_text = Path(f"/proc/{proc.pid}/status").read_text()
        peak_kib = int(next(line.split()[1] for line in status_text.splitlines() if line.startswith("VmHWM:")))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    peak_mb = peak_kib / 1024
    print(f"peak RSS of the receiver: {peak_mb:.0f} MB")
    assert peak_mb < 150, f"peak RSS {peak_mb:.0f} MB while receiving a 300 MB object"
    def pixel_hash(path: Path) -> bytes:
        from pynetdicom.dsutils import split_dataset

        _meta, offset = split_dataset(path)
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            fh.seek(offset)
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        return digest.digest()

    assert pixel_hash(big) == pixel_hash(stored[0])  # the whole data set, byte for byte
