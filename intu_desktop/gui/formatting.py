"""How values read in the window: sizes, times, DICOM dates and person names.

Pure functions (no Qt) so models, views and tests share one spelling.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any


def human_bytes(n: float | None) -> str:
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1024 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"  # pragma: no cover - loop always returns


def local_time(epoch: float | None, *, with_date: bool = True) -> str:
    if not epoch:
        return ""
    fmt = "%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S"
    return datetime.fromtimestamp(float(epoch)).strftime(fmt)


def duration(start: float | None, end: float | None) -> str:
    if not start or not end:
        return ""
    seconds = max(0.0, float(end) - float(start))
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


def dicom_date(value: str | None) -> str:
    """DICOM DA `YYYYMMDD` (PS3.5 §6.2) as ISO `YYYY-MM-DD`; anything else unchanged."""
    text = (value or "").strip()
    if len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text


def person_name(value: str | None) -> str:
    """DICOM PN `Family^Given^Middle^Prefix^Suffix` (PS3.5 §6.2.1) as `Family, Given Middle`.

    Only the first (alphabetic) component group is shown; ideographic and phonetic
    groups after `=` are dropped for the table.
    """
    text = (value or "").split("=")[0].strip()
    if "^" not in text:
        return text
    parts = [p.strip() for p in text.split("^")]
    family = parts[0]
    given = " ".join(p for p in parts[1:3] if p)
    prefix = parts[3] if len(parts) > 3 else ""
    suffix = parts[4] if len(parts) > 4 else ""
    rest = " ".join(p for p in (prefix, given, suffix) if p)
    return f"{family}, {rest}" if family and rest else family or rest


def start_of_today(now: float | None = None) -> float:
    """Local midnight as an epoch: 'received today' counts from here."""
    t = time.localtime(now if now is not None else time.time())
    return time.mktime((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0, 0, 0, -1))


def pretty_json(value: Any) -> str:
    """Indented JSON; a string that holds JSON (a message body) is parsed first."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
