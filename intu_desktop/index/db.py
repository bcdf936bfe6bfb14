"""The SQLite index: received instances, associations, pipeline runs and deliveries.

One writer thread owns the only write connection (STYLE 4): callers submit work and
get a Future, and the writer commits whatever is queued in one transaction, so a
burst of stores from many associations costs one fsync per batch, not per row.
Readers open their own connection per thread; WAL lets them read while the writer
writes. The schema is versioned with ``PRAGMA user_version``.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from intu_desktop.batches import take_burst
from intu_desktop.thread_policy import normal_policy

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMA_VERSION = 2

# The fifteen message keys of DESIGN §3 with their column names.
MESSAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("studyInstanceUid", "study_uid"),
    ("seriesInstanceUid", "series_uid"),
    ("sopInstanceUid", "sop_uid"),
    ("sopClassUid", "sop_class_uid"),
    ("modality", "modality"),
    ("studyDate", "study_date"),
    ("studyTime", "study_time"),
    ("studyDescription", "study_description"),
    ("patientId", "patient_id"),
    ("patientName", "patient_name"),
    ("accessionNumber", "accession_number"),
    ("referringPhysician", "referring_physician"),
    ("bodyPartExamined", "body_part"),
    ("numberOfFrames", "number_of_frames"),
    ("storagePath", "storage_path"),
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS associations (
    id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL,
    calling_ae TEXT NOT NULL DEFAULT '',
    called_ae TEXT NOT NULL DEFAULT '',
    peer_host TEXT NOT NULL DEFAULT '',
    peer_port INTEGER NOT NULL DEFAULT 0,
    tls INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,               -- requested|accepted|rejected|released|aborted
    reject_result INTEGER, reject_source INTEGER, reject_reason INTEGER,
    reason TEXT NOT NULL DEFAULT '',   -- in words
    requested_at REAL NOT NULL,
    ended_at REAL,
    instances INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    request_json TEXT NOT NULL DEFAULT '{}',   -- the decoded A-ASSOCIATE-RQ
    contexts_json TEXT NOT NULL DEFAULT '[]',  -- proposed contexts and the answer to each
    exchanges_json TEXT NOT NULL DEFAULT '[]'  -- DIMSE exchanges (C-ECHO, C-STORE)
);
CREATE INDEX IF NOT EXISTS associations_time ON associations(requested_at);

CREATE TABLE IF NOT EXISTS instances (
    id INTEGER PRIMARY KEY,
    study_uid TEXT NOT NULL DEFAULT '',
    series_uid TEXT NOT NULL DEFAULT '',
    sop_uid TEXT NOT NULL,
    sop_class_uid TEXT NOT NULL DEFAULT '',
    modality TEXT NOT NULL DEFAULT '',
    study_date TEXT NOT NULL DEFAULT '',
    study_time TEXT NOT NULL DEFAULT '',
    study_description TEXT NOT NULL DEFAULT '',
    patient_id TEXT NOT NULL DEFAULT '',
    patient_name TEXT NOT NULL DEFAULT '',
    accession_number TEXT NOT NULL DEFAULT '',
    referring_physician TEXT NOT NULL DEFAULT '',
    body_part TEXT NOT NULL DEFAULT '',
    number_of_frames INTEGER NOT NULL DEFAULT 1,
    storage_path TEXT NOT NULL,
    series_number TEXT NOT NULL DEFAULT '',
    instance_number TEXT NOT NULL DEFAULT '',
    series_description TEXT NOT NULL DEFAULT '',
    patient_birth_date TEXT NOT NULL DEFAULT '',
    transfer_syntax TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL DEFAULT 0,
    sha256 TEXT NOT NULL DEFAULT '',
    calling_ae TEXT NOT NULL DEFAULT '',
    called_ae TEXT NOT NULL DEFAULT '',
    peer_address TEXT NOT NULL DEFAULT '',
    channel_id TEXT NOT NULL DEFAULT '',
    association_id TEXT NOT NULL DEFAULT '',
    received_at REAL NOT NULL,
    duplicates INTEGER NOT NULL DEFAULT 0,     -- identical copies received again
    revisions INTEGER NOT NULL DEFAULT 0,      -- earlier versions kept beside the file
    pipeline_status TEXT NOT NULL DEFAULT 'pending',  -- pending|ok|invalid|error|filtered|skipped
    body_json TEXT NOT NULL DEFAULT '{}'       -- the message body (DESIGN §3) as sent to the pipeline
);
CREATE UNIQUE INDEX IF NOT EXISTS instances_sop ON instances(sop_uid);
CREATE INDEX IF NOT EXISTS instances_study ON instances(study_uid, series_uid);
CREATE INDEX IF NOT EXISTS instances_received ON instances(received_at);
CREATE INDEX IF NOT EXISTS instances_pipeline ON instances(pipeline_status);

CREATE TABLE IF NOT EXISTS pipeline_runs (
    id INTEGER PRIMARY KEY,
    instance_id INTEGER NOT NULL REFERENCES instances(id),
    message_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL,              -- ok|invalid|error|filtered
    input_json TEXT NOT NULL,
    validator_json TEXT NOT NULL DEFAULT 'null',
    output_body TEXT,
    output_content_type TEXT,
    warnings_json TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    stack TEXT,
    logs_json TEXT NOT NULL DEFAULT '[]',
    timings_json TEXT NOT NULL DEFAULT '{}',
    is_current INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS runs_instance ON pipeline_runs(instance_id, is_current);

CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES pipeline_runs(id),
    instance_id INTEGER NOT NULL REFERENCES instances(id),
    channel_id TEXT NOT NULL,
    destination TEXT NOT NULL,
    destination_type TEXT NOT NULL,
    status TEXT NOT NULL,              -- pending|delivered|failed (dead letter)
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    last_response TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(status, next_attempt_at);
CREATE INDEX IF NOT EXISTS deliveries_instance ON deliveries(instance_id);
"""


