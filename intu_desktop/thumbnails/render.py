"""Entry points: thumbnails for the instance grid, full frames for the viewer.

Runs on worker threads; no Qt here (the GUI wraps the arrays in QImages).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from intu_desktop.thumbnails.decode import decode_frame, pixel_source
from intu_desktop.thumbnails.describe import describe
from intu_desktop.thumbnails.display import to_display
from intu_desktop.thumbnails.header import has_pixel_data, read_header
from intu_desktop.thumbnails.model import Rendered, RenderError, WindowInfo
from intu_desktop.thumbnails.params import frame_params
from intu_desktop.thumbnails.resample import decimate, fit, resize, to_rgb8

log = logging.getLogger(__name__)


def render_thumbnail(path: Path, size: int = 128) -> Rendered:
    """A thumbnail of the middle frame, or a summary for objects without pixels.

    Never raises: problems come back in `Rendered.error`, in words.
    """
    size = max(1, int(size))
    try:
        header = read_header(Path(path))
    except Exception as exc:  # noqa: BLE001 -- pydicom raises many types on malformed files
        return Rendered(None, "other", "", f"cannot read file: {_reason(exc)}")
    try:
        kind, summary = describe(header)
    except Exception as exc:  # noqa: BLE001 -- odd attribute values must not stop the grid
        _log_failure("describing", header, exc)
        return Rendered(None, "other", "", f"cannot read attributes: {_reason(exc)}")
    if kind != "image":
        return Rendered(None, kind, summary, None)
    try:
        pixels = _thumbnail_pixels(Path(path), header, size)
    except RenderError as exc:
        return Rendered(None, kind, summary, str(exc))
    except Exception as exc:  # noqa: BLE001 -- a bug or a hostile file: the grid goes on
        _log_failure("thumbnail of", header, exc)
        return Rendered(None, kind, summary, f"cannot render: {_reason(exc)}")
    return Rendered(pixels, kind, summary, None)


def render_frame(
    source: Path | str | Dataset,
    frame: int | None = None,
    window: tuple[float, float] | None = None,
) -> tuple[np.ndarray, WindowInfo]:
    """Full-resolution RGB uint8 of one frame (the middle one when `frame` is None).

    `window` = (center, width) in modality units overrides the file's VOI.
    Raises RenderError (message in words) when the frame cannot be shown.
    """
    try:
        return _render_frame(source, frame, window)
    except RenderError:
        raise
    except Exception as exc:
        # A malformed attribute or a decoder bug: the viewer shows it in words.
        raise RenderError(f"cannot render: {_reason(exc)}") from exc


def _render_frame(
    source: Path | str | Dataset, frame: int | None, window: tuple[float, float] | None
) -> tuple[np.ndarray, WindowInfo]:
    pixels_from: Path | Dataset
    if isinstance(source, Dataset):
        header = source
        pixels_from = pixel_source(header)
    else:
        try:
            header = read_header(Path(source))
        except Exception as exc:
            raise RenderError(f"cannot read file: {_reason(exc)}") from exc
        if not has_pixel_data(header):
            raise RenderError("the object has no pixel data")
        pixels_from = Path(source)

    frames = frame_params(header, 0).frames
    index = frames // 2 if frame is None else int(frame)
    if not 0 <= index < frames:
        raise RenderError(f"frame {index} is out of range (the object has {frames})")
    params = frame_params(header, index)
    shown = to_display(decode_frame(pixels_from, header, index), params, header, window)
    info = WindowInfo(
        center=shown.center,
        width=shown.width,
        default_center=shown.default_center,
        default_width=shown.default_width,
        frames=params.frames,
        photometric=params.photometric,
        min=shown.min,
        max=shown.max,
        pixel_aspect=params.pixel_aspect,
    )
    return to_rgb8(shown.unit), info


def frame_count(path: Path) -> int:
    """Number of frames; 0 for objects without pixel data. Raises RenderError if unreadable."""
    try:
        header = read_header(Path(path))
    except Exception as exc:
        raise RenderError(f"cannot read file: {_reason(exc)}") from exc
    if not has_pixel_data(header):
        return 0
    return frame_params(header, 0).frames


def _thumbnail_pixels(path: Path, header: Dataset, size: int) -> np.ndarray:
    index = frame_params(header, 0).frames // 2
    params = frame_params(header, index)
    raw = decimate(decode_frame(path, header, index), size)
    shown = to_display(raw, params, header)
    height, width = fit(raw.shape[0], raw.shape[1], size, params.pixel_aspect)
    return to_rgb8(resize(shown.unit, height, width))


def _reason(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__


def _log_failure(what: str, header: Dataset, exc: BaseException) -> None:
    # Only the UID and the exception type at warning level: exception texts can
    # quote attribute values, and logs must stay free of patient data.
    log.warning("%s %s failed: %s", what, _uid(header), type(exc).__name__)
    log.debug("%s %s failed", what, _uid(header), exc_info=exc)


def _uid(ds: Dataset) -> str:
    return str(ds.get("SOPInstanceUID", "") or "<no SOP Instance UID>")
