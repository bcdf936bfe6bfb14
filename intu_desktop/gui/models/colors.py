"""Colours that carry meaning in the tables (state and status), in one place."""

from __future__ import annotations

from PySide6.QtGui import QColor

_GOOD = QColor(0x2E, 0x7D, 0x32)
_BAD = QColor(0xC6, 0x28, 0x28)
_WARN = QColor(0xEF, 0x6C, 0x00)
_QUIET = QColor(0x75, 0x75, 0x75)

_STATUS = {
    # pipeline runs
    "ok": _GOOD,
    "invalid": _BAD,
    "error": _BAD,
    "filtered": _QUIET,
    "pending": _QUIET,
    "skipped": _QUIET,
    # associations
    "accepted": _GOOD,
    "released": _GOOD,
    "rejected": _BAD,
    "aborted": _WARN,
    "requested": _QUIET,
    # listeners
    "listening": _GOOD,
    "stopped": _QUIET,
    "starting": _QUIET,
    # deliveries
    "delivered": _GOOD,
    "failed": _BAD,
}


def status_color(status: str) -> QColor | None:
    return _STATUS.get(status)
