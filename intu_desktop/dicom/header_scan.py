"""A fast scan of a Part 10 file's top-level elements for a few wanted tags (issue 9).

`pydicom.dcmread(..., specific_tags=...)` still builds every element it passes through,
which made the header read the largest single cost of a received object. This scanner
walks the little-endian encodings (explicit and implicit VR, which includes every
compressed transfer syntax) over the first bytes of the file, keeps only the wanted
elements as pydicom `RawDataElement`s and stops after the highest wanted tag. Values are
converted by pydicom itself, exactly as `dcmread` would.

Anything unusual (deflate, big endian, a malformed length, a wanted tag beyond the bytes
read, an unknown explicit VR) returns None and the caller reads the file with pydicom,
which either parses it or raises the precise error.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from struct import Struct, unpack_from

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

_EXPLICIT_LE = "1.2.840.10008.1.2.1"
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


class _Unsupported(Exception):
    """This scanner does not handle the encoding here: let pydicom read the file."""


class HeaderScanner:
    def __init__(self, tags: Iterable[int]) -> None:
        self.wanted = frozenset(int(Tag(t)) for t in tags)
        self.last = max(self.wanted)

    def read(self, path: Path) -> Dataset | None:
        """The wanted elements of the file's data set, or None to fall back to pydicom."""
        with open(path, "rb") as fh:
            buf = fh.read(HEAD_BYTES)
            whole = len(buf) < HEAD_BYTES or not fh.read(1)
        try:
            return self._scan_file(buf, whole)
        except (_Unsupported, IndexError, ValueError, UnicodeDecodeError):
            return None

    def _scan_file(self, buf: bytes, whole: bool) -> Dataset | None:
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
        wanted, last = self.wanted, self.last
        while pos < end:
            if end - pos < 8:
                raise _Unsupported("truncated element header")
            if implicit:
                group, elem, length = _IMPLICIT_HEAD.unpack_from(buf, pos)
                vr, start = b"", pos + 8
            else:
                group, elem, vr, length = _EXPLICIT_HEAD.unpack_from(buf, pos)
                if vr in _SHORT_VRS:
                    start = pos + 8
                elif vr in _LONG_VRS:
                    length, start = unpack_from("<L", buf, pos + 8)[0], pos + 12
                else:
                    raise _Unsupported(f"explicit VR {vr!r}")  # pydicom knows odd encoders' tricks
            tag = (group << 16) | elem
            if tag > last:
                return self._dataset(found)
            if length == _UNDEFINED:
                if tag in wanted:
                    raise _Unsupported("a wanted element of undefined length")
                pos = self._skip_undefined(buf, start, implicit or vr == b"UN")
                continue
            if tag in wanted:
                if start + length > end:
                    raise _Unsupported("a wanted value beyond the bytes read")
                found[tag] = RawDataElement(Tag(tag), None if implicit else vr.decode("ascii"), length,
                                            bytes(buf[start:start + length]), start, implicit, True)
            pos = start + length
        if not whole:
            raise _Unsupported("the header continues beyond the bytes read")
        return self._dataset(found)

    @staticmethod
    def _dataset(found: dict[int, RawDataElement]) -> Dataset:
        return Dataset(found)

    @staticmethod
    def _file_meta(buf: bytes, pos: int) -> tuple[int, str]:
        """Skip the File Meta group (always explicit VR little endian); return its TS UID."""
        syntax = ""
        while pos + 8 <= len(buf) and unpack_from("<H", buf, pos)[0] == 0x0002:
            elem = unpack_from("<H", buf, pos + 2)[0]
            vr = bytes(buf[pos + 4:pos + 6])
            if vr in _LONG_VRS:
                length, header = unpack_from("<L", buf, pos + 8)[0], 12
            elif vr in _SHORT_VRS:
                length, header = unpack_from("<H", buf, pos + 6)[0], 8
            else:
                raise _Unsupported("file meta element with an unknown VR")
            if length == _UNDEFINED or pos + header + length > len(buf):
                raise _Unsupported("file meta element length")
            if elem == 0x0010:
                syntax = bytes(buf[pos + header:pos + header + length]).decode("ascii").rstrip("\x00 ")
            pos += header + length
        return pos, syntax

    @staticmethod
    def _element_header(buf: bytes, pos: int, implicit: bool) -> tuple[bytes, int, int]:
        if implicit:
            return b"", unpack_from("<L", buf, pos + 4)[0], 8
        vr = bytes(buf[pos + 4:pos + 6])
        if vr in _SHORT_VRS:
            return vr, unpack_from("<H", buf, pos + 6)[0], 8
        if vr in _LONG_VRS:
            return vr, unpack_from("<L", buf, pos + 8)[0], 12
        raise _Unsupported(f"explicit VR {vr!r}")  # pydicom knows the odd encoders' tricks

    def _skip_undefined(self, buf: bytes, pos: int, implicit: bool) -> int:
        """Skip a sequence (or UN) of undefined length; return the position after it."""
        end = len(buf)
        while True:
            if pos + 8 > end:
                raise _Unsupported("sequence continues beyond the bytes read")
            tag = (unpack_from("<H", buf, pos)[0] << 16) | unpack_from("<H", buf, pos + 2)[0]
            length = unpack_from("<L", buf, pos + 4)[0]
            pos += 8
            if tag == _SEQ_END:
                return pos
            if tag != _ITEM:
                raise _Unsupported("unexpected tag inside a sequence")
            if length != _UNDEFINED:
                pos += length
                continue
            pos = self._skip_item(buf, pos, implicit)

    def _skip_item(self, buf: bytes, pos: int, implicit: bool) -> int:
        end = len(buf)
        while True:
            if pos + 8 > end:
                raise _Unsupported("item continues beyond the bytes read")
            tag = (unpack_from("<H", buf, pos)[0] << 16) | unpack_from("<H", buf, pos + 2)[0]
            if tag == _ITEM_END:
                return pos + 8
            vr, length, header = self._element_header(buf, pos, implicit)
            pos += header
            if length == _UNDEFINED:
                pos = self._skip_undefined(buf, pos, implicit or vr == b"UN")
            else:
                pos += length
