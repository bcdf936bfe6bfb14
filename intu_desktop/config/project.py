"""Loading an intu project folder, or single channel files, into a validated Project."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from intu_desktop.config.channel import ChannelContext, load_channel
from intu_desktop.config.destinations import NamedDestinations, parse_named_destinations
from intu_desktop.config.envvars import environment, expand_tree, read_dotenv
from intu_desktop.config.errors import ConfigError
from intu_desktop.config.model import ChannelConfig, Project
from intu_desktop.config.schema import Schemas, check_types, load_schemas
from intu_desktop.config.values import read_str
from intu_desktop.config.yamlnode import YNode, load_yaml_file, merge_trees

INTU_FILE = "intu.yaml"
CHANNEL_FILE = "channel.yaml"
DEFAULT_CHANNELS_DIR = "src/channels"
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
# Folders never searched for channels: dependencies and build output can be huge.
_SKIPPED_DIRS = {"node_modules", "dist", "build", "__pycache__"}


@dataclass
class _IntuContext:
    """What intu.yaml (+ profile overlay + .env) gives the channels of one project."""

    root: Path | None
    intu_file: Path | None
    env: dict[str, str]
    named: NamedDestinations
    channels_dir: Path | None = None
    channels_dir_node: YNode | None = None
    errors: list[ConfigError] = field(default_factory=list)


def load_project(
    root: Path, profile: str = "dev", environ: Mapping[str, str] | None = None
) -> Project:
    """An intu project folder: intu.yaml, its profile overlay and .env, and every channel
    under `channels_dir`. Never raises for bad content; see `Project.errors`."""
    root = Path(os.path.abspath(root))
    schemas = load_schemas()
    context = _load_intu(root, profile, os.environ if environ is None else environ, schemas)
    paths: list[Path] = []
    if context.channels_dir is not None:
        if context.channels_dir.is_dir():
            paths = find_channel_files(context.channels_dir)
        else:
            context.errors.append(_channels_dir_missing(context))
    channels = [load_channel(p, _channel_context(context, profile, schemas)) for p in paths]
    return _assemble(context, profile, channels, [context])


def load_channel_files(
    paths: Iterable[Path], profile: str = "dev", environ: Mapping[str, str] | None = None
) -> Project:
    """Single channel files (`--channel FILE`). Named destinations, `.env` and the profile
    come from the nearest intu.yaml in each file's parent folders."""
    schemas = load_schemas()
    base_env = os.environ if environ is None else environ
    contexts: dict[Path | None, _IntuContext] = {}
    channels: list[ChannelConfig] = []
    for path in paths:
        path = Path(os.path.abspath(path))
        root = find_project_root(path.parent)
        if root not in contexts:
            contexts[root] = (
                _load_intu(root, profile, base_env, schemas, need_channels_dir=False)
                if root is not None
                else _no_project(base_env)
            )
        context = contexts[root]
        if not path.is_file():
            context.errors.append(ConfigError(path, 1, "(file)", "channel file not found"))
            continue
        channels.append(load_channel(path, _channel_context(context, profile, schemas)))
    ordered = list(contexts.values())
    first = ordered[0] if ordered else _IntuContext(None, None, dict(base_env), NamedDestinations())
    return _assemble(first, profile, channels, ordered)


def check_channel_text(
    path: Path, text: str, profile: str = "dev", environ: Mapping[str, str] | None = None
) -> ChannelConfig:
    """Validate unsaved editor text as if it were the channel file at `path` (named
    destinations and .env from the nearest intu.yaml). Checks across channels are not run."""
    path = Path(os.path.abspath(path))
    schemas = load_schemas()
    base_env = os.environ if environ is None else environ
    root = find_project_root(path.parent)
    if root is None:
        context = _no_project(base_env)
    else:
        context = _load_intu(root, profile, base_env, schemas, need_channels_dir=False)
    return load_channel(path, _channel_context(context, profile, schemas), text=text)


def _no_project(base_env: Mapping[str, str]) -> _IntuContext:
    """A channel file with no intu.yaml above it: no .env, no named destinations."""
    return _IntuContext(None, None, dict(base_env), NamedDestinations(has_intu_file=False))


