"""Work off the GUI thread: database reads, rendering, and listener control.

A view builds a cheap request on the GUI thread, a worker computes, and the result
comes back on the GUI thread (napari's `ensure_main_thread`, Anki's `run_on_main`).
Workers are plain Python threads that never touch a Qt object; the only Qt call they
make is emitting `_finished`, a signal of an object living on the GUI thread, which
Qt delivers through the GUI thread's event queue (queued connection).

- `db`: one thread, so SQLite reads are serialized on one reader connection.
- `render`: thumbnails and viewer frames (pixel decoding).
- `control`: listener start/stop and pipeline/delivery commands, which may block briefly.
- `task`: what the user starts and may wait minutes for (an export, a Send of a study, an
  echo or a listener test): apart from `control`, so a long Send never delays a Stop click.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal

from intu_desktop.thread_policy import make_background

log = logging.getLogger(__name__)

Callback = Callable[[Any], None]
ErrorCallback = Callable[[BaseException], None]


class Workers(QObject):
    _finished = Signal(object)

    def __init__(self, parent: QObject | None = None, render_threads: int = 2) -> None:
        super().__init__(parent)
        # Background threads (thread_policy.py): a few milliseconds more until a core is free
        # do not show in what the user waits for; a study arriving meanwhile keeps its cores.
        self._pools = {
            "db": ThreadPoolExecutor(1, thread_name_prefix="gui-db", initializer=make_background),
            "render": ThreadPoolExecutor(render_threads, thread_name_prefix="gui-render",
                                         initializer=make_background),
            "control": ThreadPoolExecutor(1, thread_name_prefix="gui-control", initializer=make_background),
            "task": ThreadPoolExecutor(2, thread_name_prefix="gui-task", initializer=make_background),
        }
        self._closed = False
        self._finished.connect(self._deliver)

    def db(
        self,
        work: Callable[[], Any],
        on_done: Callback | None = None,
        on_error: ErrorCallback | None = None,
    ) -> Future[Any] | None:
        return self._submit("db", work, on_done, on_error)

    def render(
        self,
        work: Callable[[], Any],
        on_done: Callback | None = None,
        on_error: ErrorCallback | None = None,
    ) -> Future[Any] | None:
        return self._submit("render", work, on_done, on_error)

    def control(
        self,
        work: Callable[[], Any],
        on_done: Callback | None = None,
        on_error: ErrorCallback | None = None,
    ) -> Future[Any] | None:
        return self._submit("control", work, on_done, on_error)

    def task(
        self,
        work: Callable[[], Any],
        on_done: Callback | None = None,
        on_error: ErrorCallback | None = None,
    ) -> Future[Any] | None:
        return self._submit("task", work, on_done, on_error)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Take no more work, drop what is queued and deliver nothing from now on. Running
        work goes on; shutdown() waits for it."""
        if self._closed:
            return
        self._closed = True
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        """Drop queued work, wait for running work, and deliver nothing afterwards."""
        self.close()
        for pool in self._pools.values():
            pool.shutdown(wait=True)

    def _submit(
        self,
        pool: str,
        work: Callable[[], Any],
        on_done: Callback | None,
        on_error: ErrorCallback | None,
    ) -> Future[Any] | None:
        if self._closed:
            return None
        try:
            future = self._pools[pool].submit(work)
        except RuntimeError:  # shut down meanwhile
            return None

        def finished(f: Future[Any]) -> None:  # runs on the worker thread
            if f.cancelled():
                return
            if not self._closed:
                self._finished.emit((f, on_done, on_error))
            elif f.exception() is not None:  # nobody will show it: the log must
                log.error("background work failed while the window closed", exc_info=f.exception())

        future.add_done_callback(finished)
        return future

    def _deliver(self, item: tuple[Future[Any], Callback | None, ErrorCallback | None]) -> None:
        future, on_done, on_error = item
        if self._closed:
            return
        error = future.exception()
        try:
            if error is None:
                if on_done is not None:
                    on_done(future.result())
            elif on_error is not None:
                on_error(error)
            else:
                log.error("background task failed", exc_info=error)
        except Exception:
            log.exception("applying a background result failed")
