"""Helpers for the reliability tests: process measurements, a headless subprocess, objects."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from dicomtools import temporary_leftovers

PROGRAM = [sys.executable, "-m", "intu_desktop"]


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / (1024 * 1024)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def settle(predicate, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    """Poll until predicate() is true; returns whether it became true (no exception)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def threads_back_to(baseline: int, slack: int = 2, timeout: float = 20.0) -> int:
    """Wait for the thread count to come back near `baseline`; returns the final count."""
    settle(lambda: threading.active_count() <= baseline + slack, timeout)
    return threading.active_count()


class Headless:
    """`python -m intu_desktop --headless` as a user (or a service manager) runs it."""

    def __init__(self, channel_args: list[str], data: Path, *, env: dict[str, str] | None = None) -> None:
        self.data = data
        self.log = data.parent / f"{data.name}-stdout-{time.monotonic_ns()}.txt"
        self._out = open(self.log, "w", encoding="utf-8")
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        # A session of its own: kill9() ends the program's receiver processes and workers with it.
        self.proc = subprocess.Popen([*PROGRAM, "--headless", *channel_args, "--data-dir", str(data)],
                                     stdout=self._out, stderr=subprocess.STDOUT, text=True, env=full_env,
                                     start_new_session=True)

    def kill9(self) -> None:
        """A crash of the whole program: every one of its processes at the same instant."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        self._out.close()

    def wait_running(self, timeout: float = 60.0) -> None:
        """Until every listener has started. The port accepts (into its backlog) as soon as the
        program binds it, before its receiver processes exist: an open port says less."""
        if not settle(lambda: "running headless" in self.output() or self.proc.poll() is not None, timeout):
            raise AssertionError(f"not running after {timeout} s:\n{self.output()[-2000:]}")
        if self.proc.poll() is not None:
            raise AssertionError(f"ended with {self.proc.returncode}:\n{self.output()[-2000:]}")

    def receiver_pids(self) -> list[int]:
        """The receiver processes the program started (call wait_running() first)."""
        try:
            children = psutil.Process(self.proc.pid).children()
        except psutil.Error:
            return []
        return [c.pid for c in children if "spawn_main" in " ".join(c.cmdline())]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self._out.close()
        return int(self.proc.returncode)

    def output(self) -> str:
        if not self._out.closed:
            self._out.flush()
        return self.log.read_text(encoding="utf-8", errors="replace")


# storescu -v prints, for every file: "Sending file: <path>" ... "Received Store Response (Success)"
_SENDING = re.compile(r"Sending file: (.+)$")
_RESPONSE = re.compile(r"Received Store Response \(([^)]*)\)")


def confirmed_files(storescu_output: str) -> list[str]:
    """The files storescu was told were stored (status Success) in its -v output."""
    confirmed: list[str] = []
    current: str | None = None
    for line in storescu_output.splitlines():
        sending = _SENDING.search(line)
        if sending:
            current = sending.group(1).strip()
            continue
        response = _RESPONSE.search(line)
        if response and current is not None:
            if response.group(1) == "Success":
                confirmed.append(current)
            current = None
    return confirmed


@dataclass
class StoreRun:
    proc: subprocess.Popen[str]
    thread: threading.Thread
    output: list[str]

    def wait(self, timeout: float = 300) -> int:
        self.thread.join(timeout)
        return int(self.proc.returncode if self.proc.returncode is not None else -1)


def storescu_in_background(cmd: list[str]) -> StoreRun:
    """Run a storescu command while the test does something else; collect its output."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []

    def pump() -> None:
        out, _ = proc.communicate()
        output.append(out)

    thread = threading.Thread(target=pump, name="storescu-pump", daemon=True)
    thread.start()
    return StoreRun(proc, thread, output)


def files_under(folder: Path, pattern: str = "*") -> list[Path]:
    return sorted(p for p in folder.rglob(pattern) if p.is_file())


def leftovers(data: Path) -> list[Path]:
    """Partial or temporary files anywhere in the data dir (there must be none at rest)."""
    found = temporary_leftovers(data / "tmp") if (data / "tmp").exists() else []
    found += [p for p in files_under(data / "store") if p.suffix != ".dcm" or p.name.startswith(".")]
    return found


