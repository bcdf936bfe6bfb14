"""VOI windowing: the mapping from modality values to display brightness 0..1."""

from __future__ import annotations

import numpy as np

# Percentiles for the automatic window when the file has none: ignores the few
# hottest and coldest pixels (markers, padding, noise) that would flatten contrast.
AUTO_LOW, AUTO_HIGH = 0.5, 99.5
# Statistics come from a strided sample; a quarter-million values is plenty.
SAMPLE_LIMIT = 1 << 18


def apply_window(values: np.ndarray, center: float, width: float, function: str) -> np.ndarray:
    """Map values to 0..1 with the VOI LUT Function of PS3.3 C.11.2.1.2 / C.11.2.1.3."""
    x = values.astype(np.float32, copy=False)
    if function == "SIGMOID":
        with np.errstate(over="ignore"):
            out = 1.0 / (1.0 + np.exp(np.float32(-4.0 / width) * (x - np.float32(center))))
        return out.astype(np.float32, copy=False)
    if function == "LINEAR_EXACT":
        out = (x - np.float32(center)) / np.float32(width) + np.float32(0.5)
    elif width <= 1:
        # Width 1 is a threshold at the center (PS3.3 C.11.2.1.2.1).
        out = (x > np.float32(center - 0.5)).astype(np.float32)
    else:
        out = (x - np.float32(center - 0.5)) / np.float32(width - 1) + np.float32(0.5)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def sample(values: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
    """A strided subset of the values, without excluded (padding) pixels."""
    flat = values.reshape(-1)
    if exclude is not None:
        flat = flat[~exclude.reshape(-1)]
    step = max(1, flat.size // SAMPLE_LIMIT)
    return flat[::step]


def auto_window(values: np.ndarray, exclude: np.ndarray | None = None) -> tuple[float, float]:
    """A robust (center, width) from the frame's own histogram, LINEAR_EXACT semantics."""
    data = sample(values, exclude)
    data = data[np.isfinite(data)] if data.dtype.kind == "f" else data
    if data.size == 0:
        return 0.5, 1.0
    low, high = (float(v) for v in np.percentile(data, [AUTO_LOW, AUTO_HIGH]))
    if high <= low:
        low, high = float(data.min()), float(data.max())
    if high <= low:
        return low, 1.0
    return (low + high) / 2, high - low


def value_range(values: np.ndarray) -> tuple[float, float]:
    data = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    if data.size == 0:
        return 0.0, 0.0
    return float(data.min()), float(data.max())
