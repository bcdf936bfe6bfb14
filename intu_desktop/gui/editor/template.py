"""New and cloned channels: the template text, a unique id and an unused port.

No Qt here. The template is the default project's channel (modelled on the spec's
`dicom-radiology-ingest`), so a new channel starts out as a working receiver.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from intu_desktop.gui.editor.session import EditSession

TEMPLATE_ID = "dicom-radiology-ingest"
TEMPLATE_DESTINATION = "received-files"
FIRST_PORT = 4104  # the spec's unprivileged DICOM port
DEFAULT_CHANNELS_DIR = "src/channels"
CHANNEL_FILE = "channel.yaml"
_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class ChannelSummary:
    """What the channel list shows and what New/Clone need to avoid clashes."""

    path: Path
    id: str
    enabled: bool
    listener_type: str
    port: int | None


def template_text() -> str:
    folder = resources.files("intu_desktop") / "resources" / "default_project"
    entry = folder / "src" / "channels" / TEMPLATE_ID / CHANNEL_FILE
    return entry.read_text(encoding="utf-8")


def read_summary(path: Path) -> ChannelSummary:
    """A quick look at one channel file; unreadable files are listed by folder name."""
    return summary_from_raw(path, _load_mapping(path))


def summary_from_raw(path: Path, data: Any) -> ChannelSummary:
    """The summary of a parsed channel mapping (anything else: an empty channel)."""
    data = data if isinstance(data, dict) else {}
    listener: dict[str, Any] = data["listener"] if isinstance(data.get("listener"), dict) else {}
    dicom: dict[str, Any] = listener["dicom"] if isinstance(listener.get("dicom"), dict) else {}
    raw_id = data.get("id")
    port = dicom.get("port")
    enabled = data.get("enabled", True)
    return ChannelSummary(
        path=Path(path),
        id=str(raw_id) if isinstance(raw_id, str) and raw_id.strip() else Path(path).parent.name,
        enabled=enabled if isinstance(enabled, bool) else True,
        listener_type=str(listener.get("type") or ""),
        port=port if isinstance(port, int) and not isinstance(port, bool) else None,
    )


def _load_mapping(path: Path) -> dict[str, Any]:
    try:
        data = YAML(typ="safe").load(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def channels_dir(project_root: Path) -> Path:
    """`channels_dir` of the project's intu.yaml (default src/channels)."""
    data = _load_mapping(project_root / "intu.yaml")
    value = data.get("channels_dir")
    text = value if isinstance(value, str) and value.strip() else DEFAULT_CHANNELS_DIR
    return project_root / Path(text).expanduser()


def named_destinations(project_root: Path | None) -> list[str]:
    if project_root is None:
        return []
    found = _load_mapping(project_root / "intu.yaml").get("destinations")
    return [str(name) for name in found] if isinstance(found, dict) else []


def unique_id(base: str, taken: Iterable[str]) -> str:
    used = set(taken)
    if base not in used:
        return base
    n = 2
    while f"{base}-{n}" in used:
        n += 1
    return f"{base}-{n}"


def unused_port(taken: Iterable[int | None], start: int = FIRST_PORT) -> int:
    used = {p for p in taken if p}
    port = start
    while port in used and port < 65535:
        port += 1
    return port


def folder_name(channel_id: str) -> str:
    """A folder name for a channel id: the id itself with unsafe characters replaced."""
    name = _SLUG.sub("-", channel_id).strip(".-")
    return name or "channel"


def new_channel_session(
    folder: Path, summaries: Iterable[ChannelSummary], named: list[str]
) -> EditSession:
    """An unsaved channel from the template in `folder/<id>/channel.yaml`."""
    summaries = list(summaries)
    channel_id = unique_id("new-dicom-channel", [s.id for s in summaries] + _folders(folder))
    session = EditSession(folder / folder_name(channel_id) / CHANNEL_FILE, None, template_text())
    session.set_value(("id",), channel_id)
    session.set_value(("listener", "dicom", "port"), unused_port(s.port for s in summaries))
    if TEMPLATE_DESTINATION not in named:
        # The template writes to the default project's named destination; elsewhere use
        # the project's first named one, or an inline file destination beside the channel.
        replacement: Any = (
            named[0]
            if named
            else {"name": TEMPLATE_DESTINATION, "type": "file", "file": {"directory": "received"}}
        )
        session.set_value(("destinations", 0), replacement)
    return session


def clone_session(
    source: EditSession, folder: Path, summaries: Iterable[ChannelSummary]
) -> EditSession:
    """An unsaved copy of `source` (its current text) with a new id and an unused port."""
    summaries = list(summaries)
    base = source.get(("id",))
    base_id = f"{base}-copy" if isinstance(base, str) and base.strip() else "channel-copy"
    channel_id = unique_id(base_id, [s.id for s in summaries] + _folders(folder))
    session = EditSession(folder / folder_name(channel_id) / CHANNEL_FILE, None, source.text())
    if session.parsed:
        session.set_value(("id",), channel_id)
        if isinstance(session.get(("listener", "dicom")), dict):
            port = unused_port(s.port for s in summaries)
            session.set_value(("listener", "dicom", "port"), port)
    return session


def _folders(folder: Path) -> list[str]:
    try:
        return [p.name for p in folder.iterdir() if p.is_dir()]
    except OSError:
        return []
