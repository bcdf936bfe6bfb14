"""A YAML file edited in place: only what the user changed changes on disk (DESIGN §4).

The channel editor loads a channel.yaml into a `YamlDocument`, changes values by key path,
and saves. Comments, key order, quoting, unknown keys and untouched lines stay byte-identical;
`${VAR}` text is never expanded here.
"""

from __future__ import annotations

import io
import os
import re
import stat
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import ScalarString

from intu_desktop.config.textmerge import merge_edit
from intu_desktop.config.yamlnode import is_bool

KeyPath = Sequence[str | int]
_BOM = "\ufeff"


class YamlDocument:
    """Round-trip YAML document. Paths are tuples of keys and list indices:
    `("listener", "dicom", "calling_ae_titles", 0)`."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = Path(path)
        self._bom = text.startswith(_BOM)
        text = text.removeprefix(_BOM)
        self._crlf = "\r\n" in text
        self._original = text.replace("\r\n", "\n") if self._crlf else text
        self._yaml = _configured_yaml(self._original)
        loaded = self._yaml.load(self._original)
        self.data: Any = CommentedMap() if loaded is None else loaded
        self._base_dump = self._dump()
        self._disk_bytes = (_BOM if self._bom else "").encode("utf-8") + text.encode("utf-8")
        self.mtime_ns = 0

    @classmethod
    def load(cls, path: Path) -> YamlDocument:
        """Raises OSError and ruamel's YAMLError (syntax) for the caller to show."""
        path = Path(path)
        raw = path.read_bytes()
        document = cls(path, raw.decode("utf-8"))
        document._disk_bytes = raw
        document.mtime_ns = path.stat().st_mtime_ns
        return document

    # -- reading and changing values ---------------------------------------------------
    def get(self, key_path: KeyPath, default: Any = None) -> Any:
        node = self.data
        for key in key_path:
            try:
                node = node[key]
            except (KeyError, IndexError, TypeError):
                return default
        return node

    def set(self, key_path: KeyPath, value: Any) -> None:
        """Set a value, creating missing mappings on the way. An index equal to the list's
        length appends. Lists and mappings are updated in place to keep their comments."""
        if not key_path:
            raise ValueError("empty key path")
        parent = self._container(key_path[:-1])
        key = key_path[-1]
        if isinstance(parent, list):
            if not isinstance(key, int):
                raise TypeError(f"list index expected at {list(key_path)}, got {key!r}")
            if key == len(parent):
                parent.append(_fresh(value))
                return
        _assign(parent, key, value)

    def delete(self, key_path: KeyPath) -> bool:
        """Remove a key or list item; False when there was nothing to remove."""
        if not key_path:
            raise ValueError("empty key path")
        parent = self.get(key_path[:-1])
        key = key_path[-1]
        try:
            del parent[key]
        except (KeyError, IndexError, TypeError):
            return False
        return True

    def _container(self, key_path: KeyPath) -> Any:
        node = self.data
        for i, key in enumerate(key_path):
            nxt = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, list):
                if not isinstance(key, int) or not -len(node) <= key < len(node):
                    raise KeyError(f"no list item {key!r} at {list(key_path[:i])}")
                nxt = node[key]
            elif not isinstance(node, dict):
                raise TypeError(f"{list(key_path[:i])} is not a mapping or list")
            if nxt is None:
                nxt = CommentedMap()
                node[key] = nxt
            node = nxt
        return node

    # -- text and saving ---------------------------------------------------------------
    def text(self) -> str:
        """The document as it would be saved."""
        merged = merge_edit(self._original, self._base_dump, self._dump())
        return merged.replace("\n", "\r\n") if self._crlf else merged

    def is_modified(self) -> bool:
        return self._dump() != self._base_dump

    def save(self, path: Path | None = None) -> None:
        """Atomic save: a temporary file in the same folder, fsync, then os.replace."""
        target = Path(path) if path is not None else self.path
        data = self._encode(self.text())
        _atomic_write(target, data)
        self.path = target
        self._disk_bytes = data
        self.mtime_ns = target.stat().st_mtime_ns
        # The saved text is the new original: reload so later edits diff against it.
        text = data.decode("utf-8").removeprefix(_BOM)
        self._original = text.replace("\r\n", "\n") if self._crlf else text
        self._yaml = _configured_yaml(self._original)
        loaded = self._yaml.load(self._original)
        self.data = CommentedMap() if loaded is None else loaded
        self._base_dump = self._dump()

    def changed_on_disk(self) -> bool:
        """True when the file no longer holds what was loaded or last saved (or is gone)."""
        try:
            return self.path.read_bytes() != self._disk_bytes
        except OSError:
            return True

    def _dump(self) -> str:
        stream = io.StringIO()
        self._yaml.dump(self.data, stream)
        return stream.getvalue()

    def _encode(self, text: str) -> bytes:
        return ((_BOM if self._bom else "") + text).encode("utf-8")


