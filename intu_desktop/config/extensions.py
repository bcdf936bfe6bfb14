"""Which parts of a channel rely on intu Desktop, so the editor can mark them."""

from __future__ import annotations

from typing import Any

from intu_desktop.config.model import DESKTOP_EXTENSION_KEYS


def desktop_extensions_used(raw: dict[str, Any]) -> list[str]:
    """Key paths in a channel mapping that intu's schema does not allow, e.g.
    `listener.dicom.max_associations`, `transformer.runtime` (python) or `destinations[2].type`
    (log). A channel without any validates against intu-channel.schema.json."""
    used: list[str] = []
    listener = raw.get("listener")
    dicom = listener.get("dicom") if isinstance(listener, dict) else None
    if isinstance(dicom, dict):
        used.extend(f"listener.dicom.{key}" for key in DESKTOP_EXTENSION_KEYS if key in dicom)
    for script in ("validator", "transformer"):
        block = raw.get(script)
        if isinstance(block, dict):
            if block.get("runtime") == "python":
                used.append(f"{script}.runtime")
            if "timeout_ms" in block:
                used.append(f"{script}.timeout_ms")
    destinations = raw.get("destinations")
    for i, item in enumerate(destinations if isinstance(destinations, list) else []):
        if isinstance(item, dict) and item.get("type") == "log":
            used.append(f"destinations[{i}].type")
    return used
