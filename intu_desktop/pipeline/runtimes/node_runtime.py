"""Runs channel scripts (TypeScript or JavaScript) in a pool of long-lived Node.js workers."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

from intu_desktop.pipeline.runtimes.pool import PooledRuntime, WorkerPool
from intu_desktop.pipeline.runtimes.result import CallResult, RuntimeUnavailable
from intu_desktop.pipeline.runtimes.toolchain import TYPESCRIPT_SUFFIXES, TypeScriptToolchain
from intu_desktop.pipeline.runtimes.worker_process import WorkerProcess

log = logging.getLogger(__name__)

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
WORKER_SCRIPT = NODE_DIR / "worker.mjs"
HOOKS_SCRIPT = NODE_DIR / "hooks.mjs"
MIN_NODE_MAJOR = 18
NOT_FOUND = "Node.js 18 or newer was not found: install it, or use runtime: python"
DEFAULT_LOAD_TIMEOUT_S = 30.0

_VERSION = re.compile(r"v(\d+)\.(\d+)\.(\d+)")
# Transpiled scripts unused this long are removed (the workers touch an entry on each use):
# one file per version of every script ever run would otherwise pile up for good.
CACHE_MAX_AGE_S = 30 * 24 * 3600
# A worker's half-written entry (it writes, then renames) older than this was abandoned.
CACHE_TMP_MAX_AGE_S = 3600


def prune_transpile_cache(cache_dir: Path, *, now: float | None = None) -> int:
    """Remove stale entries of the transpile cache; returns how many went."""
    now = time.time() if now is None else now
    removed = 0
    try:
        entries = list(os.scandir(cache_dir))
    except OSError:  # no cache yet, or unreadable: nothing to prune
        return 0
    for entry in entries:
        if not entry.name.endswith((".mjs", ".tmp")):
            continue
        limit = CACHE_MAX_AGE_S if entry.name.endswith(".mjs") else CACHE_TMP_MAX_AGE_S
        try:
            if now - entry.stat().st_mtime > limit:
                os.unlink(entry.path)
                removed += 1
        except OSError:  # gone meanwhile, or in use elsewhere: next time
            continue
    return removed


def _has_module_register(major: int, minor: int) -> bool:
    # module.register() arrived in Node 20.6 and was backported to 18.19.
    return (major, minor) >= (20, 6) or (major == 18 and minor >= 19)


class NodeRuntime(PooledRuntime):
    """Calls exported functions of channel scripts on warm ``node`` worker processes.

    ``function`` is an export name (``"default"``, ``"transform"``, ``"validate"``) or one of the
    automatic modes the worker resolves: ``"auto:transform"`` (default export when it is a
    function, else ``transform``) and ``"auto:validate"`` (``validate``, else default).
    """

    def __init__(
        self,
        pool_size: int = 2,
        cache_dir: Path | None = None,
        *,
        node_path: str | None = None,
        load_timeout_s: float = DEFAULT_LOAD_TIMEOUT_S,
        toolchain_dir: Path | None = None,
        shipped_dir: Path = NODE_DIR,
    ) -> None:
        """cache_dir holds transpiled JavaScript; toolchain_dir (default: cache_dir's sibling
        ``node-toolchain``) is where the TypeScript compiler is installed if nothing else has
        one. shipped_dir is the folder with the app's package.json and lock file."""
        self._node_path = node_path
        self._cache_dir = cache_dir
        self._load_timeout_s = load_timeout_s
        if toolchain_dir is None and cache_dir is not None:
            toolchain_dir = cache_dir.parent / "node-toolchain"
        self._toolchain = TypeScriptToolchain(shipped_dir, toolchain_dir)
        self._lock = threading.Lock()
        self._availability: tuple[bool, str] | None = None
        self._node: str | None = None
        self._version: tuple[int, int, int] | None = None
        self._pool = WorkerPool(self._spawn, pool_size)

    # -- availability ---------------------------------------------------------------------
    def available(self) -> tuple[bool, str]:
        """(True, "Node.js v20.1.0 (/usr/bin/node)") or (False, what to do about it)."""
        with self._lock:
            if self._availability is None:
                self._availability = self._probe()
            return self._availability

    def _probe(self) -> tuple[bool, str]:
        if self._cache_dir is not None:  # once per run, on a pipeline thread
            removed = prune_transpile_cache(self._cache_dir)
            if removed:
                log.info("removed %d transpiled script(s) unused for %d days", removed, CACHE_MAX_AGE_S // 86400)
        node = self._node_path or shutil.which("node")
        if not node:
            return False, NOT_FOUND
        try:
            out = subprocess.run(
                [node, "--version"], capture_output=True, text=True, timeout=20, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return False, NOT_FOUND
        match = _VERSION.search(out.stdout)
        if out.returncode != 0 or not match:
            return False, NOT_FOUND
        version = (int(match[1]), int(match[2]), int(match[3]))
        if version[0] < MIN_NODE_MAJOR:
            return False, NOT_FOUND.replace(": install", f" (found {match[0]} at {node}): install")
        self._node, self._version = node, version
        npm_name = "npm.cmd" if os.name == "nt" else "npm"
        sibling_npm = Path(node).parent / npm_name
        if sibling_npm.is_file():
            self._toolchain.npm_path = str(sibling_npm)  # the npm that belongs to this node
        return True, f"Node.js {match[0]} ({node})"

    # -- calls ----------------------------------------------------------------------------
    def _prepare(self, entry: Path) -> CallResult | None:
        """Raises RuntimeUnavailable only when Node.js itself is missing or too old."""
        ok, reason = self.available()
        if not ok:
            raise RuntimeUnavailable(reason)
        problem = super()._prepare(entry)
        if problem is None and entry.suffix in TYPESCRIPT_SUFFIXES:
            missing = self._toolchain.ensure_for(entry)
            if missing:
                problem = CallResult(ok=False, error=missing)
        return problem

    # -- workers --------------------------------------------------------------------------
    def _spawn(self) -> WorkerProcess:
        assert self._node is not None and self._version is not None
        argv = [self._node, "--enable-source-maps"]
        env = dict(os.environ)
        if not _has_module_register(self._version[0], self._version[1]):
            argv += ["--experimental-loader", HOOKS_SCRIPT.as_uri()]
            env["INTU_HOOKS_PRELOADED"] = "1"
        argv.append(str(WORKER_SCRIPT))
        env["INTU_WORKER_CONFIG"] = json.dumps(
            {
                "cacheDir": str(self._cache_dir) if self._cache_dir else None,
                "fallbackDirs": [str(d) for d in self._toolchain.fallback_dirs()],
            }
        )
        return WorkerProcess(argv, env, label="node", exit_call="process.exit")
