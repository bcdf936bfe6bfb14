"""The display-relevant attributes of one frame, gathered from a data set.

Enhanced multi-frame objects keep rescale and window values in functional groups
(PS3.3 C.7.6.16: Per-Frame overrides Shared); classic objects keep them at the top
level. `frame_params` hides that difference from the pixel pipeline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels.utils import get_nr_frames

from intu_desktop.thumbnails.lut import Lut, read_lut

VOI_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")  # PS3.3 C.11.2.1.3


@dataclass(frozen=True)
class FrameParams:
    photometric: str
    frames: int
    bits_stored: int
    signed: bool
    slope: float | None = None
    intercept: float | None = None
    modality_lut: Lut | None = None
    window: tuple[float, float] | None = None
    voi_function: str = "LINEAR"
    voi_lut: Lut | None = None
    padding: tuple[float, float] | None = None
    pixel_aspect: float = 1.0


def frame_params(ds: Dataset, index: int) -> FrameParams:
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    slope = _number(_grouped(ds, index, "PixelValueTransformationSequence", "RescaleSlope"))
    intercept = _number(_grouped(ds, index, "PixelValueTransformationSequence", "RescaleIntercept"))
    if slope is None or intercept is None or slope == 0:
        slope = intercept = None
    function = str(_grouped(ds, index, "FrameVOILUTSequence", "VOILUTFunction") or "LINEAR")
    return FrameParams(
        photometric=str(ds.get("PhotometricInterpretation", "") or "MONOCHROME2").strip(),
        frames=_frames(ds),
        bits_stored=int(ds.get("BitsStored", 0) or ds.get("BitsAllocated", 8) or 8),
        signed=signed,
        slope=slope,
        intercept=intercept,
        modality_lut=_first_lut(ds, "ModalityLUTSequence", signed),
        window=_window(
            _grouped(ds, index, "FrameVOILUTSequence", "WindowCenter"),
            _grouped(ds, index, "FrameVOILUTSequence", "WindowWidth"),
            function,
        ),
        voi_function=function if function in VOI_FUNCTIONS else "LINEAR",
        voi_lut=_first_lut(ds, "VOILUTSequence", signed),
        padding=_padding(ds, signed),
        pixel_aspect=_pixel_aspect(ds, index),
    )


def _frames(ds: Dataset) -> int:
    try:
        return max(1, int(get_nr_frames(ds, warn=False)))
    except (TypeError, ValueError):
        return 1  # an unparseable Number of Frames: show the first


def _grouped(ds: Dataset, index: int, sequence: str, keyword: str) -> Any:
    """A value from the frame's functional group, else the shared group, else the top level."""
    for groups, item_index in (
        ("PerFrameFunctionalGroupsSequence", index),
        ("SharedFunctionalGroupsSequence", 0),
    ):
        items = ds.get(groups)
        if not items or item_index >= len(items):
            continue
        inner = items[item_index].get(sequence)
        if inner and keyword in inner[0]:
            return inner[0].get(keyword)
    return ds.get(keyword)


def _first(value: Any) -> Any:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        return value
    return value[0] if len(value) else None


def _number(value: Any) -> float | None:
    try:
        number = float(_first(value))
    except (TypeError, ValueError, IndexError):
        return None
    return number if math.isfinite(number) else None


def _window(center: Any, width: Any, function: str) -> tuple[float, float] | None:
    # Multi-valued Window Center/Width are alternative views; the first is the
    # default (PS3.3 C.11.2.1.2).
    c, w = _number(center), _number(width)
    if c is None or w is None:
        return None
    # LINEAR needs width >= 1, the others width > 0 (PS3.3 C.11.2.1.2.1, C.11.2.1.3.1)
    if w <= 0 or (function not in ("LINEAR_EXACT", "SIGMOID") and w < 1):
        return None
    return c, w


def _first_lut(ds: Dataset, keyword: str, signed: bool) -> Lut | None:
    items = ds.get(keyword)
    if not items:
        return None
    try:
        return read_lut(items[0], ds, signed)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        return None  # a malformed LUT is ignored; the next VOI step takes over


def _padding(ds: Dataset, signed: bool) -> tuple[float, float] | None:
    # Pixel Padding Value (and Range Limit) mark stored values outside the scanned
    # area (PS3.3 C.7.5.1.1.2); they must not drag the automatic window.
    value = _stored(_number(ds.get("PixelPaddingValue")), signed)
    if value is None:
        return None
    limit = _stored(_number(ds.get("PixelPaddingRangeLimit")), signed)
    if limit is None:
        return value, value
    return min(value, limit), max(value, limit)


def _stored(value: float | None, signed: bool) -> float | None:
    # US or SS as Pixel Representation says; implicit VR files hand it over unsigned.
    if value is not None and signed and value >= 32768:
        return value - 65536
    return value


def _pixel_aspect(ds: Dataset, index: int) -> float:
    """Physical height / width of a pixel, 1.0 when unknown or square."""
    ratio = ds.get("PixelAspectRatio")  # PS3.3 C.7.6.3.1.7: vertical \ horizontal
    spacing = _grouped(ds, index, "PixelMeasuresSequence", "PixelSpacing") or ds.get(
        "ImagerPixelSpacing"
    )
    aspect = 1.0
    try:
        if ratio is not None and len(ratio) == 2 and float(ratio[1]) > 0:
            aspect = float(ratio[0]) / float(ratio[1])
        elif spacing is not None and len(spacing) == 2 and float(spacing[1]) > 0:
            aspect = float(spacing[0]) / float(spacing[1])  # row spacing \ column spacing
    except (TypeError, ValueError):
        return 1.0
    if not math.isfinite(aspect) or not 0.1 <= aspect <= 10 or abs(aspect - 1) < 0.01:
        return 1.0
    return aspect


def padding_mask(raw: np.ndarray, padding: tuple[float, float] | None) -> np.ndarray | None:
    """True where a stored value is padding; None when nothing is."""
    if padding is None:
        return None
    low, high = padding
    mask = (raw >= low) & (raw <= high)
    return mask if mask.any() else None
