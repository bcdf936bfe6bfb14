"""Pixel decoding and rendering for the desktop window, without Qt.

The GUI turns the returned uint8 RGB arrays into QImages at the edge; everything
here runs on worker threads.
"""

from __future__ import annotations

from intu_desktop.thumbnails.cache import ThumbnailCache
from intu_desktop.thumbnails.model import Rendered, RenderError, WindowInfo
from intu_desktop.thumbnails.render import frame_count, render_frame, render_thumbnail

__all__ = [
    "RenderError",
    "Rendered",
    "ThumbnailCache",
    "WindowInfo",
    "frame_count",
    "render_frame",
    "render_thumbnail",
]
