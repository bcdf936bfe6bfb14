"""Runs ``runtime: python`` channel scripts in a pool of long-lived Python worker processes."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

import intu_desktop
from intu_desktop.pipeline.runtimes.pool import PooledRuntime, WorkerPool
from intu_desktop.pipeline.runtimes.worker_process import WorkerProcess

DEFAULT_LOAD_TIMEOUT_S = 30.0
WORKER_MODULE = "intu_desktop.pipeline.runtimes.python_worker"


class PythonRuntime(PooledRuntime):
    """Same API as NodeRuntime; the entrypoint is a .py file with transform(msg[, ctx]) /
    validate(msg[, ctx]). Scripts run in separate processes so that a timeout can kill them."""

    def __init__(
        self,
        pool_size: int = 2,
        *,
        python_path: str | None = None,
        load_timeout_s: float = DEFAULT_LOAD_TIMEOUT_S,
    ) -> None:
        self._python = python_path or sys.executable
        self._load_timeout_s = load_timeout_s
        self._pool = WorkerPool(self._spawn, pool_size)

    def available(self) -> tuple[bool, str]:
        return True, f"Python {platform.python_version()} ({self._python})"

    def _spawn(self) -> WorkerProcess:
        env = dict(os.environ)
        # The worker imports this package; make sure it can, installed or not.
        package_parent = str(Path(intu_desktop.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
        env["PYTHONIOENCODING"] = "utf-8"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        argv = [self._python, "-u", "-m", WORKER_MODULE]
        return WorkerProcess(argv, env, label="python", exit_call="sys.exit")
