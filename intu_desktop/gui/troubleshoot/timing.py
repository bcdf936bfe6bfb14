"""The phases of one association on a time line: negotiation, each object, the gaps between
objects, and the end (release, abort or rejection). Pure functions, so the bar and tests agree."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

NEGOTIATION, EXCHANGE, FAILED, WIRE, RELEASE, ABORT, REJECTED, OPEN = (
    "negotiation", "exchange", "failed", "wire", "release", "abort", "rejected", "open")


@dataclass(frozen=True)
class Segment:
    start: float  # seconds after the A-ASSOCIATE-RQ arrived
    end: float
    kind: str
    label: str


def segments(rec: dict[str, Any], now: float | None = None) -> list[Segment]:
    """Segments from `requested_at`, the exchanges' `at`/`ms` and `ended_at`.

    The exchange's `at` is when we answered; `at - ms` is when its first PDV had arrived,
    so the gap between two exchanges is time on the wire (what the slow-link hint measures).
    """
    t0 = float(rec.get("requested_at") or 0.0)
    if not t0:
        return []
    ended = rec.get("ended_at")
    end = float(ended) if ended else float(now if now is not None else time.time())
    state = str(rec.get("state", ""))
    out: list[Segment] = []
    cursor = 0.0
    for x in rec.get("exchanges") or []:
        stop = max(cursor, float(x.get("at", t0)) - t0)
        start = max(cursor, stop - float(x.get("ms", 0.0)) / 1000.0)
        if start > cursor:
            kind, label = (NEGOTIATION, "negotiation") if not out else (WIRE, "waiting for the next object")
            out.append(Segment(cursor, start, kind, label))
        status = int(x.get("status", 0) or 0)
        service = str(x.get("service", ""))
        kind = EXCHANGE if status == 0 or (status & 0xF000) == 0xB000 else FAILED
        out.append(Segment(start, stop, kind, f"{service} 0x{status:04X}"))
        cursor = stop
    total = max(cursor, end - t0)
    if state == "rejected":
        out.append(Segment(cursor, total, REJECTED, "negotiation: rejected"))
    elif not out:
        kind = ABORT if state == "aborted" else (OPEN if not ended else NEGOTIATION)
        out.append(Segment(0.0, total, kind, "negotiation" if kind != ABORT else "aborted"))
    elif total > cursor or ended:
        kind = {"released": RELEASE, "aborted": ABORT}.get(state, OPEN)
        out.append(Segment(cursor, total, kind, {RELEASE: "release", ABORT: "abort", OPEN: "open"}[kind]))
    return out
