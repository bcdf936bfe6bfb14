"""Helpers for the destination tests: runs to deliver, projects, a scripted real HTTP peer."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from intu_desktop.config.model import ChannelConfig, DestinationConfig, Project, RetryConfig
from intu_desktop.destinations.base import DeliveryContext
from intu_desktop.destinations.service import DeliveryService
from intu_desktop.events import Event
from intu_desktop.index.db import Index

CHANNEL = "test-channel"
FAST_RETRY = RetryConfig(max_attempts=3, backoff="exponential", initial_delay_ms=50, max_delay_ms=200, jitter=False)




def add_run(index: Index, *, body: str | None = '{"resourceType": "Basic"}', content_type: str = "application/json",
            sop_uid: str | None = None, study_uid: str = "1.2.3", series_uid: str = "1.2.3.4",
            storage_path: str = "/nonexistent.dcm", transfer_syntax: str = "1.2.840.10008.1.2.1",
            channel_id: str = CHANNEL, started_at: float | None = None) -> tuple[int, int]:
    """An instance and a finished pipeline run, as the pipeline would have written them."""
    sop_uid = sop_uid or f"2.25.{uuid.uuid4().int}"
    now = time.time()

    def write(conn: Any) -> tuple[int, int]:
        cur = conn.execute(
            "INSERT INTO instances (study_uid, series_uid, sop_uid, sop_class_uid, storage_path, transfer_syntax, "
            "channel_id, received_at, patient_name, patient_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (study_uid, series_uid, sop_uid, "1.2.840.10008.5.1.4.1.1.2", storage_path, transfer_syntax,
             channel_id, now, "Canary^Patient", "CANARY-ID"),
        )
        instance_id = int(cur.lastrowid)
        cur = conn.execute(
            "INSERT INTO pipeline_runs (instance_id, message_id, channel_id, started_at, finished_at, status, "
            "input_json, output_body, output_content_type) VALUES (?,?,?,?,?,?,?,?,?)",
            (instance_id, str(uuid.uuid4()), channel_id, started_at or now, now, "ok", "{}", body, content_type),
        )
        return int(cur.lastrowid), instance_id

    return index.write(write)


def make_project(destinations: list[DestinationConfig], *, named: dict[str, DestinationConfig] | None = None,
                 root: Path | None = None) -> Project:
    channel = ChannelConfig(id=CHANNEL, path=Path("channel.yaml"), folder=Path("."), listener_type="dicom",
                            destinations=list(destinations))
    return Project(root=root, intu_file=None, profile="dev", channels=[channel], destinations=dict(named or {}))


def dest(name: str, type_: str, options: dict[str, Any], retry: RetryConfig = FAST_RETRY) -> DestinationConfig:
    return DestinationConfig(name=name, type=type_, options=options, retry=retry)


def enqueue(index: Index, service: DeliveryService, project: Project, **run: Any) -> list[int]:
    """What the pipeline does: record a run and queue its deliveries in one transaction."""
    run_id, instance_id = add_run(index, **run)
    ids = index.write(lambda conn: service.enqueue(conn, run_id, instance_id, project.channels[0]))
    service.wake()
    return ids


def delivery(index: Index, delivery_id: int) -> dict[str, Any]:
    return dict(index.query("SELECT * FROM deliveries WHERE id = ?", (delivery_id,))[0])


def wait_status(index: Index, ids: list[int], status: str, timeout: float = 20.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [delivery(index, i) for i in ids]
        if all(r["status"] == status for r in rows):
            return rows
        time.sleep(0.02)
    raise AssertionError(f"not all {status}: {[(r['id'], r['status'], r['last_error']) for r in rows]}")


def wait_until(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@dataclass
class EventLog:
    events: list[Event] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: Event) -> None:
        with self.lock:
            self.events.append(event)

    def of(self, delivery_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return [e.data for e in self.events if e.data.get("delivery_id") == delivery_id]


# -- a real HTTP peer whose answers the test scripts -----------------------------------------
@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class ScriptedHttpServer:
    """Answers each request with the next scripted (status, body, headers); 200 when the
    script is empty. Records what it received."""

    def __init__(self) -> None:
        self.script: list[tuple[int, str, dict[str, str]]] = []
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.release = threading.Event()  # set: answer at once; cleared: hold requests
        self.release.set()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with outer.lock:
                    outer.received.append(Received(self.command, self.path, dict(self.headers.items()), body))
                    status, text, headers = outer.script.pop(0) if outer.script else (200, "{}", {})
                outer.release.wait(30)
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def answer(self, *responses: tuple[int, Any] | tuple[int, Any, dict[str, str]]) -> None:
        with self.lock:
            for item in responses:
                status, body, *rest = item
                text = body if isinstance(body, str) else json.dumps(body)
                self.script.append((status, text, rest[0] if rest else {}))

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)




def context(**kw: Any) -> DeliveryContext:
    """A DeliveryContext with plausible values; keywords override."""
    base: dict[str, Any] = {
        "delivery_id": 1, "attempt": 1, "channel_id": "dicom-radiology-ingest", "destination": "out",
        "message_id": "6f1c0e0a-msg", "run_id": 3, "instance_id": 4, "body": '{"resourceType":"ImagingStudy"}',
        "content_type": "application/fhir+json", "sop_instance_uid": "1.2.3.4.5",
        "sop_class_uid": "1.2.840.10008.5.1.4.1.1.2", "study_instance_uid": "1.2.3",
        "series_instance_uid": "1.2.3.4", "storage_path": Path("/x.dcm"),
        "transfer_syntax": "1.2.840.10008.1.2.1", "created_at": 1717243200.5,
    }
    base.update(kw)
    return DeliveryContext(**base)
