"""Crash rounds shared by tests/reliability/test_rel_crash.py and benchmarks/soak_crash.py."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pydicom
from dicomtools import dcmtk, wait_for, wait_port
from rel_helpers import Generated, Headless, confirmed_files, leftovers

from intu_desktop.dicom.storage import path_component


def index_rows(data: Path, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(str(data / "index.sqlite3"), timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _stored_path(data: Path, obj: Generated) -> Path:
    return (data / "store" / path_component(obj.study_uid) / path_component(obj.series_uid)
            / f"{path_component(obj.sop_uid)}.dcm")


def _stored_count(output: str) -> int:
    return output.count(" INFO intu_desktop.dicom.scp: stored ")


def check_after_restart(data: Path, confirmed: list[Generated]) -> None:
    """Every confirmed object present, readable, indexed; no partial or temporary file."""
    assert not leftovers(data), leftovers(data)
    indexed = {r["sop_uid"] for r in index_rows(data, "SELECT sop_uid FROM instances")}
    for obj in confirmed:
        path = _stored_path(data, obj)
        assert path.is_file(), f"confirmed but missing: {obj.sop_uid}"
        assert str(pydicom.dcmread(path).SOPInstanceUID) == obj.sop_uid
        assert obj.sop_uid in indexed, f"confirmed but not indexed: {obj.sop_uid}"
    for path in (data / "store").rglob("*.dcm"):  # nothing half-written is visible either
        pydicom.dcmread(path, stop_before_pixels=True)


def _collect_stderr(sender: subprocess.Popen[str], output: list[str]) -> None:
    output.append(sender.communicate()[1])


def _wait_for_progress(receiver: Headless, sender: subprocess.Popen[str], stores: int) -> None:
    """Until the receiver logged `stores` stored objects, or the sender is done."""
    wait_for(lambda: _stored_count(receiver.output()) >= stores or sender.poll() is not None, timeout=300)


def kill_rounds(objects: list[Generated], program_args: list[str], port: int, data: Path, rounds: int,
                rng: random.Random, log: list[str]) -> tuple[list[Generated], Headless]:
    """`rounds` times: send what is not confirmed yet (everything again once all is), kill -9
    the receiver at a random point of the ingest, restart it and check. Returns the
    confirmed objects and the live receiver (the caller stops it)."""
    by_path = {str(o.path): o for o in objects}
    confirmed: dict[str, Generated] = {}
    receiver = Headless(program_args, data)
    try:
        wait_port(port, timeout=60)
        for n in range(rounds):
            remaining = [o for o in objects if o.sop_uid not in confirmed] or objects
            kill_at = rng.randint(1, max(1, int(len(remaining) * 0.8)))
            sender = subprocess.Popen([dcmtk("storescu"), "-v", "-aet", "CT_SCANNER_1", "-aec", "INTU_SCP",
                                       "127.0.0.1", str(port), *(str(o.path) for o in remaining)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            output: list[str] = []
            reader = threading.Thread(target=_collect_stderr, args=(sender, output), daemon=True)
            reader.start()
            _wait_for_progress(receiver, sender, kill_at)
            time.sleep(rng.uniform(0, 0.03))  # land anywhere: mid-write, mid-fsync, mid-commit
            receiver.kill9()
            reader.join(60)
            newly = [by_path[f] for f in confirmed_files(output[0] if output else "")]
            confirmed.update((o.sop_uid, o) for o in newly)
            pending = index_rows(data, "SELECT COUNT(*) FROM instances WHERE pipeline_status = 'pending'")[0][0]
            log.append(f"round {n + 1}: killed after {kill_at} stores; {len(newly)} confirmed, "
                       f"{len(leftovers(data))} temporary file(s) and {pending} unprocessed instance(s) left")
            receiver = Headless(program_args, data)
            wait_port(port, timeout=60)
            check_after_restart(data, list(confirmed.values()))
    except BaseException:
        receiver.kill9()
        raise
    return list(confirmed.values()), receiver
