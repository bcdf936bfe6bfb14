"""A bounded pool of worker processes: one call per worker, started lazily, replaced when lost."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from intu_desktop.pipeline.runtimes.result import CallResult
from intu_desktop.pipeline.runtimes.worker_process import WorkerProcess

log = logging.getLogger(__name__)


@dataclass
class _Slot:
    worker: WorkerProcess | None = None


class WorkerPool:
    """Runs calls on at most ``size`` worker processes at once; thread-safe.

    A slot's process starts on its first call and stays warm. After a timeout or a crash the
    dead process is reaped and a replacement is started at once (Popen returns immediately, the
    process boots while the caller carries on), so the next call finds a warm worker.
    """

    def __init__(self, spawn: Callable[[], WorkerProcess], size: int) -> None:
        if size < 1:
            raise ValueError("pool size must be at least 1")
        self._spawn = spawn
        self._slots = [_Slot() for _ in range(size)]
        # LIFO: the most recently used worker has the scripts loaded; idle ones stay unstarted.
        self._idle: queue.LifoQueue[_Slot] = queue.LifoQueue()
        for slot in self._slots:
            self._idle.put(slot)
        self._lock = threading.Lock()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def run(self, request: dict[str, Any], timeout_s: float, load_timeout_s: float) -> CallResult:
        slot = self._idle.get()
        try:
            with self._lock:
                if self._closed:
                    return CallResult(ok=False, error="the script runtime is closed")
                worker = slot.worker
                if worker is None or not worker.alive:
                    if worker is not None:
                        worker.kill()  # reap a process that died while idle
                    try:
                        worker = slot.worker = self._start()
                    except OSError as exc:
                        slot.worker = None
                        return CallResult(ok=False, error=f"could not start a worker: {exc}")
            result = worker.call(request, timeout_s, load_timeout_s)
            if result.timed_out or result.crashed:
                self._replace(slot, worker)
            return result
        finally:
            self._idle.put(slot)

    def _start(self) -> WorkerProcess:
        worker = self._spawn()
        worker.start()
        return worker

    def _replace(self, slot: _Slot, dead: WorkerProcess) -> None:
        dead.kill()
        with self._lock:
            if self._closed or slot.worker is not dead:
                return
            try:
                slot.worker = self._start()
            except OSError as exc:
                log.warning("could not start a replacement worker: %s", exc)
                slot.worker = None

    def close(self) -> None:
        """Stop every worker (in-flight calls finish or are killed after a short grace)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers = [slot.worker for slot in self._slots if slot.worker is not None]
        for worker in workers:
            worker.stop()

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for diagnostics and tests)."""
        with self._lock:
            return [
                pid
                for slot in self._slots
                if slot.worker is not None and slot.worker.alive and (pid := slot.worker.pid)
            ]


class PooledRuntime:
    """What the Node and Python runtimes share: a WorkerPool, a load timeout, and the lifecycle."""

    _pool: WorkerPool
    _load_timeout_s: float

    def _run(self, entry: Path, function: str, args: list[Any], timeout_s: float) -> CallResult:
        request = {"entrypoint": str(entry), "function": function, "args": list(args)}
        return self._pool.run(request, timeout_s, self._load_timeout_s)

    def close(self) -> None:
        """Stop every worker; idempotent."""
        self._pool.close()

    def worker_pids(self) -> list[int]:
        return self._pool.worker_pids()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
