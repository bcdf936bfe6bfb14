"""Makes sure a TypeScript transpiler exists before a .ts script runs.

Lookup order (the node worker's loader hooks use the same one):
1. the channel project's own ``node_modules/typescript`` or ``node_modules/esbuild``, searching
   upward from the script's folder;
2. the transpiler the app ships (``pipeline/node/node_modules``, installed by
   ``npm ci --prefix intu_desktop/pipeline/node``);
3. a copy the app installs itself into ``<data-dir>/node-toolchain`` with ``npm ci`` from the
   shipped package.json and package-lock.json. The user is never asked.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

TYPESCRIPT_SUFFIXES = frozenset({".ts", ".mts"})
_TRANSPILERS = ("typescript", "esbuild")
_NPM_TIMEOUT_S = 600.0


def has_package(base: Path, name: str) -> bool:
    return (base / "node_modules" / name / "package.json").is_file()


def find_project_transpiler(start: Path) -> Path | None:
    """The folder whose node_modules holds typescript or esbuild, searching upward from start."""
    for folder in (start, *start.parents):
        if any(has_package(folder, name) for name in _TRANSPILERS):
            return folder
    return None


class TypeScriptToolchain:
    """Knows where the fallback transpilers live and installs the last one on demand."""

    def __init__(
        self, shipped_dir: Path, install_dir: Path | None, npm_path: str | None = None
    ) -> None:
        self.shipped_dir = shipped_dir  # holds package.json + package-lock.json (+ node_modules)
        self.install_dir = install_dir
        self.npm_path = npm_path  # None: found on PATH when needed
        self._lock = threading.Lock()
        self._ready = False
        self._failure: str | None = None

    def fallback_dirs(self) -> list[Path]:
        dirs = [self.shipped_dir]
        if self.install_dir is not None:
            dirs.append(self.install_dir)
        return dirs

    def ensure_for(self, entrypoint: Path) -> str | None:
        """None when a transpiler is available for entrypoint; otherwise the reason in words."""
        if self._ready or find_project_transpiler(entrypoint.parent) is not None:
            return None
        with self._lock:
            if self._ready:
                return None
            if any(has_package(d, "typescript") for d in self.fallback_dirs()):
                self._ready = True
                return None
            if self._failure is None:
                self._failure = self._install()
                self._ready = self._failure is None
            return self._failure

    def _install(self) -> str | None:
        target = self.install_dir
        if target is None:
            return (
                "no TypeScript transpiler found: install typescript in the channel project, "
                "or run `npm ci --prefix intu_desktop/pipeline/node`"
            )
        npm = self.npm_path or shutil.which("npm")
        if npm is None:
            return "no TypeScript transpiler found and npm is not installed to fetch one"
        log.info("Installing the TypeScript transpiler into %s (npm ci)", target)
        try:
            target.mkdir(parents=True, exist_ok=True)
            for name in ("package.json", "package-lock.json"):
                shutil.copyfile(self.shipped_dir / name, target / name)
            kwargs: dict[str, Any] = {}
            if sys.platform == "win32":
                kwargs["creationflags"] = subprocess.CREATE_NO_WINDOW
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
                cwd=target,
                capture_output=True,
                text=True,
                timeout=_NPM_TIMEOUT_S,
                check=False,
                **kwargs,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return f"could not install the TypeScript transpiler into {target}: {exc}"
        if done.returncode != 0 or not has_package(target, "typescript"):
            detail = (done.stderr or done.stdout).strip().splitlines()
            last = detail[-1] if detail else f"exit code {done.returncode}"
            return (
                f"could not install the TypeScript transpiler into {target}: npm ci failed: {last}"
            )
        return None
