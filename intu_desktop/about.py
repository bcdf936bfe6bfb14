"""Versions of the parts intu Desktop runs on, for the About dialog and support requests.

Qt-free: the Qt version is passed in by the GUI (``qVersion()``); PySide6's version is read
from package metadata, which does not load Qt.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import platform
import shutil
import subprocess
import sys
from typing import Any

from intu_desktop import __version__

NOT_FOUND = "not found"
NODE_TIMEOUT_S = 3.0

# Distribution names to try, in order, for each component read from package metadata.
_DISTRIBUTIONS = {
    "PySide6": ("PySide6-Essentials", "PySide6"),
    "pynetdicom": ("pynetdicom",),
    "pydicom": ("pydicom",),
}


def component_versions(
    *,
    qt_version: str | None = None,
    node_path: str | None = None,
    node_timeout_s: float = NODE_TIMEOUT_S,
) -> dict[str, str]:
    """Component name -> version text, in display order.

    qt_version: the running Qt (``PySide6.QtCore.qVersion()``); when not given, the Qt of an
    already imported QtCore is used, else "not loaded". node_path: the ``node`` to ask
    (default: the one on PATH). Starts ``node --version`` once, so call it off the GUI thread.
    """
    return {
        "intu Desktop": __version__,
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "Qt": qt_version or _loaded_qt_version(),
        "PySide6": distribution_version("PySide6"),
        "pynetdicom": distribution_version("pynetdicom"),
        "pydicom": distribution_version("pydicom"),
        "Node.js": node_version(node_path, timeout_s=node_timeout_s),
        "Operating system": platform.platform(terse=True),
    }


def distribution_version(component: str) -> str:
    """The installed version of a component, from its package metadata or its __version__."""
    for dist in _DISTRIBUTIONS.get(component, (component,)):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    if component == "PySide6":
        return _loaded_module_version("PySide6") or NOT_FOUND  # never import Qt from here
    try:
        module = importlib.import_module(component)
    except ImportError:
        return NOT_FOUND
    return str(getattr(module, "__version__", NOT_FOUND))


def node_version(node_path: str | None = None, *, timeout_s: float = NODE_TIMEOUT_S) -> str:
    """``20.11.1 (/usr/bin/node)``, "not found", or what went wrong when node did not answer."""
    node = node_path or shutil.which("node")
    if not node:
        return NOT_FOUND
    kwargs: dict[str, Any] = {}
    if sys.platform == "win32":
        kwargs["creationflags"] = subprocess.CREATE_NO_WINDOW  # no console flash from the GUI
    try:
        done = subprocess.run(
            [node, "--version"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            stdin=subprocess.DEVNULL,
            **kwargs,
        )
    except subprocess.TimeoutExpired:
        return f"no answer from {node} within {timeout_s:g} s"
    except OSError:
        return NOT_FOUND
    text = done.stdout.strip()
    if done.returncode != 0 or not text:
        return f"{node} did not run (exit code {done.returncode})"
    return f"{text.removeprefix('v')} ({node})"


def as_text(versions: dict[str, str]) -> str:
    """One ``name: version`` line per component, for the clipboard and bug reports."""
    return "\n".join(f"{name}: {value}" for name, value in versions.items())


def _loaded_qt_version() -> str:
    core = sys.modules.get("PySide6.QtCore")
    if core is not None and hasattr(core, "qVersion"):
        return str(core.qVersion())
    return "not loaded"


def _loaded_module_version(name: str) -> str | None:
    module = sys.modules.get(name)
    version = getattr(module, "__version__", None) if module is not None else None
    return str(version) if version else None
