"""Decoding one frame through pydicom's pixel backends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder, pixel_array
from pydicom.uid import DeflatedExplicitVRLittleEndian

from intu_desktop.thumbnails.header import PIXEL_DATA_TAGS, transfer_syntax
from intu_desktop.thumbnails.model import RenderError


def decode_frame(source: Path | Dataset, header: Dataset, index: int) -> np.ndarray:
    """Stored values of frame `index`: (rows, cols) or (rows, cols, samples).

    From a path only that frame is read and decoded (pydicom 3 seeks to it), which
    keeps a 300 MB multi-frame cheap. YBR photometrics come back as RGB.
    """
    ts = transfer_syntax(header)
    try:
        decoder = get_decoder(ts)
    except NotImplementedError:
        raise RenderError(f"cannot decode {ts.name}: no decoder installed") from None
    if not decoder.is_available:
        raise RenderError(f"cannot decode {ts.name}: no decoder installed")
    try:
        if isinstance(source, Dataset):
            return pixel_array(source, index=index)
        if ts == DeflatedExplicitVRLittleEndian:
            # The whole data set is one zlib stream (PS3.5 A.5): no seeking to a
            # frame, so inflate it all; such files are rare and small.
            return pixel_array(dcmread(source), index=index)
        return pixel_array(source, index=index, transfer_syntax_uid=ts)
    except (MemoryError, RecursionError):
        raise
    except Exception as exc:  # backends raise anything from ValueError to RuntimeError
        raise RenderError(f"cannot decode {ts.name}: {_first_line(exc)}") from exc


def pixel_source(ds: Dataset) -> Path | Dataset:
    """Decode from memory if the data set holds its pixels, else from its file."""
    for tag in PIXEL_DATA_TAGS:
        elem = ds.get_item(tag)
        if elem is None:
            continue
        if isinstance(elem, RawDataElement) and elem.value is None:
            break  # deferred: read just the frame from the file
        return ds
    filename = getattr(ds, "filename", None)
    if isinstance(filename, (str, Path)) and Path(filename).is_file():
        return Path(filename)
    raise RenderError("the data set has no pixel data")


def _first_line(exc: BaseException) -> str:
    # pydicom lists per-plugin reasons on the following lines; keep them, briefly.
    line = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    line = line or type(exc).__name__
    return line if len(line) <= 240 else line[:237] + "..."
