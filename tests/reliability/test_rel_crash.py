"""Issue 10 crash safety / RELIABILITY 10–12, 18: `kill -9` of the real program mid-ingest.

After each restart, every object storescu was told was stored is present, readable and
indexed; nothing partial or temporary is left; unprocessed instances go through the
pipeline and the delivery queue resumes. `intu-desktop reindex` rebuilds a lost or corrupt
index. Longer variant: benchmarks/soak_crash.py.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil
import pydicom
import pytest
from dicomtools import (
    copies_with_new_uids,
    dcmtk,
    free_port,
    sample,
    storescu,
    wait_for,
    wait_port,
    write_channel,
)
from rel_crash import check_after_restart, index_rows, kill_rounds
from rel_helpers import PROGRAM, Headless, confirmed_files, fast_copies, leftovers

ROUNDS = 3
OBJECTS = 1000


@pytest.mark.slow
def test_kill_9_at_random_moments_of_a_1000_object_ingest(tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    objects = fast_copies(sample("CT_small.dcm"), tmp_path / "objects", OBJECTS)
    port = free_port()
    delivered = tmp_path / "delivered"
    channel = write_channel(tmp_path / "ch", port=port, body=f"""
        destinations:
          - name: out-file
            type: file
            file:
              directory: {delivered}
              filename_pattern: "{{{{sopInstanceUid}}}}.json"
        """)
    data = tmp_path / "data"
    log: list[str] = [f"seed {seed}"]
    confirmed, receiver = kill_rounds(objects, ["--channel", str(channel)], port, data, ROUNDS, rng, log)
    try:
        rest = [o for o in objects if o not in set(confirmed)]
        final = storescu(port, [o.path for o in rest], timeout=600) if rest else None
        assert final is None or final.returncode == 0, final.stderr
        check_after_restart(data, objects)
        # Unprocessed instances went through the pipeline; the delivery queue drained.
        wait_for(lambda: not index_rows(data, "SELECT 1 FROM instances WHERE pipeline_status = 'pending' UNION ALL "
                                               "SELECT 1 FROM deliveries WHERE status = 'pending'"), timeout=180)
    finally:
        assert receiver.stop() == 0, receiver.output()[-2000:]
    statuses = {r[0]: r[1] for r in index_rows(data, "SELECT pipeline_status, COUNT(*) FROM instances GROUP BY 1")}
    assert statuses == {"ok": OBJECTS}, (statuses, log)
    assert index_rows(data, "SELECT COUNT(DISTINCT instance_id) FROM deliveries WHERE status = 'delivered'")[0][0] == OBJECTS
    assert sorted(p.stem for p in delivered.glob("*.json")) == sorted(o.sop_uid for o in objects)
    assert len(list((data / "store").rglob("*.dcm"))) == OBJECTS  # each stored once
    print("\n".join(log))


class _Collector(BaseHTTPRequestHandler):
    received: list[str] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received.append(json.loads(body)["sopInstanceUid"])
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


def test_unprocessed_instances_and_pending_deliveries_resume_after_kill_9(tmp_path: Path) -> None:
    """RELIABILITY 18 on the way: stores are confirmed while the transformer is stuck."""
    flag = tmp_path / "hold-the-transformer"
    flag.touch()
    channel_dir = tmp_path / "ch"
    channel_dir.mkdir()
    (channel_dir / "transformer.py").write_text(
        "import os, time\n"
        "def transform(msg):\n"
        f"    while os.path.exists({str(flag)!r}):\n"
        "        time.sleep(0.05)\n"
        "    return {'success': True, 'body': msg['body'], 'contentType': 'application/json'}\n",
        encoding="utf-8")
    port, http_port = free_port(), free_port()  # nothing listens on http_port yet
    channel = write_channel(channel_dir, port=port, body=f"""
        transformer:
          runtime: python
          entrypoint: transformer.py
          timeout_ms: 120000
        destinations:
          - name: collector
            type: http
            http:
              url: http://127.0.0.1:{http_port}/studies
              timeout_ms: 5000
            retry:
              max_attempts: 1000
              initial_delay_ms: 100
              max_delay_ms: 300
        """)
    data = tmp_path / "data"
    objects = copies_with_new_uids(sample("CT_small.dcm"), tmp_path / "objects", 5)

    started: list[Headless] = []
    server: ThreadingHTTPServer | None = None
    _Collector.received = []
    try:
        started.append(first := Headless(["--channel", str(channel)], data))
        wait_port(port, timeout=60)
        sent = storescu(port, objects)
        assert sent.returncode == 0, sent.stderr  # answered although no transform has finished
        assert [r[0] for r in index_rows(data, "SELECT pipeline_status FROM instances")] == ["pending"] * 5
        first.kill9()

        flag.unlink()  # the transformer works now; the HTTP peer is still down
        started.append(second := Headless(["--channel", str(channel)], data))
        wait_for(lambda: [r[0] for r in index_rows(data, "SELECT pipeline_status FROM instances")] == ["ok"] * 5,
                 timeout=60)
        wait_for(lambda: index_rows(data, "SELECT COUNT(*), SUM(attempts) FROM deliveries WHERE status = 'pending' "
                                           "AND last_error != ''")[0][0] >= 1, timeout=60)
        assert index_rows(data, "SELECT COUNT(*) FROM deliveries WHERE status = 'pending'")[0][0] == 5
        second.kill9()

        server = ThreadingHTTPServer(("127.0.0.1", http_port), _Collector)  # the peer is back
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(third := Headless(["--channel", str(channel)], data))
        wait_for(lambda: index_rows(data, "SELECT COUNT(*) FROM deliveries WHERE status = 'delivered'")[0][0] == 5,
                 timeout=60)
        assert third.stop() == 0, third.output()[-2000:]
    finally:
        for receiver in started:
            receiver.kill9()
        if server is not None:
            server.shutdown()
            server.server_close()
    expected = {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in objects}
    assert set(_Collector.received) == expected
    assert not leftovers(data)


def _reindex(data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PROGRAM, "reindex", "--data-dir", str(data)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("damage", ["deleted", "corrupted"])
def test_reindex_rebuilds_the_index_from_the_store(tmp_path: Path, damage: str) -> None:
    port = free_port()
    channel = write_channel(tmp_path / "ch", port=port)
    data = tmp_path / "data"
    objects = fast_copies(sample("CT_small.dcm"), tmp_path / "objects", 40)
    receiver = Headless(["--channel", str(channel), ], data)
    try:
        wait_port(port, timeout=60)
        assert storescu(port, [o.path for o in objects]).returncode == 0
    finally:
        receiver.kill9()
    db = data / "index.sqlite3"
    if damage == "deleted":
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    else:
        with open(db, "r+b") as fh:
            fh.write(b"this is not a database" * 200)
    result = _reindex(data)
    assert result.returncode == 0, result.stderr
    assert "reindexed 40 instance(s)" in result.stdout
    rows = index_rows(data, "SELECT sop_uid, storage_path, transfer_syntax, calling_ae FROM instances")
    assert {r["sop_uid"] for r in rows} == {o.sop_uid for o in objects}
    assert all(Path(r["storage_path"]).is_file() for r in rows)
    # From each file's File Meta group: how it arrived and from whom.
    assert {(r["transfer_syntax"], r["calling_ae"]) for r in rows} == {("1.2.840.10008.1.2.1", "CT_SCANNER_1")}
    # The program runs on the rebuilt index and knows the objects as duplicates.
    again = Headless(["--channel", str(channel)], data)
    try:
        wait_port(port, timeout=60)
        assert storescu(port, [objects[0].path]).returncode == 0
        assert index_rows(data, "SELECT duplicates FROM instances WHERE sop_uid = ?", (objects[0].sop_uid,))[0][0] == 1
    finally:
        assert again.stop() == 0


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE  # ended; reaping is init's business
    except psutil.NoSuchProcess:
        return True


def test_receiver_processes_whose_program_dies_stop_by_themselves_and_keep_what_they_confirmed(tmp_path: Path) -> None:
    """The window (or headless parent) crashes mid-ingest: its receiver processes finish the
    object in hand, close the port and end; nothing confirmed is lost and the next start
    finds a consistent store and index."""
    port = free_port()
    channel = write_channel(tmp_path / "ch", port=port)
    data = tmp_path / "data"
    objects = fast_copies(sample("CT_small.dcm"), tmp_path / "objects", 300)
    by_path = {str(o.path): o for o in objects}
    receiver = Headless(["--channel", str(channel)], data)
    try:
        receiver.wait_running()
        children = receiver.receiver_pids()
        assert children
        sender = subprocess.Popen([dcmtk("storescu"), "-v", "-aet", "CT_SCANNER_1", "-aec", "INTU_SCP",
                                   "127.0.0.1", str(port), *(str(o.path) for o in objects)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: index_rows(data, "SELECT COUNT(*) FROM instances")[0][0] >= 30, timeout=120)
        os.kill(receiver.proc.pid, signal.SIGKILL)  # the program only, not its receiver
        receiver.proc.wait(timeout=30)
        wait_for(lambda: all(_gone(pid) for pid in children), timeout=30)
        stderr = sender.communicate(timeout=120)[1]
        with socket.socket() as probe:
            # SO_REUSEADDR as a listener sets it: TIME_WAIT connections do not count, a listening socket does.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))  # the receiver closed its port on its way out
    finally:
        receiver.kill9()
    confirmed = [by_path[f] for f in confirmed_files(stderr)]
    assert 30 <= len(confirmed) < len(objects)  # it stopped receiving: the rest was refused
    restarted = Headless(["--channel", str(channel)], data)
    try:
        wait_port(port, timeout=60)
        check_after_restart(data, confirmed)
    finally:
        assert restarted.stop() == 0, restarted.output()[-2000:]
