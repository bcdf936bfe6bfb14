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
            return self._call_on(slot, request, timeout_s, load_timeout_s)
        finally:
            self._idle.put(slot)

    def run_on_each(self, request: dict[str, Any], load_timeout_s: float) -> list[CallResult]:
        """Run `request` once on every worker, in parallel, starting the ones not started.

        For warm-ups: each worker loads a script before its first message needs it. All
        slots are taken first (waiting for any call in progress), so none is served twice.
        """
        slots = [self._idle.get() for _ in self._slots]
        results: list[CallResult] = []

        def one(slot: _Slot) -> None:
            try:
                results.append(self._call_on(slot, request, load_timeout_s, load_timeout_s))
            finally:
                self._idle.put(slot)

        threads = [threading.Thread(target=one, args=(slot,), name="worker-warm-up", daemon=True)
                   for slot in slots]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    def _call_on(self, slot: _Slot, request: dict[str, Any], timeout_s: float,
                 load_timeout_s: float) -> CallResult:
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

    def _prepare(self, entry: Path) -> CallResult | None:
        """Before a call: a failed result when ``entry`` cannot run (missing, no transpiler)."""
        if not entry.is_file():
            return CallResult(ok=False, error=f"script not found: {entry}")
        return None

    def call(self, entrypoint: Path, function: str, args: list[Any], timeout_s: float) -> CallResult:
        """Run ``function`` (a name or "auto:transform"/"auto:validate") of ``entrypoint`` with
        ``args``; never raises for script failures."""
        entry = Path(entrypoint).absolute()
        problem = self._prepare(entry)
        if problem is not None:
            return problem
        request = {"entrypoint": str(entry), "function": function, "args": list(args)}
        return self._pool.run(request, timeout_s, self._load_timeout_s)

    def warm(self, entrypoint: Path) -> list[CallResult]:
        """Start every worker and load ``entrypoint`` in it without calling anything, so the
        first message does not pay for the process start, the transpile and the imports."""
        entry = Path(entrypoint).absolute()
        problem = self._prepare(entry)
        if problem is not None:
            return [problem]
        return self._pool.run_on_each({"entrypoint": str(entry), "load_only": True}, self._load_timeout_s)

    def close(self) -> None:
        """Stop every worker; idempotent."""
        self._pool.close()

    def worker_pids(self) -> list[int]:
        return self._pool.worker_pids()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
