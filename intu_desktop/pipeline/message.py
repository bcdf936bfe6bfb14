"""The message a channel receives for a stored instance (DESIGN §3)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from intu_desktop.dicom.metadata import build_body, read_header
from intu_desktop.index.instances import iso_time


def body_from_file(row: Any) -> dict[str, Any]:
    """Re-read the stored file's header: reprocessing always starts from the file itself."""
    path = Path(row["storage_path"])
    ds = read_header(path)
    return build_body(ds, path, transfer_syntax=row["transfer_syntax"], calling_ae=row["calling_ae"],
                      received_at=iso_time(row["received_at"]))


def build_message(row: Any, body: dict[str, Any], message_id: str | None = None) -> dict[str, Any]:
    """intu's message shape: body is a JSON *string* (the spec's transformer parses it)."""
    message_id = message_id or str(uuid.uuid4())
    return {
        "id": message_id,
        "correlationId": row["sop_uid"],
        "channelId": row["channel_id"],
        "body": json.dumps(body, ensure_ascii=False),
        "transport": "dicom",
        "contentType": "dicom",
        "dicom": {"callingAE": row["calling_ae"], "calledAE": row["called_ae"]},
        "metadata": {
            "remoteAddress": row["peer_address"],
            "channelId": row["channel_id"],
            "receivedAt": iso_time(row["received_at"]),
            "transferSyntax": row["transfer_syntax"],
            "sopInstanceUid": row["sop_uid"],
            "associationId": row["association_id"],
        },
    }


def build_context(message: dict[str, Any], stage: str, timestamp: str) -> dict[str, Any]:
    """The `ctx` argument of intu-style scripts."""
    return {
        "channelId": message["channelId"],
        "messageId": message["id"],
        "correlationId": message["correlationId"],
        "timestamp": timestamp,
        "stage": stage,
    }
