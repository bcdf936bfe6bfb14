"""RELIABILITY 13 and issue 10 "disk full": a 3 MB tmpfs holds the whole data directory.

0xA700-range status, nothing partial, listener alive, success once space is back. The
listener must be stopped before the filesystem is unmounted, so `tmpfs_data` is asked
for before the receiver in every test (fixtures are torn down in reverse order).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
from dicomtools import (
    echoscu,
    free_port,
    sample,
    storescu,
    temporary_leftovers,
    wait_for,
    write_channel,
)
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from rel_helpers import confirmed_files, fast_copies


@pytest.fixture
def tmpfs_data(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a 3 MB tmpfs here (needs root or CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        yield mount_point / "data"
    finally:
        if subprocess.run(["umount", str(mount_point)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def _fill(folder: Path, leave_free: int) -> Path:
    """A ballast file that leaves about `leave_free` bytes free on folder's filesystem."""
    ballast = folder / "ballast"
    free = shutil.disk_usage(folder).free
    with open(ballast, "wb") as fh:
        fh.write(b"\x00" * max(0, free - leave_free))
    return ballast


def _big_object(path: Path, megabytes: float) -> Path:
    ds = pydicom.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture
    ds.SOPInstanceUID, ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid(), generate_uid()
    ds.Modality = "OT"
    ds.Rows = ds.Columns = 512
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    frames = max(1, int(megabytes * 1024 * 1024) // (512 * 512 * 2))
    ds.NumberOfFrames = frames
    ds.PixelData = (np.arange(512 * 512 * frames, dtype=np.uint16) % 4096).tobytes()
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.save_as(path, enforce_file_format=True)
    return path


def _no_partial_files(data: Path) -> None:
    assert not temporary_leftovers(data / "tmp")
    for path in (data / "store").rglob("*"):
        if path.is_file():
            assert path.suffix == ".dcm" and not path.name.startswith("."), path
            pydicom.dcmread(path)  # complete and readable


def test_disk_full_in_the_middle_of_an_object_then_space_comes_back(tmpfs_data: Path, start_runtime,
                                                                     tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    port = free_port()
    rt = start_runtime(write_channel(tmp_path / "ch", port=port), data_dir=tmpfs_data, with_pipeline=False)
    big = _big_object(tmp_path / "big.dcm", 1.5)
    ballast = _fill(tmpfs_data, leave_free=700 * 1024)  # less than the object: ENOSPC mid-write
    refused = storescu(port, [big], extra=["-v"])
    assert "Refused: OutOfResources" in refused.stderr, refused.stderr  # 0xA700
    wait_for(lambda: "cannot write SOP instance" in caplog.text)
    assert rt.index.query("SELECT COUNT(*) FROM instances")[0][0] == 0
    _no_partial_files(tmpfs_data)
    assert echoscu(port).returncode == 0  # the listener lives

    ballast.unlink()  # space is back
    stored = storescu(port, [big])
    assert stored.returncode == 0, stored.stderr
    assert rt.index.query("SELECT COUNT(*) FROM instances")[0][0] == 1
    _no_partial_files(tmpfs_data)


def test_filling_the_disk_object_by_object(tmpfs_data: Path, start_runtime, tmp_path: Path) -> None:
    """Objects until the disk is full: each one confirmed is stored whole and indexed, every
    other one answered 0xA7xx; after freeing space the rest go through."""
    port = free_port()
    rt = start_runtime(write_channel(tmp_path / "ch", port=port), data_dir=tmpfs_data, with_pipeline=False)
    objects = fast_copies(sample("CT_small.dcm"), tmp_path / "objects", 40)  # ~1.6 MB in all
    ballast = _fill(tmpfs_data, leave_free=800 * 1024)
    first = storescu(port, [o.path for o in objects], extra=["-v"])
    confirmed = confirmed_files(first.stderr)
    assert 0 < len(confirmed) < len(objects), first.stderr
    assert "Refused: OutOfResources" in first.stderr
    indexed = {r["sop_uid"] for r in rt.index.query("SELECT sop_uid FROM instances")}
    by_path = {str(o.path): o for o in objects}
    assert indexed == {by_path[f].sop_uid for f in confirmed}  # store and index agree
    assert len(list((tmpfs_data / "store").rglob("*.dcm"))) == len(confirmed)
    _no_partial_files(tmpfs_data)

    ballast.unlink()
    rest = [o.path for o in objects if str(o.path) not in set(confirmed)]
    second = storescu(port, rest, extra=["-v"])
    assert second.returncode == 0, (second.stderr, shutil.disk_usage(tmpfs_data), sorted(
        (p.stat().st_size, p.name) for p in tmpfs_data.rglob("*") if p.is_file())[-5:])
    assert rt.index.query("SELECT COUNT(*) FROM instances")[0][0] == len(objects)
    _no_partial_files(tmpfs_data)


def test_ballast_helper_leaves_what_it_says(tmpfs_data: Path) -> None:
    tmpfs_data.mkdir()
    _fill(tmpfs_data, leave_free=500 * 1024)
    assert 400 * 1024 <= shutil.disk_usage(tmpfs_data).free <= 600 * 1024


def test_the_window_warns_while_space_is_still_left(tmpfs_data: Path, start_runtime, tmp_path: Path,
                                                    qtbot) -> None:  # type: ignore[no-untyped-def]
    """The runtime reports the store's free space; the status bar turns it into a warning
    (under 5 GB) long before a C-STORE would fail."""
    from intu_desktop import events
    from intu_desktop.gui.views.status_bar import StatusBar

    rt = start_runtime(write_channel(tmp_path / "ch", port=free_port()), data_dir=tmpfs_data, with_pipeline=False)
    seen: list[events.Event] = []
    unsubscribe = rt.bus.subscribe(lambda event: seen.append(event) if event.kind == events.DISK_SPACE else None)
    try:
        rt.publish_disk_space()
    finally:
        unsubscribe()
    space = seen[-1].data
    assert 0 < space["free"] <= space["total"] <= 3 * 1024 * 1024
    bar = StatusBar()
    qtbot.addWidget(bar)
    bar.set_disk(space["free"], space["total"])
    assert bar.disk_low and "under 5 GB" in bar.disk.text()
