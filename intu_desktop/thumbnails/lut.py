"""Modality and VOI lookup tables (PS3.3 C.11.1, C.11.2)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset


@dataclass(frozen=True)
class Lut:
    first_mapped: int
    table: np.ndarray  # float32, one entry per input value from first_mapped on

    def apply(self, values: np.ndarray) -> np.ndarray:
        # Inputs below the first mapped value take the first entry, inputs past the
        # end take the last (PS3.3 C.11.1.1.1).
        index = np.rint(values.astype(np.float64, copy=False)) - self.first_mapped
        np.clip(index, 0, len(self.table) - 1, out=index)
        return self.table[index.astype(np.intp)]

    @property
    def output_range(self) -> tuple[float, float]:
        return float(self.table.min()), float(self.table.max())


def read_lut(item: Dataset, ds: Dataset, signed: bool) -> Lut:
    """Parse LUT Descriptor + LUT Data of one Modality/VOI LUT Sequence item."""
    descriptor = [int(v) for v in item.LUTDescriptor]
    entries = descriptor[0] or 65536  # 0 means 2^16 entries
    first = descriptor[1]
    # The first mapped value is US or SS as the image's Pixel Representation says;
    # implicit VR files hand it to us unsigned.
    if signed and first >= 32768:
        first -= 65536
    data = item.LUTData
    if isinstance(data, (bytes, bytearray)):
        if len(data) == entries:  # 8-bit entries packed one per byte
            table = np.frombuffer(data, dtype=np.uint8)
        else:
            little = _is_little_endian(ds)
            table = np.frombuffer(data[: len(data) // 2 * 2], dtype="<u2" if little else ">u2")
    else:
        values = [data] if isinstance(data, (int, float)) else list(data or [])
        table = np.asarray(values, dtype=np.float64)
    table = np.asarray(table[:entries], dtype=np.float32)
    if table.size == 0:
        raise ValueError("empty LUT Data")
    return Lut(first_mapped=first, table=table)


def _is_little_endian(ds: Dataset) -> bool:
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    if ts is not None:
        return bool(ts.is_little_endian)
    return getattr(ds, "original_encoding", (None, True))[1] is not False
