"""Remote nodes: every calling AE seen, from the associations table. No Qt (worker side)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from intu_desktop.gui.formatting import start_of_today
from intu_desktop.index.db import Index

HOURS = 24
FAILED_STATES = ("rejected", "aborted")


@dataclass(frozen=True)
class RemoteNode:
    calling_ae: str  # "" for connections that never sent an A-ASSOCIATE-RQ (TLS failures, garbage)
    address: str  # the most recent peer host
    last_seen: float
    associations: int
    succeeded: int  # released without a refused object
    failed: int  # rejected, aborted, or with refused objects
    last_error: str
    objects_today: int
    hourly: tuple[int, ...] = field(default=(0,) * HOURS)  # associations per hour, oldest first

    @property
    def success_rate(self) -> float | None:
        finished = self.succeeded + self.failed
        return self.succeeded / finished if finished else None


def remote_nodes(index: Index, now: float | None = None) -> list[RemoteNode]:
    now = time.time() if now is None else now
    today = start_of_today(now)
    since = now - HOURS * 3600
    totals = index.query(
        "SELECT calling_ae, COUNT(*), MAX(requested_at),"
        " SUM(state = 'released' AND failures = 0),"
        " SUM(state IN ('rejected', 'aborted') OR failures > 0),"
        " SUM(CASE WHEN requested_at >= ? THEN instances ELSE 0 END)"
        " FROM associations GROUP BY calling_ae", (today,))
    # SQLite returns the other columns of the row that holds MAX() (a documented "bare column").
    latest = {str(r[0]): str(r[1]) for r in index.query(
        "SELECT calling_ae, peer_host, MAX(requested_at) FROM associations GROUP BY calling_ae")}
    errors = {str(r[0]): str(r[1]) for r in index.query(
        "SELECT calling_ae, reason, MAX(requested_at) FROM associations"
        " WHERE state IN ('rejected', 'aborted') OR failures > 0 GROUP BY calling_ae")}
    hourly: dict[str, list[int]] = {}
    for ae, hour, count in index.query(
            "SELECT calling_ae, CAST((requested_at - ?) / 3600 AS INTEGER), COUNT(*) FROM associations"
            " WHERE requested_at >= ? GROUP BY 1, 2", (since, since)):
        if 0 <= int(hour) < HOURS:
            hourly.setdefault(str(ae), [0] * HOURS)[int(hour)] += int(count)
    nodes = [
        RemoteNode(calling_ae=str(ae), address=latest.get(str(ae), ""), last_seen=float(last or 0),
                   associations=int(count), succeeded=int(ok or 0), failed=int(bad or 0),
                   last_error=errors.get(str(ae), "") or ("(refused objects)" if bad else ""),
                   objects_today=int(objects or 0), hourly=tuple(hourly.get(str(ae), [0] * HOURS)))
        for ae, count, last, ok, bad, objects in totals
    ]
    return sorted(nodes, key=lambda n: n.last_seen, reverse=True)
