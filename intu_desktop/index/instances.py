"""Instance rows: what was received, where it is, and its pipeline status."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Iterator, NamedTuple

from intu_desktop.index.db import MESSAGE_COLUMNS, Index, dumps

# Extra columns beyond the fifteen message keys, by message-body key.
EXTRA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("seriesNumber", "series_number"),
    ("instanceNumber", "instance_number"),
    ("seriesDescription", "series_description"),
    ("patientBirthDate", "patient_birth_date"),
    ("transferSyntaxUid", "transfer_syntax"),
)


@dataclass
class InstanceRecord:
    """One stored instance as the store handler hands it to the index."""

    body: dict[str, Any]  # the message body (DESIGN §3), all keys
    size: int
    calling_ae: str
    called_ae: str
    peer_address: str
    channel_id: str
    association_id: str
    received_at: float
    sha256: str = ""
    outcome: str = "stored"  # stored|duplicate|revision|replaced|kept_first
    extra: dict[str, Any] = field(default_factory=dict)


class Recorded(NamedTuple):
    id: int
    new_version: bool
    moved_from_study: str = ""  # a new version under another Study Instance UID: the old one


def record_instance(conn: sqlite3.Connection, rec: InstanceRecord) -> Recorded:
    """Insert or update the row for rec's SOP Instance UID.

    A byte-identical copy only bumps `duplicates`; a new version (revision/replace)
    updates the row to the newest file and resets its pipeline status.
    """
    body = rec.body
    cols = [c for _k, c in MESSAGE_COLUMNS] + [c for _k, c in EXTRA_COLUMNS]
    values = [body.get(k, "") for k, _c in MESSAGE_COLUMNS] + [body.get(k, "") for k, _c in EXTRA_COLUMNS]
    cols += [
        "size", "sha256", "calling_ae", "called_ae", "peer_address", "channel_id",
        "association_id", "received_at", "body_json",
    ]
    values += [
        rec.size, rec.sha256, rec.calling_ae, rec.called_ae, rec.peer_address, rec.channel_id,
        rec.association_id, rec.received_at, dumps(body),
    ]
    existing = conn.execute(
        "SELECT id, study_uid FROM instances WHERE sop_uid = ?", (body["sopInstanceUid"],)
    ).fetchone()
    if existing is None:
        placeholders = ",".join("?" * len(cols))
        cur = conn.execute(f"INSERT INTO instances ({','.join(cols)}) VALUES ({placeholders})", values)
        return Recorded(int(cur.lastrowid or 0), True)
    row_id = int(existing["id"])
    if rec.outcome in ("duplicate", "kept_first"):
        conn.execute("UPDATE instances SET duplicates = duplicates + 1 WHERE id = ?", (row_id,))
        return Recorded(row_id, False)
    assignments = ",".join(f"{c} = ?" for c in cols)
    revision_bump = 1 if rec.outcome == "revision" else 0
    conn.execute(
        f"UPDATE instances SET {assignments}, revisions = revisions + ?, pipeline_status = 'pending' "
        "WHERE id = ?",
        [*values, revision_bump, row_id],
    )
    old_study = str(existing["study_uid"] or "")
    return Recorded(row_id, True, old_study if old_study != body.get("studyInstanceUid", "") else "")


def set_pipeline_status(conn: sqlite3.Connection, instance_id: int, status: str) -> None:
    conn.execute("UPDATE instances SET pipeline_status = ? WHERE id = ?", (status, instance_id))


def row_to_body(row: sqlite3.Row) -> dict[str, Any]:
    return json.loads(row["body_json"])


def get_instance(index: Index, instance_id: int) -> sqlite3.Row | None:
    rows = index.query("SELECT * FROM instances WHERE id = ?", (instance_id,))
    return rows[0] if rows else None


def find_instance_ids(index: Index, *, sop: str | None = None, series: str | None = None,
                      study: str | None = None) -> list[int]:
    if sop:
        rows = index.query("SELECT id FROM instances WHERE sop_uid = ?", (sop,))
    elif series:
        rows = index.query("SELECT id FROM instances WHERE series_uid = ? ORDER BY id", (series,))
    elif study:
        rows = index.query("SELECT id FROM instances WHERE study_uid = ? ORDER BY id", (study,))
    else:
        rows = []
    return [int(r["id"]) for r in rows]


def pending_instance_ids(index: Index) -> list[int]:
    """Instances stored but not yet through the pipeline (e.g. after a crash)."""
    return [int(r["id"]) for r in index.query(
        "SELECT id FROM instances WHERE pipeline_status = 'pending' ORDER BY id")]


def count_instances(index: Index) -> int:
    return int(index.query("SELECT COUNT(*) FROM instances")[0][0])


def iter_export_rows(index: Index, where: str = "", params: tuple[Any, ...] = (),
                     order: str = "received_at, id") -> Iterator[dict[str, Any]]:
    """Rows in the shape `intu_desktop.export` expects (the 15 keys, then the audit columns)."""
    sql = (
        "SELECT i.*, (SELECT output_body FROM pipeline_runs r WHERE r.instance_id = i.id "
        "AND r.is_current = 1 ORDER BY r.id DESC LIMIT 1) AS transformer_output, "
        "(SELECT output_content_type FROM pipeline_runs r WHERE r.instance_id = i.id "
        "AND r.is_current = 1 ORDER BY r.id DESC LIMIT 1) AS transformer_content_type "
        f"FROM instances i {('WHERE ' + where) if where else ''} ORDER BY {order}"
    )
    for row in index.iter_query(sql, params):
        out: dict[str, Any] = {key: row[col] for key, col in MESSAGE_COLUMNS}
        out["numberOfFrames"] = int(row["number_of_frames"] or 1)
        out.update(
            receivedAt=iso_time(row["received_at"]),
            callingAe=row["calling_ae"],
            channel=row["channel_id"],
            transferSyntax=row["transfer_syntax"],
            size=int(row["size"]),
            pipelineStatus=row["pipeline_status"],
            patientBirthDate=row["patient_birth_date"],
            seriesNumber=row["series_number"],
            instanceNumber=row["instance_number"],
            seriesDescription=row["series_description"],
            transformerOutput=row["transformer_output"],
            transformerContentType=row["transformer_content_type"],
        )
        yield out


def iso_time(epoch: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")
