"""PyInstaller runtime hook: what a frozen intu-desktop needs before its own code runs.

1. Child processes get the user's library path, not the bundle's. On Linux the bootloader
   prepends the bundle folder to LD_LIBRARY_PATH (keeping the old value in
   LD_LIBRARY_PATH_ORIG). The app starts other programs (node, npm) that would then load the
   bundle's copies of libstdc++, libssl or libz instead of their own and fail with symbol
   errors. The dynamic loader read LD_LIBRARY_PATH when this process started, so changing
   os.environ here only affects children; a child that is this program again gets the bundle
   path back from its own bootloader.

2. The Python script runtime starts workers as ``sys.executable -u -m <worker module>``. In a
   bundle sys.executable is intu-desktop itself, which has no ``-m``: here the frozen program
   runs that one module the way ``python -u -m`` would, and nothing else.
   PYTHON* variables are ignored by a frozen interpreter, so PYTHONIOENCODING is applied here.
"""

from __future__ import annotations

import os
import sys

# The only modules the frozen program runs with -m (intu_desktop.pipeline.runtimes.python_runtime).
_RUNNABLE_MODULES = frozenset({"intu_desktop.pipeline.runtimes.python_worker"})
# Interpreter flags PythonRuntime may put before -m; -u is applied, the rest mean nothing here.
_FLAGS = frozenset({"-u", "-B", "-E", "-s", "-I"})


def _restore_library_path(name: str) -> None:
    original = os.environ.pop(f"{name}_ORIG", None)
    if original is not None:
        os.environ[name] = original
        return
    bundle = getattr(sys, "_MEIPASS", None)
    current = os.environ.get(name)
    if not bundle or current is None:
        return
    bundle = os.path.abspath(bundle)
    kept = [p for p in current.split(os.pathsep) if p and os.path.abspath(p) != bundle]
    if kept:
        os.environ[name] = os.pathsep.join(kept)
    else:
        del os.environ[name]


def _module_request(argv: list[str]) -> tuple[list[str], str, list[str]] | None:
    """(flags, module, rest) for ``[exe, *flags, "-m", module, *rest]``; None for any other argv."""
    flags: list[str] = []
    i = 1
    while i < len(argv) and argv[i] in _FLAGS:
        flags.append(argv[i])
        i += 1
    if i + 1 < len(argv) and argv[i] == "-m" and argv[i + 1] in _RUNNABLE_MODULES:
        return flags, argv[i + 1], argv[i + 2:]
    return None


def _run_module(flags: list[str], module: str, rest: list[str]) -> None:
    import runpy

    encoding = os.environ.get("PYTHONIOENCODING", "").split(":")[0] or None
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        if stream is None:
            continue
        options: dict[str, object] = {}
        if encoding:
            options["encoding"] = encoding
        if "-u" in flags and stream is not sys.stdin:
            options["write_through"] = True
        if options:
            stream.reconfigure(**options)  # type: ignore[union-attr]
    sys.argv = [sys.argv[0], *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    sys.exit(0)


if sys.platform.startswith(("linux", "freebsd")):
    _restore_library_path("LD_LIBRARY_PATH")
elif sys.platform.startswith("aix"):
    _restore_library_path("LIBPATH")

_request = _module_request(sys.argv)
if _request is not None:
    _run_module(*_request)