def any_contains(paths: Iterable[Path], needles: Iterable[bytes]) -> list[tuple[Path, bytes]]:
    """(file, needle) for each needle found in a file's bytes or its path."""
    hits = []
    needles = list(needles)
    for path in paths:
        blob = path.read_bytes() + str(path).encode("utf-8", "surrogateescape")
        for needle in needles:
            if needle.lower() in blob.lower():
                hits.append((path, needle))
    return hits


def tls_extra(pki: dict[str, Path]) -> str:
    """listener.dicom.tls for the `pki` fixture's server certificate."""
    return f"tls:\n  cert_file: {pki['server_cert']}\n  key_file: {pki['server_key']}\n"


def client_tls_args(pki: dict[str, Path]) -> list[str]:
    """DCMTK client options for TLS with the `pki` fixture's client certificate."""
    return ["+tls", str(pki["client_key"]), str(pki["client_cert"]), "+cf", str(pki["ca"])]


def part10(dataset: bytes, sop_class: str, sop_uid: str, transfer_syntax: str = "1.2.840.10008.1.2.1") -> bytes:
    """A Part 10 file around raw data set bytes (which nobody needs to be able to parse)."""
    import io

    from pydicom.dataset import FileMetaDataset
    from pydicom.filewriter import write_file_meta_info

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = transfer_syntax
    buf = io.BytesIO()
    buf.write(b"\x00" * 128 + b"DICM")
    write_file_meta_info(buf, meta)
    return buf.getvalue() + dataset


def send_as_is(port: int, path: Path, *, aet: str = "CT_SCANNER_1") -> Any:
    """C-STORE a file's data set bytes exactly as they are (pynetdicom never parses them);
    returns the response status data set (Status, maybe ErrorComment)."""
    from pydicom.filereader import read_file_meta_info
    from pynetdicom import AE, _config

    meta = read_file_meta_info(path)
    ae = AE(ae_title=aet)
    ae.add_requested_context(meta.MediaStorageSOPClassUID, meta.TransferSyntaxUID)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 60
    previous = _config.STORE_SEND_CHUNKED_DATASET
    _config.STORE_SEND_CHUNKED_DATASET = True
    try:
        assoc = ae.associate("127.0.0.1", port, ae_title="INTU_SCP")
        assert assoc.is_established, "association refused"
        try:
            return assoc.send_c_store(path)
        finally:
            if assoc.is_established:
                assoc.release()
    finally:
        _config.STORE_SEND_CHUNKED_DATASET = previous


@dataclass(frozen=True)
class Generated:
    path: Path
    sop_uid: str
    study_uid: str
    series_uid: str


def _same_length_uid(root: str, length: int, serial: int) -> str:
    width = length - len(root) - 1
    assert width >= len(str(serial)), "UID root too long"
    return f"{root}1{serial:0{width}d}"  # the leading 1: no component starts with 0 (PS3.5 §9.1)


def fast_copies(template: Path, folder: Path, count: int, *, series_size: int = 100) -> list[Generated]:
    """`count` distinct objects from one sample, made by swapping UIDs of the same length in
    its bytes (deep-copying a data set per object is 30 times slower)."""
    import pydicom

    folder.mkdir(parents=True, exist_ok=True)
    blob = template.read_bytes()
    ds = pydicom.dcmread(template, stop_before_pixels=True)
    olds = [str(ds.SOPInstanceUID), str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)]
    stamp = time.time_ns() % 10**9
    out = []
    for n in range(count):
        study = _same_length_uid(f"1.2.826.0.1.3680043.10.1.{stamp}.", len(olds[1]), n // (series_size * 10))
        series = _same_length_uid(f"1.2.826.0.1.3680043.10.2.{stamp}.", len(olds[2]), n // series_size)
        sop = _same_length_uid(f"1.2.826.0.1.3680043.10.3.{stamp}.", len(olds[0]), n)
        data = blob
        for old, new in zip(olds, (sop, study, series)):
            data = data.replace(old.encode(), new.encode())
        path = folder / f"obj{n:05d}.dcm"
        path.write_bytes(data)
        out.append(Generated(path, sop, study, series))
    return out
