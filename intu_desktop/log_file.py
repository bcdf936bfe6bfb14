"""The rotating log file, written by a thread of its own, in batches (issue 9).

A receiver process's log lines (one per stored object) are handled in the parent on the
thread that reads that process's messages. RotatingFileHandler formats each line twice,
seeks, writes and flushes it there; every one of those system calls lets the window's
threads take the interpreter lock, and under load the reader waited ~0.17 ms per line.

`BatchedRotatingFileHandler` formats a line on the caller's thread (so the text is the
record's as it was) and queues it; its writer thread writes what has gathered in one
write and one flush, then rolls the file over when it passed `maxBytes`. `flush()` waits
until every line queued before it is in the file; `close()` writes the rest and stops.
The writer never takes the handler's own lock, which `logging.shutdown()` holds while it
flushes and closes.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
import traceback
from collections import deque
from typing import Any

from intu_desktop.thread_policy import make_background

FLUSH_TIMEOUT_S = 10.0


class BatchedRotatingFileHandler(logging.handlers.RotatingFileHandler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: deque[str] = deque()
        self._state = threading.Condition()  # queued/written counters, the writer's wake-up
        self._queued = 0
        self._written = 0
        self._closing = False
        self._writer = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._writer.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        with self._state:
            self._pending.append(text)
            self._queued += 1
            self._state.notify_all()

    def flush(self) -> None:
        with self._state:
            target = self._queued
            self._state.wait_for(lambda: self._written >= target or not self._writer.is_alive(),
                                 timeout=FLUSH_TIMEOUT_S)

    def close(self) -> None:
        with self._state:
            self._closing = True
            self._state.notify_all()
        if self._writer is not threading.current_thread():
            self._writer.join(FLUSH_TIMEOUT_S)
        super().close()

    def _run(self) -> None:
        make_background()
        while True:
            with self._state:
                self._state.wait_for(lambda: self._pending or self._closing)
                lines = list(self._pending)
                self._pending.clear()
                closing = self._closing
            if lines:
                self._write("".join(lines))
            with self._state:
                self._written += len(lines)
                self._state.notify_all()
            if closing and not lines:
                return

    def _write(self, text: str) -> None:
        try:
            if self.stream is None:
                self.stream = self._open()
            self.stream.write(text)
            self.stream.flush()
            if self.maxBytes > 0 and self.stream.tell() >= self.maxBytes:
                self.doRollover()
        except Exception:  # what Handler.handleError does, without a record to name
            if logging.raiseExceptions and sys.stderr:
                sys.stderr.write("--- Logging error ---\n")
                traceback.print_exc(file=sys.stderr)
