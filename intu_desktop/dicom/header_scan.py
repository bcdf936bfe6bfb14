"""A fast scan of a Part 10 file's data set for a few wanted top-level tags (issue 9).

`pydicom.dcmread(..., specific_tags=...)` still builds every element it passes through,
which made the header read the largest single cost of a received object. This scanner
walks the little-endian encodings (explicit and implicit VR, which includes every
compressed transfer syntax) over the first bytes of the file up to the pixel data, as
`dcmread(stop_before_pixels=True)` does, checking every length and walking into every
sequence, and keeps only the wanted top-level elements as pydicom `RawDataElement`s.
Values are converted by pydicom itself, exactly as `dcmread` would.

Anything unusual (deflate, big endian, a length that does not add up, a header longer
than the bytes read, an unknown explicit VR, sequences nested deeper than MAX_DEPTH)
returns None and the caller reads the file with pydicom, which either parses it or
raises the precise error: the scanner never accepts a data set pydicom would refuse
for its structure (tests/reliability/test_rel_dataset.py sends 2,000 nested sequences).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from struct import Struct, unpack_from
from struct import error as struct_error

from pydicom.datadict import DicomDictionary
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

_IMPLICIT_LE = "1.2.840.10008.1.2"
_BIG_ENDIAN = "1.2.840.10008.1.2.2"
_DEFLATED = ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1")
# PS3.5 7.1.2: explicit VRs with a 2-byte reserved field and a 4-byte length.
_LONG_VRS = frozenset((b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"))
_SHORT_VRS = frozenset((b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT",
                        b"PN", b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US"))
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_IMPLICIT_HEAD = Struct("<HHL")  # group, element, 4-byte length
_EXPLICIT_HEAD = Struct("<HH2sH")  # group, element, VR, 2-byte length (short VRs)
HEAD_BYTES = 256 * 1024  # what is read; a header needing more goes to pydicom
MAX_DEPTH = 32  # deeper nesting goes to pydicom, which decides (and refuses 2,000 levels)
_PIXELS = 0x7FE00000  # (7FE0,xxxx): where stop_before_pixels stops
# In implicit VR a defined-length element is a sequence when the dictionary says so.
_SEQUENCE_TAGS = frozenset(tag for tag, entry in DicomDictionary.items() if entry[0] == "SQ")


class _Unsupported(Exception):
    """This scanner does not handle the encoding here: let pydicom read the file."""


def _at_end(pos: int, end: int | None) -> bool:
    """Whether a defined-length sequence or item is complete at pos (never overrun)."""
    if end is None or pos < end:
        return False
    if pos != end:
        raise _Unsupported("contents overrun their declared length")
    return True


class HeaderScanner:
    def __init__(self, tags: Iterable[int]) -> None:
        self.wanted = frozenset(int(Tag(t)) for t in tags)

    def read(self, path: Path) -> Dataset | None:
        """The wanted elements of the file's data set, or None to fall back to pydicom."""
        found = self.read_elements(path)
        return Dataset(found) if found is not None else None

    def read_elements(self, path: Path, head: bytes | None = None) -> dict[int, RawDataElement] | None:
        """The wanted elements, unconverted, by tag; None to fall back to pydicom.

        `head`: the file's first HEAD_BYTES (all of it if shorter), when the caller has them
        already (a received object: transport.ChunkFile.head)."""
        if head is None:
            with open(path, "rb") as fh:
                head = fh.read(HEAD_BYTES)
        try:
            return self._scan_file(head)
        except (_Unsupported, IndexError, ValueError, UnicodeDecodeError, struct_error):
            return None

    def _scan_file(self, buf: bytes) -> dict[int, RawDataElement] | None:
        if len(buf) < 132 or buf[128:132] != b"DICM":
            return None
        pos, syntax = self._file_meta(buf, 132)
        if syntax == _IMPLICIT_LE:
            implicit = True
        elif syntax in _DEFLATED or syntax == _BIG_ENDIAN or not syntax:
            return None
        else:
            implicit = False  # explicit VR little endian, native or encapsulated
        found: dict[int, RawDataElement] = {}
        end = len(buf)
        wanted = self.wanted
        # _element_header and _is_sequence inlined for the common elements: a CT header has
        # a few hundred, and the calls were a fifth of the scan (issue 9).
        unpack_implicit, unpack_explicit = _IMPLICIT_HEAD.unpack_from, _EXPLICIT_HEAD.unpack_from
        while pos < end:
            if implicit:
                if end - pos < 8:
                    raise _Unsupported("truncated element header")
                group, elem, length = unpack_implicit(buf, pos)
                tag, vr, start = (group << 16) | elem, b"", pos + 8
                sequence = length == _UNDEFINED or tag in _SEQUENCE_TAGS
            else:
                if end - pos < 8:
                    raise _Unsupported("truncated element header")
                group, elem, vr, length = unpack_explicit(buf, pos)
                if vr in _SHORT_VRS:
                    tag, start = (group << 16) | elem, pos + 8
                else:  # long VRs, delimiters and the unknown
                    tag, vr, length, start = self._element_header(buf, pos, False)
                sequence = length == _UNDEFINED or vr == b"SQ"
            if tag >= _PIXELS:
                return found
            if sequence:
                if tag in wanted:
                    raise _Unsupported("a wanted element is a sequence")
                pos = self._sequence(buf, start, length, implicit or vr == b"UN", 1)
                continue
            if start + length > end:
                raise _Unsupported("the header continues beyond the bytes read")
            if tag in wanted:
                found[tag] = RawDataElement(Tag(tag), None if implicit else vr.decode("ascii"), length,
                                            buf[start:start + length], start, implicit, True)
            pos = start + length
        if len(buf) == HEAD_BYTES:
            raise _Unsupported("the header continues beyond the bytes read")
        return found  # no pixel data: the data set ends with the file

    @staticmethod
    def _file_meta(buf: bytes, pos: int) -> tuple[int, str]:
        """Skip the File Meta group (always explicit VR little endian); return its TS UID."""
        syntax = ""
        while pos + 8 <= len(buf) and unpack_from("<H", buf, pos)[0] == 0x0002:
            tag, _vr, length, start = HeaderScanner._element_header(buf, pos, False)
            if length == _UNDEFINED or start + length > len(buf):
                raise _Unsupported("file meta element length")
            if tag == 0x00020010:
                syntax = buf[start:start + length].decode("ascii").rstrip("\x00 ")
            pos = start + length
        return pos, syntax

    @staticmethod
    def _element_header(buf: bytes, pos: int, implicit: bool) -> tuple[int, bytes, int, int]:
        """(tag, VR, value length, value position) of the element at pos."""
        if len(buf) - pos < 8:
            raise _Unsupported("truncated element header")
        if implicit:
            group, elem, length = _IMPLICIT_HEAD.unpack_from(buf, pos)
            return (group << 16) | elem, b"", length, pos + 8
        group, elem, vr, length = _EXPLICIT_HEAD.unpack_from(buf, pos)
        if vr in _SHORT_VRS:
            return (group << 16) | elem, vr, length, pos + 8
        if (group, elem) == (0xFFFE, 0xE00D):  # item delimiter: no VR, 4-byte length
            return 0xFFFEE00D, b"", unpack_from("<L", buf, pos + 4)[0], pos + 8
        if vr in _LONG_VRS:
            return (group << 16) | elem, vr, unpack_from("<L", buf, pos + 8)[0], pos + 12
        raise _Unsupported(f"explicit VR {vr!r}")  # pydicom knows odd encoders' tricks

    @staticmethod
    def _is_sequence(tag: int, vr: bytes, length: int, implicit: bool) -> bool:
        if length == _UNDEFINED:
            return True  # SQ, or UN holding one (PS3.5 6.2.2)
        return vr == b"SQ" or (implicit and tag in _SEQUENCE_TAGS)

    def _sequence(self, buf: bytes, pos: int, length: int, implicit: bool, depth: int) -> int:
        """Walk a sequence's items; return the position after the sequence."""
        if depth > MAX_DEPTH:
            raise _Unsupported("sequences nested too deep")
        end = None if length == _UNDEFINED else pos + length
        while True:
            if _at_end(pos, end):
                return pos
            if len(buf) - pos < 8:
                raise _Unsupported("sequence continues beyond the bytes read")
            tag = (unpack_from("<H", buf, pos)[0] << 16) | unpack_from("<H", buf, pos + 2)[0]
            item_length = unpack_from("<L", buf, pos + 4)[0]
            pos += 8
            if tag == _SEQ_END and end is None:
                return pos
            if tag != _ITEM:
                raise _Unsupported("unexpected tag inside a sequence")
            pos = self._item(buf, pos, item_length, implicit, depth)

    def _item(self, buf: bytes, pos: int, length: int, implicit: bool, depth: int) -> int:
        """Walk an item's elements; return the position after the item."""
        end = None if length == _UNDEFINED else pos + length
        while True:
            if _at_end(pos, end):
                return pos
            tag, vr, value_length, start = self._element_header(buf, pos, implicit)
            if tag == _ITEM_END and end is None:
                return start
            if self._is_sequence(tag, vr, value_length, implicit):
                pos = self._sequence(buf, start, value_length, implicit or vr == b"UN", depth + 1)
            else:
                pos = start + value_length
                if pos > len(buf):
                    raise _Unsupported("item continues beyond the bytes read")
