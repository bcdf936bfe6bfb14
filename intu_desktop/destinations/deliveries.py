"""The durable delivery queue: rows of the index's `deliveries` table.

A row is `pending` until it is `delivered` or `failed` (the dead letter). Nothing about
an attempt in flight is written before it ends, so after a crash every row that was
being sent is simply `pending` again and is picked up at the next start.
Writes take a connection: they run on the index's writer thread (Index.write).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from intu_desktop.config.model import DestinationConfig
from intu_desktop.index.db import Index

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
STATUSES = (PENDING, DELIVERED, FAILED)

# Texts kept per row: enough to read the server's answer, bounded for a table of millions.
MAX_TEXT = 4000


def insert_deliveries(
    conn: sqlite3.Connection, run_id: int, instance_id: int, channel_id: str,
    destinations: Iterable[DestinationConfig], now: float,
) -> list[int]:
    """One pending row per destination, due now. Runs inside the caller's transaction."""
    ids: list[int] = []
    for dest in destinations:
        cur = conn.execute(
            "INSERT INTO deliveries (run_id, instance_id, channel_id, destination, destination_type, "
            "status, attempts, next_attempt_at, created_at, updated_at) VALUES (?,?,?,?,?,?,0,?,?,?)",
            (run_id, instance_id, channel_id, dest.name, dest.type, PENDING, now, now, now),
        )
        ids.append(int(cur.lastrowid or 0))
    return ids


def pending_destinations(index: Index) -> set[str]:
    """Names of the destinations that have pending rows.

    A skip scan over deliveries_queue: one index probe per destination, not one step per
    row, so it stays cheap with a backlog of millions.
    """
    rows = index.query(
        "WITH RECURSIVE d(name) AS ("
        " SELECT MIN(destination) FROM deliveries WHERE status = 'pending'"
        " UNION ALL SELECT (SELECT MIN(destination) FROM deliveries WHERE status = 'pending'"
        " AND destination > d.name) FROM d WHERE d.name IS NOT NULL"
        ") SELECT name FROM d WHERE name IS NOT NULL"
    )
    return {str(r[0]) for r in rows}


def queue_head(index: Index, destination: str) -> sqlite3.Row | None:
    """The oldest pending row of one destination: the only one that may be attempted (FIFO)."""
    rows = index.query(
        "SELECT id, destination, attempts, next_attempt_at FROM deliveries "
        "WHERE status = 'pending' AND destination = ? ORDER BY id LIMIT 1",
        (destination,),
    )
    return rows[0] if rows else None


_CONTEXT_SQL = """
SELECT d.*, r.message_id, r.output_body, r.output_content_type, r.started_at AS run_started_at,
       i.sop_uid, i.sop_class_uid, i.study_uid, i.series_uid, i.storage_path, i.transfer_syntax
FROM deliveries d
JOIN pipeline_runs r ON r.id = d.run_id
JOIN instances i ON i.id = d.instance_id
WHERE d.id = ?
"""


def load_for_attempt(index: Index, delivery_id: int) -> sqlite3.Row | None:
    """A row with everything an attempt needs (the run's output, the instance's file)."""
    rows = index.query(_CONTEXT_SQL, (delivery_id,))
    return rows[0] if rows else None


def record_attempt(
    conn: sqlite3.Connection, delivery_id: int, *, status: str, attempts: int, next_attempt_at: float,
    last_error: str, last_response: str, now: float,
) -> bool:
    """Store an attempt's outcome; False when the row was no longer pending (changed meanwhile)."""
    cur = conn.execute(
        "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, "
        "last_response = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
        (status, attempts, next_attempt_at, last_error[:MAX_TEXT], last_response[:MAX_TEXT], now, delivery_id),
    )
    return cur.rowcount > 0


def requeue_failed(
    conn: sqlite3.Connection, now: float, *, delivery_id: int | None = None, channel_id: str | None = None,
) -> list[dict[str, Any]]:
    """Dead letters back to pending, attempts reset, due now; returns the rows requeued.

    last_error is kept: it says why the row was a dead letter until the next attempt.
    """
    where, params = "status = 'failed'", list[Any]()
    if delivery_id is not None:
        where += " AND id = ?"
        params.append(delivery_id)
    if channel_id is not None:
        where += " AND channel_id = ?"
        params.append(channel_id)
    rows = [dict(r) for r in conn.execute(
        f"SELECT id, instance_id, channel_id, destination, last_error FROM deliveries WHERE {where}", params)]
    if rows:
        conn.execute(
            f"UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ? "
            f"WHERE {where}",
            [now, now, *params],
        )
    return rows


def get_delivery(index: Index, delivery_id: int) -> sqlite3.Row | None:
    rows = index.query("SELECT * FROM deliveries WHERE id = ?", (delivery_id,))
    return rows[0] if rows else None


def deliveries_for_instance(index: Index, instance_id: int) -> list[sqlite3.Row]:
    return index.query("SELECT * FROM deliveries WHERE instance_id = ? ORDER BY id", (instance_id,))


def counts(index: Index, channel_id: str | None = None) -> dict[str, int]:
    """{status: rows} for the queue's summary (all statuses present, zero when none)."""
    sql = "SELECT status, COUNT(*) FROM deliveries"
    params: list[Any] = []
    if channel_id is not None:
        sql += " WHERE channel_id = ?"
        params.append(channel_id)
    found = {str(r[0]): int(r[1]) for r in index.query(sql + " GROUP BY status", params)}
    return {status: found.get(status, 0) for status in STATUSES}
