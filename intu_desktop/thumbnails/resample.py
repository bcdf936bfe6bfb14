"""Resizing with numpy only: integer decimation, then area averaging."""

from __future__ import annotations

import numpy as np


def fit(rows: int, columns: int, size: int, pixel_aspect: float = 1.0) -> tuple[int, int]:
    """Output (height, width) whose longest side is `size`, keeping the physical aspect."""
    height = rows * pixel_aspect
    width = float(columns)
    if height >= width:
        return size, max(1, min(size, round(width * size / height)))
    return max(1, min(size, round(height * size / width))), size


def decimate(frame: np.ndarray, longest: int) -> np.ndarray:
    """Keep every k-th pixel so the frame is still at least 2x `longest`.

    Cheap and exact on stored values (LUTs still apply); the area average that
    follows removes most of the aliasing.
    """
    step = max(1, max(frame.shape[0], frame.shape[1]) // (2 * longest))
    return frame[::step, ::step] if step > 1 else frame


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-average down, nearest-neighbour up, per axis (float input, float out)."""
    image = _axis(image, height, 0)
    return _axis(image, width, 1)


def _axis(image: np.ndarray, target: int, axis: int) -> np.ndarray:
    source = image.shape[axis]
    if source == target:
        return image
    starts = (np.arange(target, dtype=np.int64) * source) // target
    # reduceat sums [starts[i], starts[i+1]); a repeated start (upscaling) yields
    # the single element at that start, i.e. nearest neighbour.
    sums = np.add.reduceat(image, starts, axis=axis)
    counts = np.diff(np.append(starts, source))
    counts[counts < 1] = 1
    shape = [1] * image.ndim
    shape[axis] = target
    return sums / counts.reshape(shape).astype(image.dtype)


def to_rgb8(unit: np.ndarray) -> np.ndarray:
    """0..1 float gray (H x W) or color (H x W x 3) to C-contiguous H x W x 3 uint8."""
    clipped = np.clip(unit, 0.0, 1.0)
    np.nan_to_num(clipped, copy=False, nan=0.0)  # float pixel data may hold NaN
    scaled = np.rint(clipped * 255.0).astype(np.uint8)
    if scaled.ndim == 2:
        scaled = np.repeat(scaled[:, :, None], 3, axis=2)
    return np.ascontiguousarray(scaled)
