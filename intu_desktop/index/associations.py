"""Association rows: who connected, what they proposed, what we answered, what happened."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any

from intu_desktop.index.db import Index, dumps


@dataclass
class AssociationRecord:
    id: str
    channel_id: str
    peer_host: str
    peer_port: int
    tls: bool
    requested_at: float
    calling_ae: str = ""
    called_ae: str = ""
    state: str = "requested"  # requested|accepted|rejected|released|aborted
    reject_result: int | None = None
    reject_source: int | None = None
    reject_reason: int | None = None
    reason: str = ""  # in words: why rejected or aborted, or what went wrong
    ended_at: float | None = None
    instances: int = 0
    failures: int = 0
    bytes: int = 0
    request: dict[str, Any] = field(default_factory=dict)  # decoded A-ASSOCIATE-RQ
    contexts: list[dict[str, Any]] = field(default_factory=list)  # proposed + answer
    exchanges: list[dict[str, Any]] = field(default_factory=list)  # DIMSE exchanges

    def as_event(self) -> dict[str, Any]:
        return asdict(self)


_COLUMNS = (
    "id", "channel_id", "calling_ae", "called_ae", "peer_host", "peer_port", "tls", "state",
    "reject_result", "reject_source", "reject_reason", "reason", "requested_at", "ended_at",
    "instances", "failures", "bytes", "request_json", "contexts_json", "exchanges_json",
)


def save_association(conn: sqlite3.Connection, rec: AssociationRecord) -> None:
    values = (
        rec.id, rec.channel_id, rec.calling_ae, rec.called_ae, rec.peer_host, rec.peer_port,
        int(rec.tls), rec.state, rec.reject_result, rec.reject_source, rec.reject_reason, rec.reason,
        rec.requested_at, rec.ended_at, rec.instances, rec.failures, rec.bytes, dumps(rec.request),
        dumps(rec.contexts), dumps(rec.exchanges),
    )
    conn.execute(
        f"INSERT OR REPLACE INTO associations ({','.join(_COLUMNS)}) "
        f"VALUES ({','.join('?' * len(_COLUMNS))})",
        values,
    )


def row_to_record(row: sqlite3.Row) -> AssociationRecord:
    return AssociationRecord(
        id=row["id"], channel_id=row["channel_id"], peer_host=row["peer_host"],
        peer_port=row["peer_port"], tls=bool(row["tls"]), requested_at=row["requested_at"],
        calling_ae=row["calling_ae"], called_ae=row["called_ae"], state=row["state"],
        reject_result=row["reject_result"], reject_source=row["reject_source"],
        reject_reason=row["reject_reason"], reason=row["reason"], ended_at=row["ended_at"],
        instances=row["instances"], failures=row["failures"], bytes=row["bytes"],
        request=json.loads(row["request_json"]), contexts=json.loads(row["contexts_json"]),
        exchanges=json.loads(row["exchanges_json"]),
    )


def get_association(index: Index, assoc_id: str) -> AssociationRecord | None:
    rows = index.query("SELECT * FROM associations WHERE id = ?", (assoc_id,))
    return row_to_record(rows[0]) if rows else None


def recent_associations(index: Index, limit: int = 500) -> list[AssociationRecord]:
    rows = index.query("SELECT * FROM associations ORDER BY requested_at DESC LIMIT ?", (limit,))
    return [row_to_record(r) for r in rows]
