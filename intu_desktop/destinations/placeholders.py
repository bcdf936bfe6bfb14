"""File names from intu's filename patterns: `{{channelId}}` (channel schema) and
`${channelId}` (profile schema) spell the same placeholders.

Placeholder values come from received data (UIDs) and must never steer a path: each
value is reduced to letters, digits, dot, dash and underscore, and can never be `.` or
`..`. Only the pattern's own literal text, which the user wrote, may contain folders.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_MAX_VALUE = 128

PLACEHOLDERS = (
    "channelId", "messageId", "correlationId", "timestamp", "sopInstanceUid", "studyInstanceUid",
    "seriesInstanceUid", "destination",
)


class PatternError(ValueError):
    """The pattern names a placeholder we do not know; the text says which."""


def safe_component(value: str) -> str:
    """A value that is safe as (part of) one file name: never a separator, never `..`."""
    cleaned = _UNSAFE.sub("_", value)[:_MAX_VALUE]
    if not cleaned.strip("."):
        cleaned = cleaned.replace(".", "_")  # "", ".", "..": never a path step
    return cleaned or "unknown"


def timestamp_text(epoch: float) -> str:
    """UTC, sortable, and without characters Windows refuses in names (no colons)."""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y%m%dT%H%M%S") + f"{moment.microsecond // 1000:03d}Z"


def expand(pattern: str, values: Mapping[str, str]) -> str:
    """Replace every placeholder with its sanitized value."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            known = ", ".join("{{" + n + "}}" for n in PLACEHOLDERS)
            raise PatternError(f"unknown placeholder {match.group(0)} in filename_pattern (known: {known})")
        return safe_component(str(values[name]))

    return _PLACEHOLDER.sub(replace, pattern)
