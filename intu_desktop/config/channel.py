"""One channel.yaml: load, expand `${VAR}`, check types and rules, build a ChannelConfig."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from intu_desktop.config.destinations import NamedDestinations, resolve_channel_destinations
from intu_desktop.config.envvars import expand_tree
from intu_desktop.config.errors import ConfigError
from intu_desktop.config.listener import parse_dicom_listener
from intu_desktop.config.model import SCRIPT_RUNTIMES, ChannelConfig, ScriptConfig
from intu_desktop.config.schema import check_types
from intu_desktop.config.values import (
    check_range,
    read_bool,
    read_str,
    read_str_list,
    resolve_path,
)
from intu_desktop.config.yamlnode import (
    YNode,
    key_lines,
    load_yaml_file,
    load_yaml_text,
    to_plain,
)


@dataclass(frozen=True)
class ChannelContext:
    """What a channel needs from its project."""

    env: Mapping[str, str]
    named: NamedDestinations
    profile: str
    schema: dict[str, Any]


def load_channel(path: Path, context: ChannelContext, text: str | None = None) -> ChannelConfig:
    """Never raises for bad content: problems are in the returned channel's `errors`.

    `text` validates unsaved editor content as if it were the file at `path`.
    """
    path = Path(path)
    channel = ChannelConfig(id=path.parent.name, path=path, folder=path.parent)
    tree, syntax_error = load_yaml_file(path) if text is None else load_yaml_text(text, path)
    if syntax_error is not None:
        channel.errors.append(syntax_error)
        return channel
    root = YNode.root(tree, path)
    if not root.is_map():
        channel.errors.append(
            root.error("a channel file must be a mapping with at least id and listener")
        )
        return channel
    expand_tree(tree, context.env)
    channel.raw = to_plain(tree)
    channel.key_lines = key_lines(root)
    errors = channel.errors
    errors.extend(check_types(root, context.schema, context.schema))
    _read_header(root, channel, context.profile, errors)
    _read_listener(root, channel, errors)
    channel.validator = parse_script(root.child("validator"), errors)
    channel.transformer = parse_script(root.child("transformer"), errors)
    channel.destinations = resolve_channel_destinations(
        root.child("destinations"), context.named, channel.id, errors
    )
    return channel


def _read_header(
    root: YNode, channel: ChannelConfig, profile: str, errors: list[ConfigError]
) -> None:
    id_node = root.child("id")
    if id_node is None:
        errors.append(root.missing("id"))
    elif isinstance(id_node.value, str):
        if not id_node.value.strip():
            errors.append(id_node.error("must not be empty"))
        else:
            channel.id = id_node.value
    channel.enabled = read_bool(root.child("enabled"), True)
    channel.description = read_str(root.child("description"))
    channel.tags = read_str_list(root.child("tags"))
    channel.group = read_str(root.child("group"))
    profiles_node = root.child("profiles")
    if profiles_node is not None and profiles_node.is_seq():
        channel.in_profile = profile in read_str_list(profiles_node)


def _read_listener(root: YNode, channel: ChannelConfig, errors: list[ConfigError]) -> None:
    listener = root.child("listener")
    if listener is None:
        errors.append(root.missing("listener"))
        return
    if not listener.is_map():
        return
    type_node = listener.child("type")
    if type_node is None:
        errors.append(listener.missing("type"))
        return
    channel.listener_type = read_str(type_node)
    if channel.listener_type == "dicom":
        channel.dicom = parse_dicom_listener(listener, errors)


def parse_script(node: YNode | None, errors: list[ConfigError]) -> ScriptConfig | None:
    """`validator:` / `transformer:`; the entrypoint is relative to the channel folder."""
    if node is None or not node.is_map():
        return None
    entry_node = node.child("entrypoint")
    entry_text = read_str(entry_node)
    runtime_node = node.child("runtime")
    default_runtime = "python" if entry_text.endswith(".py") else "node"
    runtime = read_str(runtime_node, default_runtime)
    if (
        runtime_node is not None
        and isinstance(runtime_node.value, str)
        and runtime not in SCRIPT_RUNTIMES
    ):
        errors.append(
            runtime_node.error(f"unknown runtime {runtime!r} (use {' or '.join(SCRIPT_RUNTIMES)})")
        )
    timeout_ms = check_range(node.child("timeout_ms"), errors, 10000, 1)
    if entry_node is None:
        errors.append(node.missing("entrypoint"))
        return None
    if not isinstance(entry_node.value, str):
        return None
    if not entry_text.strip():
        errors.append(entry_node.error("must not be empty"))
        return None
    entrypoint = resolve_path(entry_text, entry_node.file)
    if not entrypoint.is_file():
        errors.append(entry_node.error(f"file not found: {entrypoint}"))
    return ScriptConfig(runtime=runtime, entrypoint=entrypoint, timeout_ms=timeout_ms)
