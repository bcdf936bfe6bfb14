"""A data set as a plain tree of display rows (tag, name, VR, value), built off the GUI thread.

Bulk values (pixel data, other binary VRs, deferred elements) are shown by length and
never read, so opening a large multi-frame stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.datadict import dictionary_description, private_dictionary_description
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag, Tag

MAX_VALUE_CHARS = 200
_BINARY_VRS = {"OB", "OW", "OF", "OD", "OL", "OV", "UN", "OB or OW", "US or OW"}
# Values larger than this are read only if shown (pydicom's deferred read).
DEFER_SIZE = 64 * 1024


@dataclass
class TagNode:
    tag: str
    name: str
    vr: str
    value: str
    private: bool = False
    children: list[TagNode] = field(default_factory=list)
    parent: TagNode | None = field(default=None, repr=False)
    row: int = 0


def read_tag_tree(path: Path) -> TagNode:
    ds = pydicom.dcmread(path, defer_size=DEFER_SIZE, force=True)
    root = TagNode("", "", "", "")
    meta = getattr(ds, "file_meta", None)
    if meta is not None and len(meta):
        group = _add(root, TagNode("", "File Meta Information", "", f"{len(meta)} elements"))
        _fill(group, meta)
    _fill(root, ds)
    return root


def build_tag_tree(ds: Dataset) -> TagNode:
    root = TagNode("", "", "", "")
    _fill(root, ds)
    return root


def _add(parent: TagNode, child: TagNode) -> TagNode:
    child.parent = parent
    child.row = len(parent.children)
    parent.children.append(child)
    return child


def _fill(parent: TagNode, ds: Dataset) -> None:
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        _add_element(parent, ds, Tag(tag), raw)


def _add_element(
    parent: TagNode, ds: Dataset, tag: BaseTag, raw: DataElement | RawDataElement | None
) -> None:
    text_tag = f"({tag.group:04X},{tag.element:04X})"
    name = _name(ds, tag)
    if raw is None:
        return
    vr = str(raw.VR or "")
    if isinstance(raw, RawDataElement) and (raw.value is None or vr in _BINARY_VRS):
        _add(parent, TagNode(text_tag, name, vr, _bulk(raw.length), tag.is_private))
        return
    try:
        elem = ds[tag]
    except Exception as exc:  # a malformed element must not hide the rest of the data set
        _add(
            parent,
            TagNode(text_tag, name, vr, f"<cannot read: {type(exc).__name__}>", tag.is_private),
        )
        return
    vr = str(elem.VR or vr)
    if vr == "SQ":
        items = list(elem.value or [])
        node = _add(parent, TagNode(text_tag, name, vr, f"{len(items)} item(s)", tag.is_private))
        for i, item in enumerate(items, start=1):
            child = _add(node, TagNode("", f"Item {i}", "", f"{len(item)} elements"))
            _fill(child, item)
        return
    _add(parent, TagNode(text_tag, name, vr, _value(elem), tag.is_private))


def _name(ds: Dataset, tag: BaseTag) -> str:
    if tag.is_private:
        if tag.element < 0x0100:  # a private creator element (PS3.5 §7.8.1)
            return "Private Creator (private)"
        creator_tag = Tag(tag.group, tag.element >> 8)
        creator = ds.get_item(creator_tag)
        if creator is not None:
            try:
                value = ds[creator_tag].value
                return f"{private_dictionary_description(tag, str(value))} (private)"
            except Exception:  # noqa: S110 - not in pydicom's private dictionary: say so below
                pass
        return "Private tag (private)"
    try:
        return dictionary_description(tag)
    except KeyError:
        return "Unknown tag"


def _bulk(length: int | None) -> str:
    return f"<{length} bytes>" if length and length != 0xFFFFFFFF else "<binary data>"


def _value(elem: DataElement) -> str:
    value = elem.value
    if isinstance(value, (bytes, bytearray)):
        return _bulk(len(value))
    if str(elem.VR) in _BINARY_VRS:
        return _bulk(getattr(elem, "length", None) or None)
    if elem.VM > 1 and not isinstance(value, str):
        text = "\\".join(str(v) for v in value)
    else:
        text = str(value) if value is not None else ""
    text = text.replace("\r", " ").replace("\n", " ")
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"
