"""RELIABILITY 15 and 29, issue 10 "PHI": canary patients through the real program.

Objects whose name, ID and birth date are canaries are received by a headless process
with a file destination, an HTTP destination that refuses them (echoing the request back
in its error body) and one that is down; some are refused by the receiver itself. Then
every file the program wrote outside the store and the index (logs, temporary files,
script caches, thumbnails, queues) and its standard output are searched for the canaries.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pydicom
from dicomtools import free_port, sample, storescu, wait_for, wait_port, write_channel
from pydicom.uid import generate_uid
from rel_helpers import Headless, any_contains, part10, send_as_is

NAME, PATIENT_ID, BIRTH_DATE = "CANARY^NAME^7f3a", "CANARYID7f3a", "19020304"
NEEDLES = [b"canary", BIRTH_DATE.encode(), b"name^7f3a"]  # compared case-insensitively


class _Refuser(BaseHTTPRequestHandler):
    """An HTTP peer that refuses every request and quotes it back in the error body."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        answer = json.dumps({"error": "unprocessable", "you_sent": body.decode("utf-8", "replace")}).encode()
        self.send_response(422)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_args: Any) -> None:
        pass


def _canary_objects(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    template = pydicom.dcmread(sample("CT_small.dcm"))
    study, series = generate_uid(), generate_uid()
    paths = []
    for n in range(count):
        template.PatientName, template.PatientID, template.PatientBirthDate = NAME, PATIENT_ID, BIRTH_DATE
        template.StudyInstanceUID, template.SeriesInstanceUID = study, series
        template.SOPInstanceUID = template.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        path = folder / f"patient{n}.dcm"
        template.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def _refused_objects(folder: Path) -> list[Path]:
    """One whose data set UIDs differ from the command's (0xA900), one that cannot be parsed (0xC210)."""
    from pynetdicom.dsutils import encode

    ds = pydicom.dcmread(_canary_objects(folder / "base", 1)[0])
    mismatch = folder / "mismatch.dcm"
    mismatch.write_bytes(part10(encode(ds, False, True), str(ds.SOPClassUID), generate_uid()))
    raw = bytearray(encode(ds, False, True))
    at = raw.index(NAME.encode())
    raw[at - 4:at - 2] = b"ZZ"  # the Patient Name's VR becomes one nobody knows
    broken = folder / "broken.dcm"
    broken.write_bytes(part10(bytes(raw), str(ds.SOPClassUID), str(ds.SOPInstanceUID)))
    return [mismatch, broken]


def _rows(data: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(str(data / "index.sqlite3"), timeout=30)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_no_patient_value_outside_the_store_and_the_index(tmp_path: Path) -> None:
    port, down_port = free_port(), free_port()
    refuser = ThreadingHTTPServer(("127.0.0.1", 0), _Refuser)
    threading.Thread(target=refuser.serve_forever, daemon=True).start()
    delivered = tmp_path / "delivered"  # the user's folder: PHI belongs there, it is not searched
    channel = write_channel(tmp_path / "ch", port=port, body=f"""
        destinations:
          - name: to-folder
            type: file
            file:
              directory: {delivered}
          - name: refusing-api
            type: http
            http:
              url: http://127.0.0.1:{refuser.server_address[1]}/patients
          - name: api-that-is-down
            type: http
            http:
              url: http://127.0.0.1:{down_port}/patients
              timeout_ms: 2000
            retry:
              max_attempts: 3
              initial_delay_ms: 50
              max_delay_ms: 100
        """)
    data = tmp_path / "data"
    objects = _canary_objects(tmp_path / "objects", 10)
    refused = _refused_objects(tmp_path / "refused")
    receiver = Headless(["--channel", str(channel)], data)
    try:
        wait_port(port, timeout=60)
        assert storescu(port, objects).returncode == 0
        statuses = [send_as_is(port, path) for path in refused]
        assert [int(s.Status) for s in statuses] == [0xA900, 0xC210]
        for status in statuses:  # Error Comment (0000,0902) goes back to the modality
            assert not any(n in str(status.get("ErrorComment", "")).lower().encode() for n in NEEDLES)
        wait_for(lambda: _rows(data, "SELECT COUNT(*) FROM deliveries WHERE status = 'failed'")[0][0] >= 20,
                 timeout=120)  # every refusal and every exhausted retry is in
    finally:
        assert receiver.stop() == 0
        refuser.shutdown()
        refuser.server_close()
    assert len(list(delivered.iterdir())) == 10  # the canaries did flow where they should
    errors = [e for (e,) in _rows(data, "SELECT last_error FROM deliveries WHERE status = 'failed'")]
    assert errors and all(e for e in errors)

    from intu_desktop.thumbnails.cache import (
        ThumbnailCache,  # the window's cache, filled the same way
    )

    cache = ThumbnailCache(data / "thumbnails")
    for path in (data / "store").rglob("*.dcm"):
        cache.get_or_render(path, str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID))

    written = [p for p in data.rglob("*") if p.is_file() and "store" not in p.relative_to(data).parts[:1]
               and not p.name.startswith("index.sqlite3")]
    assert any(p.parent.name == "logs" for p in written)
    assert any("thumbnails" in p.parts for p in written)
    hits = any_contains([*written, receiver.log], NEEDLES)
    assert not hits, hits
