"""What one script call produced, and the error for a runtime that cannot run at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class RuntimeUnavailable(RuntimeError):
    """The runtime cannot run anything (for example Node.js is missing); the text says why."""


@dataclass
class CallResult:
    """Outcome of one call of a script function.

    ``ok`` is False when the script threw, timed out, crashed its worker, or could not be
    loaded; ``error`` then says why in words. ``function`` names the export that ran (useful
    with the ``auto:`` modes, where it tells the spec contract from the intu one).
    """

    ok: bool
    value: Any = None
    error: str | None = None
    stack: str | None = None
    logs: list[str] = field(default_factory=list)
    duration_ms: float = 0.0
    timed_out: bool = False
    crashed: bool = False
    function: str | None = None
