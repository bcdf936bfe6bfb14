"""Destination definitions: named ones in intu.yaml, and a channel's list of names or inline ones."""

from __future__ import annotations

from dataclasses import dataclass, field

from intu_desktop.config.errors import ConfigError
from intu_desktop.config.model import DestinationConfig, RetryConfig
from intu_desktop.config.values import (
    check_ae_title,
    check_choice,
    check_range,
    read_bool,
    read_str,
)
from intu_desktop.config.yamlnode import YNode, merge_trees, to_plain

BACKOFFS = ("constant", "linear", "exponential")
# For the types we deliver to: the settings block key that must be present.
_REQUIRED_OPTION = {"http": "url", "fhir": "base_url", "dicom": "host", "file": "directory"}


@dataclass
class NamedDestination:
    config: DestinationConfig
    node: YNode


@dataclass
class NamedDestinations:
    """intu.yaml's `destinations:` after the profile overlay."""

    by_name: dict[str, NamedDestination] = field(default_factory=dict)
    errors: list[ConfigError] = field(default_factory=list)
    has_intu_file: bool = True


def parse_named_destinations(node: YNode | None) -> NamedDestinations:
    named = NamedDestinations()
    if node is None or not node.is_map():
        return named
    for name, child in node.entries():
        if child.value is None:
            named.errors.append(child.error("destination definition is empty; it needs a type"))
            continue
        config = parse_destination(child, name, named.errors)
        if config is not None:
            named.by_name[name] = NamedDestination(config, child)
    return named


def parse_destination(
    node: YNode, name: str, errors: list[ConfigError]
) -> DestinationConfig | None:
    """One destination mapping (`type`, its `<type>:` block, `retry`). Wrong types are already
    reported by the schema check; here: required keys and value rules."""
    if not node.is_map():
        return None
    type_node = node.child("type")
    dest_type = read_str(type_node)
    if type_node is None:
        errors.append(node.missing("type"))
    options_node = node.child(dest_type) if dest_type else None
    _check_options(node, dest_type, options_node, errors)
    options = to_plain(options_node.value) if options_node and options_node.is_map() else {}
    return DestinationConfig(
        name=name,
        type=dest_type,
        options=options,
        retry=parse_retry(node.child("retry"), errors),
        source=node.file,
        line=node.line,
        raw=to_plain(node.value),
    )


def _check_options(
    node: YNode, dest_type: str, options: YNode | None, errors: list[ConfigError]
) -> None:
    required = _REQUIRED_OPTION.get(dest_type)
    if required is None:
        return
    if options is None:
        errors.append(
            node.missing(dest_type, f"a {dest_type} destination needs `{dest_type}.{required}`")
        )
        return
    if not options.is_map():
        return
    if options.child(required) is None:
        errors.append(options.missing(required))
    if dest_type == "dicom":
        check_range(options.child("port"), errors, 104, 1, 65535)
        check_ae_title(options.child("ae_title"), errors)
        check_ae_title(options.child("called_ae_title"), errors)
    if dest_type in ("http", "fhir", "dicom"):
        check_range(options.child("timeout_ms"), errors, 1, 1)


def parse_retry(node: YNode | None, errors: list[ConfigError]) -> RetryConfig:
    defaults = RetryConfig()
    if node is None or not node.is_map():
        return defaults
    return RetryConfig(
        max_attempts=check_range(node.child("max_attempts"), errors, defaults.max_attempts, 1),
        backoff=check_choice(node.child("backoff"), errors, defaults.backoff, BACKOFFS),
        initial_delay_ms=check_range(
            node.child("initial_delay_ms"), errors, defaults.initial_delay_ms, 0
        ),
        max_delay_ms=check_range(node.child("max_delay_ms"), errors, defaults.max_delay_ms, 0),
        jitter=read_bool(node.child("jitter"), defaults.jitter),
    )


def resolve_channel_destinations(
    node: YNode | None, named: NamedDestinations, channel_id: str, errors: list[ConfigError]
) -> list[DestinationConfig]:
    """A channel's `destinations:` list: names resolve to intu.yaml's definitions, a mapping is
    either a reference (`ref:`, or only `name:` of a named one, optionally with overrides)
    or an inline definition."""
    result: list[DestinationConfig] = []
    if node is None or not node.is_seq():
        return result
    for index, item in enumerate(node.items()):
        config = _resolve_item(item, index, named, channel_id, errors)
        if config is not None:
            result.append(config)
    return result


def _resolve_item(
    item: YNode, index: int, named: NamedDestinations, channel_id: str, errors: list[ConfigError]
) -> DestinationConfig | None:
    value = item.value
    if value is None:
        errors.append(item.error("empty destination entry"))
        return None
    if isinstance(value, str):
        return _lookup(item, value, named, errors)
    if not isinstance(value, dict):
        return None  # type error already reported
    ref_node = item.child("ref")
    name_node = item.child("name")
    ref = read_str(ref_node)
    name = read_str(name_node)
    if not ref and item.child("type") is None and name:
        ref, ref_node = name, name_node  # `- name: pacs-archive` refers to a named destination
    if ref and ref_node is not None:
        base = _lookup(ref_node, ref, named, errors)
        if base is None:
            return None
        if set(value.keys()) <= {"ref", "name"}:
            return base if not name or name == base.name else _renamed(base, name)
        return _with_overrides(item, named.by_name[ref], name or ref, errors)
    return parse_destination(item, name or f"{channel_id}-destination-{index + 1}", errors)


def _lookup(
    node: YNode, name: str, named: NamedDestinations, errors: list[ConfigError]
) -> DestinationConfig | None:
    found = named.by_name.get(name)
    if found is not None:
        return found.config
    if not named.has_intu_file:
        hint = "no intu.yaml was found in the parent folders"
    elif named.by_name:
        hint = "known: " + ", ".join(sorted(named.by_name))
    else:
        hint = "intu.yaml defines no destinations"
    errors.append(node.error(f"unknown named destination {name!r} ({hint})"))
    return None


def _renamed(base: DestinationConfig, name: str) -> DestinationConfig:
    return DestinationConfig(
        name=name,
        type=base.type,
        options=base.options,
        retry=base.retry,
        source=base.source,
        line=base.line,
        raw=base.raw,
    )


def _with_overrides(
    item: YNode, base: NamedDestination, name: str, errors: list[ConfigError]
) -> DestinationConfig | None:
    # The named definition with the channel's keys merged over it; errors that point into
    # intu.yaml were already reported there, so only the channel file's own are kept.
    merged = YNode(
        merge_trees(base.node.value, base.node.file, item.value, item.file),
        item.file,
        item.line,
        item.path,
    )
    local: list[ConfigError] = []
    config = parse_destination(merged, name, local)
    errors.extend(e for e in local if e.file == item.file)
    return config
