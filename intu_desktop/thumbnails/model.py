"""Result types of the renderer: plain data the GUI turns into QImages at the edge."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Kinds of object a thumbnail can stand for; the GUI picks an icon per kind.
KINDS = ("image", "sr", "rtplan", "rtstruct", "waveform", "pdf", "video", "other")


@dataclass(frozen=True)
class Rendered:
    """A thumbnail, or a short description when the object has no pixels.

    ``pixels`` is H x W x 3 uint8 C-contiguous RGB, or None. ``error`` is a decode
    problem in words; a file without Pixel Data is not an error.
    """

    pixels: np.ndarray | None
    kind: str
    summary: str = ""
    error: str | None = None


@dataclass(frozen=True)
class WindowInfo:
    """What the detail viewer needs to start an interactive window/level.

    Values are in modality units (after Rescale Slope/Intercept or the Modality LUT,
    PS3.3 C.11.1) for grayscale images, and in sample units for color images.
    """

    center: float
    width: float
    default_center: float
    default_width: float
    frames: int
    photometric: str
    min: float
    max: float
    # Physical height/width of one pixel (PS3.3 C.7.6.3.1 Pixel Aspect Ratio or the
    # Pixel Spacing ratio); 1.0 for square pixels. The viewer may stretch by it.
    pixel_aspect: float = 1.0


class RenderError(Exception):
    """A frame could not be rendered; the message says why in words (no patient data)."""
