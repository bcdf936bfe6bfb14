"""Thumbnails for the grid and the live strip, rendered on worker threads and cached.

The disk cache (`ThumbnailCache`, under <data-dir>/thumbnails) and the pixel work run
on the render workers; this object keeps the finished QImages for the GUI thread and
announces each with `ready(instance_id)`. Requests are served newest first, so the
thumbnails a user is looking at now come before ones that scrolled away.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from intu_desktop.gui.icons import kind_image, numpy_to_qimage
from intu_desktop.gui.workers import Workers
from intu_desktop.receive_priority import NEVER, ReceivePriority

log = logging.getLogger(__name__)

# One thumbnail renders at a time: decoding holds the GIL for much of its work, and the
# association threads and the GUI thread need it more than the strip needs speed.
MAX_IN_FLIGHT = 1


@dataclass(frozen=True)
class ThumbRequest:
    instance_id: int
    path: str
    sop_uid: str


@dataclass(frozen=True)
class Thumbnail:
    image: QImage
    kind: str
    summary: str
    error: str | None
    has_pixels: bool


Renderer = Callable[[Path, str, int], Any]  # (path, sop uid, size) -> thumbnails.Rendered


class ThumbnailProvider(QObject):
    ready = Signal(int)

    def __init__(
        self,
        render: Renderer,
        workers: Workers,
        parent: QObject | None = None,
        size: int = 128,
        keep: int = 3000,
        priority: ReceivePriority = NEVER,
    ) -> None:
        super().__init__(parent)
        self._render = render
        self._priority = priority
        self._workers = workers
        self.size = size
        self._keep = keep
        self._done: OrderedDict[int, Thumbnail] = OrderedDict()
        self._waiting: OrderedDict[int, ThumbRequest] = OrderedDict()
        self._running: set[int] = set()

    def get(self, request: ThumbRequest) -> Thumbnail | None:
        """The thumbnail if ready; otherwise it is queued and `ready` follows."""
        found = self._done.get(request.instance_id)
        if found is not None:
            self._done.move_to_end(request.instance_id)
            return found
        if request.instance_id not in self._running:
            self._waiting[request.instance_id] = request
            self._waiting.move_to_end(request.instance_id)
            self._pump()
        return None

    def peek(self, instance_id: int) -> Thumbnail | None:
        return self._done.get(instance_id)

    def invalidate(self, instance_id: int) -> None:
        self._done.pop(instance_id, None)

    def cancel_waiting(self) -> None:
        self._waiting.clear()

    def forget(self, instance_ids: list[int]) -> None:
        """Nobody shows these any more: do not render them if they are still queued."""
        for instance_id in instance_ids:
            self._waiting.pop(instance_id, None)

    def _pump(self) -> None:
        while self._waiting and len(self._running) < MAX_IN_FLIGHT and not self._workers.closed:
            instance_id, request = self._waiting.popitem(last=True)  # newest request first
            self._running.add(instance_id)
            self._start(instance_id, request)

    def _start(self, instance_id: int, request: ThumbRequest) -> None:
        def work() -> Any:
            started = time.monotonic()
            try:
                return self._render(Path(request.path), request.sop_uid, self.size)
            finally:
                # On the render thread, before the next one starts: thumbnails give way to receiving.
                self._priority.give_way(time.monotonic() - started, lambda: self._workers.closed)

        def done(rendered: Any) -> None:
            self._finished(instance_id, rendered)

        def failed(error: BaseException) -> None:
            self._failed(instance_id, error)

        self._workers.render(work, done, failed)

    def _finished(self, instance_id: int, rendered: Any) -> None:
        self._running.discard(instance_id)
        pixels = getattr(rendered, "pixels", None)
        image = (
            numpy_to_qimage(pixels) if pixels is not None else kind_image(rendered.kind, self.size)
        )
        self._done[instance_id] = Thumbnail(
            image, rendered.kind, rendered.summary, rendered.error, pixels is not None
        )
        while len(self._done) > self._keep:
            self._done.popitem(last=False)
        self.ready.emit(instance_id)
        self._pump()

    def _failed(self, instance_id: int, error: BaseException) -> None:
        self._running.discard(instance_id)
        log.error("thumbnail rendering failed: %s", type(error).__name__)
        self._done[instance_id] = Thumbnail(
            kind_image("other", self.size),
            "other",
            "",
            f"cannot render: {type(error).__name__}",
            False,
        )
        self.ready.emit(instance_id)
        self._pump()
