"""Validation of unsaved editor text. No Qt here: these run on the editor's worker thread,
since they read intu.yaml, .env, scripts and certificate files from disk.

Channel text goes through the same rules as loading (`check_channel_text`), plus what only
an editor can check: the TLS files parse as PEM, and no other channel of the project uses
the same id or port.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intu_desktop.config import ChannelConfig, ConfigError, check_channel_text
from intu_desktop.config.destinations import parse_named_destinations
from intu_desktop.config.envvars import environment, expand_tree, read_dotenv
from intu_desktop.config.extensions import desktop_extensions_used
from intu_desktop.config.schema import check_types, load_schemas
from intu_desktop.config.values import resolve_path
from intu_desktop.config.yamlnode import YNode, key_lines, load_yaml_text
from intu_desktop.gui.editor.pem import PemKind, pem_problem
from intu_desktop.gui.editor.template import ChannelSummary

_REQUIRED_OPTION = {"http": "url", "fhir": "base_url", "dicom": "host", "file": "directory"}
_TLS_FILES: tuple[tuple[str, PemKind], ...] = (
    ("cert_file", "certificate"),
    ("key_file", "key"),
    ("ca_file", "ca"),
)


@dataclass
class CheckResult:
    errors: list[ConfigError] = field(default_factory=list)
    channel: ChannelConfig | None = None
    # Key paths that rely on intu Desktop (the intu engine would reject them).
    extensions: list[str] = field(default_factory=list)
    # Named destinations defined by intu.yaml text (project checks only).
    destination_names: list[str] = field(default_factory=list)


def check_channel(
    path: Path,
    text: str,
    *,
    profile: str = "dev",
    validate_as: Path | None = None,
    others: Iterable[ChannelSummary] = (),
    environ: Mapping[str, str] | None = None,
) -> CheckResult:
    """Every problem in `text` as the channel file `path`. `validate_as` resolves relative
    paths from another file (an unsaved clone still finds its source's scripts)."""
    as_path = validate_as or path
    channel = check_channel_text(as_path, text, profile, environ)
    errors = list(channel.errors)
    errors.extend(_tls_file_errors(channel, as_path))
    destinations = channel.raw.get("destinations")
    items = enumerate(destinations) if isinstance(destinations, list) else ()
    errors.extend(empty_required_options(
        ((f"destinations[{i}]", item) for i, item in items), as_path, channel.key_lines))
    errors.extend(cross_channel_errors(channel, path, others))
    if as_path != path:
        errors = [dataclasses.replace(e, file=path) if e.file == as_path else e for e in errors]
    return CheckResult(
        errors=_unique(errors), channel=channel, extensions=desktop_extensions_used(channel.raw)
    )


def _tls_file_errors(channel: ChannelConfig, path: Path) -> list[ConfigError]:
    listener = channel.raw.get("listener")
    dicom = listener.get("dicom") if isinstance(listener, dict) else None
    tls = dicom.get("tls") if isinstance(dicom, dict) else None
    if not isinstance(tls, dict) or tls.get("enabled") is False:
        return []
    errors: list[ConfigError] = []
    files = {key: resolve_path(value, path) for key, value in tls.items()
             if key in dict(_TLS_FILES) and isinstance(value, str) and value.strip()}
    for key, kind in _TLS_FILES:
        file = files.get(key)
        if file is None or not file.is_file():
            continue  # "file not found" is reported by the loader already
        problem = pem_problem(file, kind, files.get("cert_file"))
        if problem is not None:
            key_path = f"listener.dicom.tls.{key}"
            errors.append(ConfigError(path, channel.key_lines.get(key_path, 1), key_path, problem))
    return errors


def empty_required_options(
    items: Iterable[tuple[str, Any]], file: Path, lines: Mapping[str, int]
) -> list[ConfigError]:
    """A required destination setting left empty (a new inline destination starts so): the
    loader only checks that the key is there, the delivery would fail at run time."""
    errors: list[ConfigError] = []
    for prefix, item in items:
        dest_type = item.get("type") if isinstance(item, dict) else None
        key = _REQUIRED_OPTION.get(dest_type) if isinstance(dest_type, str) else None
        block = item.get(dest_type) if key is not None else None
        if isinstance(block, dict) and isinstance(block.get(key), str) and not block[key].strip():
            key_path = f"{prefix}.{dest_type}.{key}"
            errors.append(ConfigError(file, lines.get(key_path, 1), key_path, "must not be empty"))
    return errors


def cross_channel_errors(
    channel: ChannelConfig, path: Path, others: Iterable[ChannelSummary]
) -> list[ConfigError]:
    """The same id, or the same port on two enabled channels, as the project loader would
    report once both files are saved."""
    errors: list[ConfigError] = []
    raw_id = channel.raw.get("id")
    port = channel.dicom.port if channel.dicom is not None else None
    for other in others:
        if other.path == path:
            continue
        if isinstance(raw_id, str) and raw_id.strip() and other.id == channel.id:
            errors.append(_at(channel, path, "id", f"channel id also used by {other.path}"))
        if (
            port
            and channel.enabled
            and other.enabled
            and other.listener_type == "dicom"
            and other.port == port
        ):
            message = f"port {port} is already used by channel {other.id!r} ({other.path})"
            errors.append(_at(channel, path, "listener.dicom.port", message))
    return errors


def _at(channel: ChannelConfig, path: Path, key_path: str, message: str) -> ConfigError:
    return ConfigError(path, channel.key_lines.get(key_path, 1), key_path, message)


def check_project(
    path: Path, text: str, environ: Mapping[str, str] | None = None
) -> CheckResult:
    """intu.yaml text: types against intu's profile schema and the named destinations'
    rules. The profile overlay is not merged: the editor edits this one file."""
    tree, syntax_error = load_yaml_text(text, path)
    if syntax_error is not None:
        return CheckResult(errors=[syntax_error])
    root = YNode.root(tree, path)
    if tree is None:
        return CheckResult()
    if not root.is_map():
        return CheckResult(errors=[root.error("intu.yaml must be a mapping")])
    dotenv, env_errors = read_dotenv(path.parent / ".env")
    expand_tree(tree, environment(os.environ if environ is None else environ, dotenv))
    schemas = load_schemas()
    errors = list(env_errors) + check_types(root, schemas.profile, schemas.profile)
    named = parse_named_destinations(root.child("destinations"))
    errors.extend(named.errors)
    errors.extend(empty_required_options(
        ((f"destinations.{name}", item) for name, item in _named_items(tree)), path,
        key_lines(root)))
    extensions = [
        f"destinations.{name}.type"
        for name, item in named.by_name.items()
        if item.config.type == "log"
    ]
    return CheckResult(
        errors=_unique(errors), extensions=extensions, destination_names=_names(tree)
    )


def _named_items(tree: Any) -> list[tuple[str, Any]]:
    destinations = tree.get("destinations") if isinstance(tree, dict) else None
    return [(str(k), v) for k, v in destinations.items()] if isinstance(destinations, dict) else []


def _names(tree: Any) -> list[str]:
    destinations = tree.get("destinations") if isinstance(tree, dict) else None
    return [str(k) for k in destinations] if isinstance(destinations, dict) else []


def _unique(errors: list[ConfigError]) -> list[ConfigError]:
    return list(dict.fromkeys(errors))