def _configured_yaml(text: str) -> YAML:
    yaml = YAML(typ="rt")  # a fresh instance per document: ruamel keeps directives per instance
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold long lines
    mapping, sequence, offset = guess_indent(text)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.explicit_start = bool(re.match(r"(?:\s*#[^\n]*\n|\s*\n)*---", text))
    return yaml


def guess_indent(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) for ruamel's `indent()`, read off the file.

    `sequence` is the indent of a list item's content relative to its parent key and
    `offset` the dash's position in it: "key:\\n  - x" is (_, 4, 2), "key:\\n- x" is (_, 2, 0).
    """
    mapping: int | None = None
    dash: int | None = None
    content: int | None = None
    previous_key_indent: int | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if previous_key_indent is not None:
            if stripped.startswith("- ") and dash is None:
                dash = indent - previous_key_indent
                after = stripped[2:]
                content = dash + 2 + (len(after) - len(after.lstrip(" ")))
            elif not stripped.startswith("-") and mapping is None and indent > previous_key_indent:
                mapping = indent - previous_key_indent
        previous_key_indent = indent if re.match(r"^[^#'\"]*:\s*(#.*)?$", stripped) else None
        if mapping is not None and dash is not None:
            break
    mapping = mapping or 2
    if dash is None or content is None:
        return mapping, mapping + 2, mapping  # the common "  - item" style
    return mapping, max(content, dash + 2), dash


def _fresh(value: Any) -> Any:
    """Plain Python containers as round-trip containers, so they dump in block style."""
    if isinstance(value, Mapping):
        fresh = CommentedMap()
        for k, v in value.items():
            fresh[k] = _fresh(v)
        return fresh
    if isinstance(value, (list, tuple)):
        return CommentedSeq(_fresh(v) for v in value)
    return value


def _assign(parent: Any, key: Any, value: Any) -> None:
    current = parent[key] if _has(parent, key) else None
    if isinstance(current, CommentedMap) and isinstance(value, Mapping):
        for old in [k for k in current if k not in value]:
            del current[old]
        for k, v in value.items():
            _assign(current, k, v)
        return
    if isinstance(current, CommentedSeq) and isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            if i < len(current):
                _assign(current, i, v)
            else:
                current.append(_fresh(v))
        del current[len(value) :]
        return
    if _has(parent, key) and current == value and is_bool(current) == is_bool(value):
        return  # unchanged: keep the scalar's original form (quotes, hex, ...)
    if isinstance(current, ScalarString) and isinstance(value, str):
        value = type(current)(value)  # keep the user's quoting style
    parent[key] = _fresh(value)


def _has(parent: Any, key: Any) -> bool:
    if isinstance(parent, list):
        return isinstance(key, int) and -len(parent) <= key < len(parent)
    return key in parent


def _atomic_write(target: Path, data: bytes) -> None:
    folder = target.parent
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    # The rename is durable only once the directory entry is; Windows cannot open folders.
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
