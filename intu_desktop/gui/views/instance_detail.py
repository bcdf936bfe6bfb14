"""Instance detail: the frame with window/level and a frame slider, and the data set as a tag tree.

Opening an instance reads its row (db worker), then its tag tree and first frame
(render worker). Window/level drags and frame changes render off the GUI thread
too; while one render runs, only the newest request waits (older ones are dropped).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSlider,
    QSplitter,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from intu_desktop.gui.icons import numpy_to_qimage
from intu_desktop.gui.models.tag_tree import TagTreeModel
from intu_desktop.gui.tag_nodes import TagNode, read_tag_tree
from intu_desktop.gui.views.image_canvas import ImageCanvas
from intu_desktop.gui.workers import Workers
from intu_desktop.index.db import Index
from intu_desktop.index.instances import get_instance
from intu_desktop.thumbnails import RenderError, WindowInfo, render_frame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrameRequest:
    frame: int | None
    window: tuple[float, float] | None


@dataclass
class Opened:
    path: str
    tree: TagNode | None
    pixels: Any  # np.ndarray | None
    info: WindowInfo | None
    message: str


def open_instance(index: Index, instance_id: int) -> Opened:
    """Worker side: the stored file's tag tree and middle frame (or why there is none)."""
    row = get_instance(index, instance_id)
    if row is None:
        return Opened("", None, None, None, "This instance is no longer in the index.")
    path = str(row["storage_path"])
    try:
        tree = read_tag_tree(Path(path))
    except Exception as exc:  # unreadable file: say so instead of failing the view
        return Opened(path, None, None, None, f"Cannot read the stored file: {type(exc).__name__}")
    try:
        pixels, info = render_frame(Path(path))
    except RenderError as exc:
        return Opened(path, tree, None, None, str(exc))
    return Opened(path, tree, pixels, info, "")


def _short(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.4g}"


class InstanceDetail(QSplitter):
    def __init__(self, index: Index, workers: Workers, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setObjectName("detailSplitter")
        self._index = index
        self._workers = workers
        self._open_request = 0
        self._path = ""
        self._info: WindowInfo | None = None
        self._window: tuple[float, float] | None = None
        self._drag_origin: tuple[float, float] | None = None
        self._rendering = False
        self._pending: FrameRequest | None = None
        self.instance_id: int | None = None
        viewer = QWidget(self)
        self.canvas = ImageCanvas(viewer)
        self.slider = QSlider(Qt.Orientation.Horizontal, viewer)
        self.slider.setObjectName("frameSlider")
        self.slider.setMinimum(0)
        self.frame_label = QLabel(viewer)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Frame", viewer))
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.frame_label)
        viewer_layout = QVBoxLayout(viewer)
        viewer_layout.setContentsMargins(0, 0, 0, 0)
        viewer_layout.addWidget(self.canvas, 1)
        viewer_layout.addLayout(controls)
        self.tags = TagTreeModel(self)
        self.tree = QTreeView(self)
        self.tree.setObjectName("tagTree")
        self.tree.setModel(self.tags)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((125, 230, 35)):
            self.tree.setColumnWidth(column, width)
        self.addWidget(viewer)
        self.addWidget(self.tree)
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 2)
        self._set_frames(1)
        self.canvas.drag_started.connect(self._drag_started)
        self.canvas.window_dragged.connect(self._dragged)
        self.canvas.reset_requested.connect(self._reset_window)
        self.slider.valueChanged.connect(self._frame_changed)

    # -- opening -----------------------------------------------------------------------
    def show_instance(self, instance_id: int) -> None:
        self.instance_id = instance_id
        self._open_request += 1
        request = self._open_request
        self.canvas.set_message("Loading…")

        def apply(opened: Opened) -> None:
            if request == self._open_request:
                self._opened(opened)

        self._workers.render(lambda: open_instance(self._index, instance_id), apply)

    def _opened(self, opened: Opened) -> None:
        self._path = opened.path
        self.tags.set_root(opened.tree)
        self._info = opened.info
        self._window = None
        if opened.info is None or opened.pixels is None:
            self._set_frames(1)
            self.canvas.set_message(opened.message or "No pixel data")
            return
        self._set_frames(opened.info.frames, opened.info.frames // 2)
        self._show_pixels(opened.pixels, opened.info)

    def _set_frames(self, frames: int, current: int = 0) -> None:
        self.slider.blockSignals(True)
        self.slider.setMaximum(max(0, frames - 1))
        self.slider.setValue(current)
        self.slider.setEnabled(frames > 1)
        self.slider.blockSignals(False)
        self.frame_label.setText(f"{current + 1} / {frames}")

    def _show_pixels(self, pixels: Any, info: WindowInfo) -> None:
        self._info = info
        frame = f"frame {self.slider.value() + 1}/{info.frames}"
        overlay = f"W {_short(info.width)}  C {_short(info.center)}   {frame}"
        self.canvas.set_image(numpy_to_qimage(pixels), info.pixel_aspect, overlay)

    # -- window/level and frames ----------------------------------------------------------
    def _drag_started(self) -> None:
        info = self._info
        self._drag_origin = (info.center, info.width) if info is not None else None

    def _dragged(self, dx: float, dy: float) -> None:
        if self._drag_origin is None or self._info is None:
            return
        center, width = self._drag_origin
        step = max((self._info.max - self._info.min) / 512.0, 0.01)
        self._window = (center + dy * step, max(step, width + dx * step))
        self._request(FrameRequest(self.slider.value(), self._window))

    def _reset_window(self) -> None:
        self._window = None
        self._request(FrameRequest(self.slider.value(), None))

    def _frame_changed(self, value: int) -> None:
        frames = self._info.frames if self._info is not None else 1
        self.frame_label.setText(f"{value + 1} / {frames}")
        self._request(FrameRequest(value, self._window))

    def set_window(self, center: float, width: float) -> None:
        """Programmatic window/level (scripts, tests)."""
        self._window = (center, width)
        self._request(FrameRequest(self.slider.value(), self._window))

    def _request(self, request: FrameRequest) -> None:
        if not self._path:
            return
        if self._rendering:
            self._pending = request  # only the newest waiting request matters
            return
        self._rendering = True
        path, opened = self._path, self._open_request

        def apply(result: tuple[Any, WindowInfo]) -> None:
            self._rendering = False
            if opened == self._open_request:
                self._show_pixels(*result)
            self._next()

        def failed(error: BaseException) -> None:
            self._rendering = False
            if opened == self._open_request:
                self.canvas.set_message(str(error))
            self._next()

        self._workers.render(
            lambda: render_frame(Path(path), request.frame, request.window), apply, failed
        )

    def _next(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            self._request(pending)
