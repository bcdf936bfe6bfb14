"""What the transform results panel shows for one instance, read on the db worker (no Qt)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from intu_desktop.gui.formatting import pretty_json
from intu_desktop.index.db import Index


@dataclass(frozen=True)
class DeliveryInfo:
    id: int
    destination: str
    destination_type: str
    status: str  # pending|delivered|failed (dead letter)
    attempts: int
    last_error: str
    last_response: str
    next_attempt_at: float
    updated_at: float


@dataclass(frozen=True)
class TransformInfo:
    instance_id: int
    pipeline_status: str  # the instance's status: pending|ok|invalid|error|filtered|skipped
    has_run: bool = False
    run_id: int = 0
    status: str = ""
    channel_id: str = ""
    started_at: float = 0.0
    finished_at: float = 0.0
    input_text: str = ""  # the whole message, pretty
    body_text: str = ""  # the message body (a JSON string in the message), parsed and pretty
    validator: dict[str, Any] | None = None
    output_text: str = ""
    output_content_type: str = ""
    output_json: Any = None  # the output parsed, when it is JSON
    warnings: list[str] = field(default_factory=list)
    error: str = ""
    stack: str = ""
    logs: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    deliveries: list[DeliveryInfo] = field(default_factory=list)

    @property
    def validator_text(self) -> str:
        if self.validator is None:
            return "no validator" if self.has_run else ""
        if self.validator.get("valid"):
            return "valid"
        errors = self.validator.get("errors") or []
        return "invalid: " + ("; ".join(str(e) for e in errors) or "refused")


def _loads(text: str | None, default: Any) -> Any:
    try:
        return json.loads(text) if text else default
    except ValueError:
        return default


def read_transform(index: Index, instance_id: int) -> TransformInfo:
    found = index.query("SELECT pipeline_status FROM instances WHERE id = ?", (instance_id,))
    status = str(found[0]["pipeline_status"]) if found else ""
    runs = index.query(
        "SELECT * FROM pipeline_runs WHERE instance_id = ? AND is_current = 1 "
        "ORDER BY id DESC LIMIT 1",
        (instance_id,),
    )
    if not runs:
        return TransformInfo(instance_id, status)
    run = runs[0]
    message = _loads(run["input_json"], {})
    body = message.get("body") if isinstance(message, dict) else None
    output = run["output_body"]
    output_json = _loads(output, None) if output else None
    deliveries = [
        DeliveryInfo(
            int(d["id"]),
            str(d["destination"]),
            str(d["destination_type"]),
            str(d["status"]),
            int(d["attempts"]),
            str(d["last_error"] or ""),
            str(d["last_response"] or ""),
            float(d["next_attempt_at"] or 0),
            float(d["updated_at"] or 0),
        )
        for d in index.query(
            "SELECT * FROM deliveries WHERE instance_id = ? AND run_id = ? ORDER BY id",
            (instance_id, int(run["id"])),
        )
    ]
    return TransformInfo(
        instance_id=instance_id,
        pipeline_status=status,
        has_run=True,
        run_id=int(run["id"]),
        status=str(run["status"]),
        channel_id=str(run["channel_id"]),
        started_at=float(run["started_at"] or 0),
        finished_at=float(run["finished_at"] or 0),
        input_text=pretty_json(message),
        body_text=pretty_json(body) if isinstance(body, str) else "",
        validator=_loads(run["validator_json"], None),
        output_text=pretty_json(output) if output else "",
        output_content_type=str(run["output_content_type"] or ""),
        output_json=output_json,
        warnings=[str(w) for w in _loads(run["warnings_json"], [])],
        error=str(run["error"] or ""),
        stack=str(run["stack"] or ""),
        logs=[str(line) for line in _loads(run["logs_json"], [])],
        timings={str(k): float(v) for k, v in _loads(run["timings_json"], {}).items()},
        deliveries=deliveries,
    )
