"""RELIABILITY 17 and issue 10 "load": concurrent senders, and 1,000 associations without growth.

20 storescu processes × 50 objects here; 20 × 500 in benchmarks/soak_load.py.
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pydicom
import pytest
from dicomtools import dcmtk, echoscu, sample, temporary_leftovers
from rel_helpers import fast_copies, open_fds, part10, threads_back_to
from rel_pdus import echo_command, raw_echo

SENDERS = 20
PER_SENDER = 50


def run_concurrent_senders(port: int, folders: list[list[Path]]) -> list[subprocess.CompletedProcess[str]]:
    """One storescu per folder, all at once; each retries a transient reject like a modality."""
    results: list[subprocess.CompletedProcess[str] | None] = [None] * len(folders)

    def send(n: int) -> None:
        cmd = [dcmtk("storescu"), "-aet", f"MODALITY_{n:02d}", "-aec", "INTU_SCP", "127.0.0.1", str(port),
               *map(str, folders[n])]
        results[n] = subprocess.run(cmd, capture_output=True, text=True, timeout=900)

    threads = [threading.Thread(target=send, args=(n,), name=f"sender-{n}") for n in range(len(folders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [r for r in results if r is not None]


def check_each_stored_once(rx, expected_uids: set[str]) -> None:  # type: ignore[no-untyped-def]
    rows = rx.runtime.index.query("SELECT sop_uid, duplicates, revisions FROM instances")
    assert {r["sop_uid"] for r in rows} == expected_uids
    assert all(r["duplicates"] == 0 and r["revisions"] == 0 for r in rows)
    files = [p for p in (rx.data / "store").rglob("*") if p.is_file()]
    assert len(files) == len(rows)  # index count equals file count; no revisions, no leftovers
    assert not temporary_leftovers(rx.data / "tmp")


@pytest.mark.slow
def test_20_concurrent_senders_each_object_stored_exactly_once(receiver, tmp_path: Path) -> None:
    rx = receiver(f"max_associations: {SENDERS}")
    objects = fast_copies(sample("CT_small.dcm"), tmp_path / "objects", SENDERS * PER_SENDER, series_size=PER_SENDER)
    folders = [[o.path for o in objects[n * PER_SENDER:(n + 1) * PER_SENDER]] for n in range(SENDERS)]
    results = run_concurrent_senders(rx.port, folders)
    assert all(r.returncode == 0 for r in results), [r.stderr[-500:] for r in results if r.returncode]
    check_each_stored_once(rx, {o.sop_uid for o in objects})
    one = next((rx.data / "store").rglob("*.dcm"))
    assert pydicom.dcmread(one).PixelData  # whole objects, not just headers


@pytest.mark.slow
def test_1000_associations_leave_no_thread_or_file_handle_behind(receiver, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Echoes, stores, duplicates, refused objects, releases and aborts from an in-process
    pynetdicom client: 1,000 associations, then the same threads and descriptors as before."""
    from pynetdicom import AE, _config
    from pynetdicom.dsutils import encode
    from pynetdicom.sop_class import CTImageStorage, Verification

    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)  # send files as they are
    rx = receiver()
    ds = pydicom.dcmread(sample("CT_small.dcm"))
    mismatch = tmp_path / "mismatch.dcm"
    mismatch.write_bytes(part10(encode(ds, False, True), CTImageStorage, "1.2.826.0.1.3680043.10.99"))
    ae = AE(ae_title="CT_SCANNER_1")
    ae.add_requested_context(Verification)
    ae.add_requested_context(CTImageStorage, str(ds.file_meta.TransferSyntaxUID))
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    echo = echo_command()

    def one(n: int) -> None:
        if n % 20 not in (0, 10) and n % 25:
            raw_echo(rx.port, echo)  # most of them: a lean client, so 1,000 fit in seconds
            return
        assoc = ae.associate("127.0.0.1", rx.port, ae_title="INTU_SCP")
        assert assoc.is_established, n
        if n % 20 == 0:
            status = assoc.send_c_store(ds)  # the same object again and again: duplicates
            assert int(status.Status) == 0x0000
        elif n % 20 == 10:
            status = assoc.send_c_store(mismatch)  # the handler refuses it: 0xA900
            assert int(status.Status) == 0xA900
        else:
            assert int(assoc.send_c_echo().Status) == 0x0000
        if n % 25 == 0:
            assoc.abort(block=False)
        else:
            assoc.release()

    def client(numbers: range, errors: list[BaseException]) -> None:
        try:
            for n in numbers:
                one(n)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    client(range(50), [])  # warm up: pools, caches and lazily started threads
    threads_back_to(threading.active_count(), timeout=5)
    threads, fds = threading.active_count(), open_fds()
    errors: list[BaseException] = []
    clients = [threading.Thread(target=client, args=(range(50 + k, 1050, 4), errors), name=f"client-{k}")
               for k in range(4)]  # four modalities at a time, 1,000 associations in all
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    assert not errors, errors
    final_threads = threads_back_to(threads, slack=2)
    assert final_threads <= threads + 2, [t.name for t in threading.enumerate()]
    assert open_fds() <= fds + 5, os.listdir("/proc/self/fd")
    assert echoscu(rx.port).returncode == 0
    assert rx.runtime.index.query("SELECT duplicates FROM instances")[0][0] >= 50
