"""Run editor work (validation, Apply) off the GUI thread; results come back on it.

Workers are plain Python threads that never touch a widget. The only Qt call they make is
emitting `_finished`, a signal of an object living on the GUI thread, which Qt queues to
that thread (napari's `ensure_main_thread`, Anki's `run_on_main`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal

from intu_desktop.thread_policy import make_background

log = logging.getLogger(__name__)


class Background(QObject):
    _finished = Signal(object, object)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool: ThreadPoolExecutor | None = ThreadPoolExecutor(
            1, thread_name_prefix=name, initializer=make_background)
        self._finished.connect(self._deliver)

    def run(self, work: Callable[[], Any], done: Callable[[Any, BaseException | None], None]
            ) -> bool:
        """Queue `work`; `done(result, error)` is called on the GUI thread. False when
        already shut down."""
        if self._pool is None:
            return False
        future = self._pool.submit(work)
        future.add_done_callback(lambda f: self._emit(done, f))
        return True

    def _emit(self, done: Callable[[Any, BaseException | None], None], future: Future[Any]) -> None:
        if self._pool is not None:
            self._finished.emit(done, future)

    def _deliver(self, done: Callable[[Any, BaseException | None], None],
                 future: Future[Any]) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is not None and not isinstance(error, Exception):
            raise error
        done(None if error is not None else future.result(), error)

    def shutdown(self) -> None:
        """Wait for the running job; queued ones are dropped."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
