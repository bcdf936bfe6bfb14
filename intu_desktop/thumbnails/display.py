"""From decoded stored values to display brightness (0..1), grayscale and color.

Grayscale follows the pipeline of PS3.4 N.2: Modality LUT (C.11.1), VOI LUT or window
(C.11.2), then MONOCHROME1 inversion (C.7.6.3.1.2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_color_lut

from intu_desktop.thumbnails.params import FrameParams, padding_mask
from intu_desktop.thumbnails.window import apply_window, auto_window, value_range


@dataclass(frozen=True)
class Displayed:
    unit: np.ndarray  # float32 0..1, H x W (gray) or H x W x 3 (color)
    center: float
    width: float
    default_center: float
    default_width: float
    min: float
    max: float


def to_display(
    raw: np.ndarray,
    params: FrameParams,
    header: Dataset,
    window: tuple[float, float] | None = None,
) -> Displayed:
    if params.photometric == "PALETTE COLOR" and raw.ndim == 2:
        return _palette(raw, header, window)
    if raw.ndim == 3:
        return _color(raw, params, window)
    return _grayscale(raw, params, window)


def modality_values(raw: np.ndarray, params: FrameParams) -> np.ndarray:
    if params.modality_lut is not None:
        return params.modality_lut.apply(raw)
    if params.slope is not None and params.intercept is not None:
        values = raw.astype(np.float32)
        values *= np.float32(params.slope)
        values += np.float32(params.intercept)
        return values
    return raw.astype(np.float32)


def _grayscale(
    raw: np.ndarray, params: FrameParams, window: tuple[float, float] | None
) -> Displayed:
    values = modality_values(raw, params)
    padding = padding_mask(raw, params.padding)
    low, high = value_range(values)
    auto_center, auto_width = auto_window(values, padding)

    if params.window is not None:
        default_center, default_width = params.window
    elif params.voi_lut is not None:
        # Report the LUT's input span so the viewer's drag starts somewhere sensible.
        lut = params.voi_lut
        default_center = lut.first_mapped + len(lut.table) / 2
        default_width = float(len(lut.table))
    else:
        default_center, default_width = auto_center, auto_width

    if window is not None:
        center, width = window
        unit = apply_window(values, center, max(width, 1e-6), params.voi_function)
    elif params.window is not None:
        center, width = params.window
        unit = apply_window(values, center, width, params.voi_function)
    elif params.voi_lut is not None:
        center, width = default_center, default_width
        unit = _normalise(params.voi_lut.apply(values), *params.voi_lut.output_range)
    else:
        center, width = auto_center, auto_width
        unit = apply_window(values, center, width, "LINEAR_EXACT")

    if params.photometric == "MONOCHROME1":
        unit = 1.0 - unit  # minimum value is white (PS3.3 C.7.6.3.1.2)
    return Displayed(unit, center, width, default_center, default_width, low, high)


def _color(rgb: np.ndarray, params: FrameParams, window: tuple[float, float] | None) -> Displayed:
    # pydicom has already turned YBR_FULL/_422/ICT/RCT into RGB while decoding.
    if rgb.shape[2] > 3:
        rgb = rgb[:, :, :3]
    elif rgb.shape[2] < 3:
        rgb = np.repeat(rgb[:, :, :1], 3, axis=2)
    top = float(2 ** min(max(params.bits_stored, 1), 32) - 1)
    return _scaled(rgb, top, window)


def _palette(indices: np.ndarray, header: Dataset, window: tuple[float, float] | None) -> Displayed:
    rgb = apply_color_lut(indices, header)[..., :3]  # drops an alpha channel if any
    # 16-bit palettes that only use 0..255 exist in the wild; judge by the data.
    top = 255.0 if rgb.dtype == np.uint8 or int(rgb.max(initial=0)) <= 255 else 65535.0
    return _scaled(rgb, top, window)


def _scaled(rgb: np.ndarray, top: float, window: tuple[float, float] | None) -> Displayed:
    values = rgb.astype(np.float32)
    low, high = value_range(values)
    default_center, default_width = top / 2, top
    if window is None:
        unit = _normalise(values, 0.0, top)
        center, width = default_center, default_width
    else:
        center, width = window
        unit = apply_window(values, center, max(width, 1e-6), "LINEAR_EXACT")
    return Displayed(unit, center, width, default_center, default_width, low, high)


def _normalise(values: np.ndarray, low: float, high: float) -> np.ndarray:
    span = high - low
    if span <= 0:
        return np.zeros(values.shape, dtype=np.float32)
    out = (values.astype(np.float32) - np.float32(low)) / np.float32(span)
    np.clip(out, 0.0, 1.0, out=out)
    return out