# Each entry brings a database at an older version up to `target`; never edit a released one.
_MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, _SCHEMA),
    # Each destination's queue is read head first: (status, destination, id) finds the oldest
    # pending row of one destination in O(log n), however long another destination's backlog.
    (2, "CREATE INDEX IF NOT EXISTS deliveries_queue ON deliveries(status, destination, id);"),
)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: a committed row survives power loss, which the C-STORE success promises.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


AFTER_TIMEOUT_S = 60  # longest wait for a submitted item's `after` event


class IndexCorrupt(Exception):
    """The index file cannot be opened as a database; `intu-desktop reindex` rebuilds it."""


class Index:
    """Owns the database file. Writes go through one thread; reads use per-thread connections."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._writer_conn = _connect(self.path)
            self._migrate(self._writer_conn)
        except sqlite3.DatabaseError as exc:
            raise IndexCorrupt(f"{self.path}: {exc}") from exc
        self._queue: queue.SimpleQueue[
            tuple[Callable[[sqlite3.Connection], Any], Future[Any], threading.Event | None] | None]
        self._queue = queue.SimpleQueue()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._writer_loop, name="index-writer", daemon=True)
        with normal_policy():  # the receiver processes wait for the database lock it may hold
            self._thread.start()

    # -- schema -----------------------------------------------------------------
    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise IndexCorrupt(f"index schema {version} is newer than this program ({SCHEMA_VERSION})")
        for target, script in _MIGRATIONS:
            if version < target:
                conn.executescript(script)
                conn.execute(f"PRAGMA user_version={target}")

    # -- writing ------------------------------------------------------------------
    def submit(self, work: Callable[[sqlite3.Connection], T], *,
               after: threading.Event | None = None) -> Future[T]:
        """Run `work(conn)` on the writer thread inside a transaction; the Future resolves after commit.

        `after`: the transaction begins only once this is set (at most AFTER_TIMEOUT_S later),
        so a caller can finish a step of its own while the writer takes the item, without
        the database's write lock being held meanwhile (the receiver processes share it).
        """
        future: Future[T] = Future()
        if self._closed:
            future.set_exception(RuntimeError("index is closed"))
            return future
        self._queue.put((work, future, after))
        return future

    def write(self, work: Callable[[sqlite3.Connection], T], timeout: float | None = 60) -> T:
        return self.submit(work).result(timeout)

    def _writer_loop(self) -> None:
        conn = self._writer_conn
        while True:
            item = self._queue.get()
            if item is None:
                break
            # Take whatever else is already waiting: one transaction for the burst.
            batch, stop = take_burst(self._queue, item, 500)
            for _work, _future, after in batch:
                if after is not None:
                    after.wait(AFTER_TIMEOUT_S)  # outside the transaction: no lock held meanwhile
            self._run_batch(conn, [(work, future) for work, future, _after in batch])
            if stop:
                break
        conn.close()

    @staticmethod
    def _run_batch(
        conn: sqlite3.Connection, batch: list[tuple[Callable[[sqlite3.Connection], Any], Future[Any]]]
    ) -> None:
        results: list[tuple[Future[Any], Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for work, future in batch:
                conn.execute("SAVEPOINT item")
                try:
                    results.append((future, work(conn), None))
                    conn.execute("RELEASE item")
                except Exception as exc:  # one bad item must not sink the batch
                    conn.execute("ROLLBACK TO item")
                    conn.execute("RELEASE item")
                    results.append((future, None, exc))
            conn.execute("COMMIT")
        except Exception as exc:  # the commit itself failed (disk full, I/O error)
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            log.error("index transaction failed: %s", exc)
            for _work, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for future, value, error in results:
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(value)

    # -- reading ------------------------------------------------------------------
    def reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return self.reader().execute(sql, tuple(params)).fetchall()

    def iter_query(self, sql: str, params: Iterable[Any] = (), batch: int = 1000) -> Iterator[sqlite3.Row]:
        """Stream rows (exports): memory stays flat whatever the row count."""
        cur = self.reader().execute(sql, tuple(params))
        while True:
            rows = cur.fetchmany(batch)
            if not rows:
                return
            yield from rows

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout=30)
        with self._readers_lock:
            for conn in self._readers:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._readers.clear()


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def now() -> float:
    return time.time()
