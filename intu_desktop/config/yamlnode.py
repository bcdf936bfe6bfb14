"""Round-trip YAML loading with positions, so every error can name file and line.

ruamel.yaml's round-trip loader keeps 0-based positions on each container
(`CommentedMap.lc.key(k)`, `CommentedSeq.lc.item(i)`); `YNode` wraps a value together with
the file, 1-based line and dotted key path it came from.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from intu_desktop.config.errors import ConfigError

SYNTAX_KEY = "(syntax)"


class MergedMap(CommentedMap):
    """A mapping built from two files (profile overlay): remembers each key's file and line."""

    def __init__(self) -> None:
        super().__init__()
        self.origins: dict[Any, tuple[Path, int]] = {}


def is_bool(value: Any) -> bool:
    # ruamel loads an anchored `true` as ScalarBoolean, an int subclass.
    return isinstance(value, (bool, ScalarBoolean))


def is_int(value: Any) -> bool:
    # YAML `true` is not a port number, even though Python's bool is an int.
    return isinstance(value, int) and not is_bool(value)


def _new_loader() -> YAML:
    yaml = YAML(typ="rt")
    # Quoted scalars keep their style, so `${VAR}` expansion can tell "4104" from 4104.
    yaml.preserve_quotes = True
    return yaml


def load_yaml_file(path: Path) -> tuple[Any, ConfigError | None]:
    """Load one YAML file; a read or syntax error becomes a ConfigError, never an exception."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return None, ConfigError(path, 1, SYNTAX_KEY, f"cannot read file: {exc}")
    return load_yaml_text(text, path)


def load_yaml_text(text: str, path: Path) -> tuple[Any, ConfigError | None]:
    try:
        return _new_loader().load(text), None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = exc.problem or exc.context or "invalid YAML"
        return None, ConfigError(path, line, SYNTAX_KEY, f"YAML syntax error: {what}")
    except YAMLError as exc:
        return None, ConfigError(path, 1, SYNTAX_KEY, f"YAML error: {exc}")


def _key_line(container: Any, key: Any, fallback: int) -> int:
    try:
        return int(container.lc.key(key)[0]) + 1
    except (KeyError, TypeError, AttributeError, IndexError):
        return fallback


def _item_line(container: Any, index: int, fallback: int) -> int:
    try:
        return int(container.lc.item(index)[0]) + 1
    except (KeyError, TypeError, AttributeError, IndexError):
        return fallback


def join_key(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


@dataclass
class YNode:
    """A YAML value with its origin. `line` is 1-based; `path` is like `listener.dicom.port`."""

    value: Any
    file: Path
    line: int
    path: str

    @classmethod
    def root(cls, value: Any, file: Path) -> YNode:
        line = 1
        if isinstance(value, CommentedMap) and len(value):
            line = _key_line(value, next(iter(value)), 1)
        return cls(value, file, line, "")

    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    def is_seq(self) -> bool:
        return isinstance(self.value, list)

    def child(self, key: str) -> YNode | None:
        """The value under `key`, or None when absent or null (null counts as absent)."""
        if not isinstance(self.value, dict) or key not in self.value:
            return None
        value = self.value[key]
        if value is None:
            return None
        return self._map_child(key, value)

    def _map_child(self, key: Any, value: Any) -> YNode:
        path = join_key(self.path, str(key))
        if isinstance(self.value, MergedMap) and key in self.value.origins:
            file, line = self.value.origins[key]
            return YNode(value, file, line, path)
        return YNode(value, self.file, _key_line(self.value, key, self.line), path)

    def entries(self) -> Iterator[tuple[str, YNode]]:
        """Mapping entries, null values included (as YNode with value None)."""
        if isinstance(self.value, dict):
            for key, value in self.value.items():
                yield str(key), self._map_child(key, value)

    def items(self) -> Iterator[YNode]:
        if isinstance(self.value, list):
            for i, value in enumerate(self.value):
                line = _item_line(self.value, i, self.line)
                yield YNode(value, self.file, line, join_key(self.path, i))

    def error(self, message: str, key_path: str | None = None) -> ConfigError:
        return ConfigError(self.file, self.line, key_path or self.path or "(root)", message)

    def missing(self, key: str, message: str = "required key is missing") -> ConfigError:
        """Error for a required key absent from this mapping, reported at the mapping's line."""
        return ConfigError(self.file, self.line, join_key(self.path, key), message)


def key_lines(root: YNode) -> dict[str, int]:
    """Line of every key path in a tree, e.g. {"listener.dicom.port": 7}."""
    lines: dict[str, int] = {}
    pending = [root]
    while pending:
        node = pending.pop()
        children = list(node.entries()) if node.is_map() else [("", n) for n in node.items()]
        for _, child in children:
            lines[child.path] = child.line
            pending.append(child)
    return lines


def merge_trees(base: Any, base_file: Path, overlay: Any, overlay_file: Path) -> Any:
    """Deep-merge `overlay` over `base` (profile files): mappings merge, anything else replaces.

    The result remembers which file and line each key came from.
    """
    if not (isinstance(base, dict) and isinstance(overlay, dict)):
        return overlay
    merged = MergedMap()
    for key, value in base.items():
        merged[key] = value
        merged.origins[key] = _origin(base, key, base_file)
    for key, value in overlay.items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            file_of_base = merged.origins[key][0]
            merged[key] = merge_trees(merged[key], file_of_base, value, overlay_file)
        else:
            merged[key] = value
        merged.origins[key] = _origin(overlay, key, overlay_file)
    return merged


def _origin(container: Any, key: Any, file: Path) -> tuple[Path, int]:
    if isinstance(container, MergedMap) and key in container.origins:
        return container.origins[key]
    return file, _key_line(container, key, 1)


def to_plain(value: Any) -> Any:
    """ruamel's round-trip types (CommentedMap, ScalarInt, quoted strings...) as plain Python."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if is_bool(value):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value