def find_project_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` that holds an intu.yaml."""
    for folder in (start, *start.parents):
        if (folder / INTU_FILE).is_file():
            return folder
    return None


def find_channel_files(channels_dir: Path) -> list[Path]:
    """Every `channel.yaml` in a sub-folder of `channels_dir`, at any depth, sorted. A
    channel's own sub-folders are not searched further."""
    found: list[Path] = []
    for folder, dirnames, filenames in os.walk(channels_dir):
        here = Path(folder)
        if here != channels_dir and CHANNEL_FILE in filenames:
            found.append(here / CHANNEL_FILE)
            dirnames.clear()
            continue
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and d not in _SKIPPED_DIRS
        )
    return sorted(found)


def _load_intu(
    root: Path,
    profile: str,
    base_env: Mapping[str, str],
    schemas: Schemas,
    need_channels_dir: bool = True,
) -> _IntuContext:
    intu_file = root / INTU_FILE
    errors: list[ConfigError] = []
    dotenv, dotenv_errors = read_dotenv(root / ".env")
    errors.extend(dotenv_errors)
    env = environment(base_env, dotenv)
    context = _IntuContext(root, intu_file, env, NamedDestinations(), errors=errors)
    if not root.is_dir():
        errors.append(ConfigError(root, 1, "(project)", "project folder not found"))
        return context
    if not intu_file.is_file():
        errors.append(
            ConfigError(intu_file, 1, "(file)", "intu.yaml not found in the project folder")
        )
        context.channels_dir = root / DEFAULT_CHANNELS_DIR if need_channels_dir else None
        return context
    tree = _load_merged(intu_file, profile, env, errors)
    top = YNode.root(tree, intu_file)
    if tree is not None and not top.is_map():
        errors.append(top.error("intu.yaml must be a mapping"))
    elif tree is not None:
        errors.extend(check_types(top, schemas.profile, schemas.profile))
        context.named = parse_named_destinations(top.child("destinations"))
        errors.extend(context.named.errors)
        context.channels_dir_node = top.child("channels_dir")
    if need_channels_dir:
        text = read_str(context.channels_dir_node, DEFAULT_CHANNELS_DIR)
        context.channels_dir = Path(os.path.abspath(root / Path(text).expanduser()))
    return context


def _load_merged(
    intu_file: Path, profile: str, env: Mapping[str, str], errors: list[ConfigError]
) -> Any:
    """intu.yaml with intu.<profile>.yaml deep-merged over it, `${VAR}` expanded."""
    tree, error = load_yaml_file(intu_file)
    if error is not None:
        errors.append(error)
        return None
    if tree is None:
        tree = CommentedMap()  # an empty intu.yaml: the overlay may still define things
    if not _PROFILE_NAME.match(profile):
        errors.append(ConfigError(intu_file, 1, "(profile)", f"invalid profile name {profile!r}"))
        return expand_tree(tree, env)
    overlay_file = intu_file.with_name(f"intu.{profile}.yaml")
    if overlay_file.is_file():
        overlay, overlay_error = load_yaml_file(overlay_file)
        if overlay_error is not None:
            errors.append(overlay_error)
        elif overlay is not None:
            tree = merge_trees(tree, intu_file, overlay, overlay_file)
    return expand_tree(tree, env)


def _channels_dir_missing(context: _IntuContext) -> ConfigError:
    node = context.channels_dir_node
    message = f"channels folder not found: {context.channels_dir}"
    if node is not None:
        return node.error(message)
    return ConfigError(context.intu_file or Path("."), 1, "channels_dir", message)


def _channel_context(context: _IntuContext, profile: str, schemas: Schemas) -> ChannelContext:
    return ChannelContext(
        env=context.env, named=context.named, profile=profile, schema=schemas.channel
    )


def _assemble(
    main: _IntuContext, profile: str, channels: list[ChannelConfig], contexts: list[_IntuContext]
) -> Project:
    project = Project(
        root=main.root,
        intu_file=main.intu_file if main.root else None,
        profile=profile,
        channels=channels,
        env=main.env,
    )
    for context in contexts:
        for name, named in context.named.by_name.items():
            project.destinations.setdefault(name, named.config)
        project.errors.extend(context.errors)
    _check_across_channels(channels)
    for channel in channels:
        project.errors.extend(channel.errors)
    project.errors = list(dict.fromkeys(project.errors))  # same problem reported twice: once
    return project


def _check_across_channels(channels: list[ChannelConfig]) -> None:
    """Duplicate ids, and two enabled dicom channels on one port (the second one is at fault)."""
    first_by_id: dict[str, ChannelConfig] = {}
    first_by_port: dict[int, ChannelConfig] = {}
    for channel in channels:
        raw_id = channel.raw.get("id")
        if isinstance(raw_id, str) and raw_id.strip():
            other = first_by_id.setdefault(channel.id, channel)
            if other is not channel:
                channel.errors.append(
                    _at(channel, "id", f"duplicate channel id, also used by {other.path}")
                )
        dicom = channel.dicom
        if not (channel.enabled and channel.in_profile and dicom is not None and dicom.port):
            continue
        other = first_by_port.setdefault(dicom.port, channel)
        if other is not channel:
            channel.errors.append(
                _at(
                    channel,
                    "listener.dicom.port",
                    f"port {dicom.port} is already used by channel {other.id!r} ({other.path})",
                )
            )


def _at(channel: ChannelConfig, key_path: str, message: str) -> ConfigError:
    line = channel.key_lines.get(key_path, 1)
    return ConfigError(channel.path, line, key_path, message)
