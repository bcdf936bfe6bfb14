"""Where an export's text goes: a caller's stream, or a file written atomically."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol, TextIO, cast


class TextSink(Protocol):
    def write(self, text: str, /) -> object: ...


class _Utf8Encoder:
    """Text onto a binary stream as UTF-8; the caller's stream stays open."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(text.encode("utf-8", errors="replace"))
        return len(text)


@contextlib.contextmanager
def open_sink(out: BinaryIO | TextIO | Path | str) -> Iterator[TextSink]:
    """Yield something to write text to.

    A path is written to a temporary file beside it, fsynced and renamed over it only when
    the body finishes: a cancelled or failed export leaves no partial file. A text stream
    should be opened with newline="" (CSV's CRLF otherwise doubles on Windows).
    """
    if isinstance(out, (str, os.PathLike)):
        with _atomic_text_file(Path(out)) as handle:
            yield handle
    elif isinstance(out, io.TextIOBase):
        yield out
        out.flush()
    else:
        yield _Utf8Encoder(cast(BinaryIO, out))
        out.flush()


@contextlib.contextmanager
def _atomic_text_file(path: Path) -> Iterator[TextIO]:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        # newline="" so csv's "\r\n" is written as is; a lone surrogate (undecodable
        # received bytes) becomes "?" rather than failing the whole export.
        with open(
            fd, "w", encoding="utf-8", errors="replace", newline="", buffering=1 << 16
        ) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
