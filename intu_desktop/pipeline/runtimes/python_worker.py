"""Worker process for ``runtime: python`` channel scripts.

Run as ``python -m intu_desktop.pipeline.runtimes.python_worker``; speaks the same JSON-lines
protocol as ``pipeline/node/worker.mjs``. The script is a .py file with ``transform(msg)`` /
``validate(msg)`` (``ctx`` is passed as well when the function takes two parameters). It is
loaded from its path and loaded again when its mtime or size changes. ``print`` output and
writes to stderr are captured per call; the protocol owns a private copy of fd 1, and fd 1
itself is pointed at stderr so nothing the script does can corrupt the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import json
import os
import platform
import sys
import threading
import traceback
import types
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

MAX_LOG_LINES = 1000
MAX_LOG_CHARS = 10000

# "auto:" modes choose the export the same way the node worker does.
CANDIDATES = {
    "auto:transform": ("default", "transform"),
    "auto:validate": ("validate", "default"),
}


class Protocol:
    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()  # a script's own threads may print while we answer

    def send(self, message: dict[str, Any]) -> None:
        # Serialise first: a value that cannot be encoded must not leave half a line behind.
        line = json.dumps(message, allow_nan=False) + "\n"
        with self._lock:
            self._stream.write(line)
            self._stream.flush()


class ScriptProblem(Exception):
    """A problem the worker found with the script (not raised by it): reported without a stack."""


class CallOutput:
    """File-like object that streams what a script writes as log lines of one call."""

    def __init__(self, protocol: Protocol, call_id: Any, prefix: str, budget: list[int]) -> None:
        self._protocol = protocol
        self._call_id = call_id
        self._prefix = prefix
        self._budget = budget  # shared by stdout and stderr of the same call
        self._partial = ""
        self.sibling: CallOutput | None = None  # the other stream of the same call

    def write(self, text: str) -> int:
        self._partial += text
        *lines, self._partial = self._partial.split("\n")
        if lines and self.sibling is not None:
            self.sibling.flush()  # keep the order in which the two streams were written
        for line in lines:
            self._emit(line)
        return len(text)

    def flush(self) -> None:
        if self._partial:
            self._emit(self._partial)
            self._partial = ""

    def isatty(self) -> bool:
        return False

    def _emit(self, line: str) -> None:
        self._budget[0] -= 1
        if self._budget[0] < 0:
            if self._budget[0] == -1:
                self._send("[warn] (further output dropped)")
            return
        if len(line) > MAX_LOG_CHARS:
            line = line[:MAX_LOG_CHARS] + "... (truncated)"
        self._send(self._prefix + line)

    def _send(self, line: str) -> None:
        self._protocol.send({"type": "log", "id": self._call_id, "line": line})


class ScriptCache:
    """Loads scripts by path; a changed mtime or size means a fresh module (hot reload)."""

    def __init__(self) -> None:
        self._loaded: dict[str, tuple[tuple[int, int], types.ModuleType]] = {}

    def load(self, path: str) -> types.ModuleType:
        stat = os.stat(path)
        key = (stat.st_mtime_ns, stat.st_size)
        cached = self._loaded.get(path)
        if cached and cached[0] == key:
            return cached[1]
        source = Path(path).read_bytes()
        digest = hashlib.sha256(path.encode() + b"\0" + source).hexdigest()[:16]
        name = f"intu_script_{digest}"
        module = types.ModuleType(name)
        module.__file__ = path
        # Compile from the bytes read, not through importlib's bytecode cache: that cache keys
        # on whole-second mtimes and would serve a stale version after a quick edit.
        code = compile(source, path, "exec")
        folder = str(Path(path).parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)  # the script's own helper modules
        sys.modules[name] = module  # dataclasses and pickling look the module up by name
        try:
            exec(code, module.__dict__)  # noqa: S102 - running the user's script is the point
        except BaseException:
            sys.modules.pop(name, None)
            raise
        self._loaded[path] = (key, module)
        return module


def pick_function(
    module: types.ModuleType, wanted: str, path: str
) -> tuple[str, Callable[..., Any]]:
    names = CANDIDATES.get(wanted, (wanted,))
    for name in names:
        fn = getattr(module, name, None)
        if callable(fn):
            return name, fn
    raise ScriptProblem(f"function {' or '.join(names)} not exported by {Path(path).name}")


def fit_args(fn: Callable[..., Any], args: list[Any]) -> list[Any]:
    """Pass ctx only to functions that take it: transform(msg) and transform(msg, ctx) both work."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return args
    count = 0
    for param in params:
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            return args
        if param.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            count += 1
    return args[:count]


async def _await(awaitable: Any) -> Any:
    return await awaitable


def user_traceback(exc: BaseException) -> str:
    """The traceback without this worker's own frames."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb)).rstrip()


def exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    return 1


class Worker:
    def __init__(self, protocol: Protocol) -> None:
        self._protocol = protocol
        self._scripts = ScriptCache()

    def handle(self, request: dict[str, Any]) -> None:
        call_id = request.get("id")
        budget = [MAX_LOG_LINES]
        out = CallOutput(self._protocol, call_id, "", budget)
        err = CallOutput(self._protocol, call_id, "[stderr] ", budget)
        out.sibling, err.sibling = err, out
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    response = self._run(request, call_id)
                finally:
                    out.flush()
                    err.flush()
        except SystemExit as exc:
            # A script that exits really ends the worker; say so first, so the parent can tell
            # an intended exit from a crash.
            code = exit_code(exc)
            self._protocol.send({"type": "exit", "code": code})
            os._exit(code)
        try:
            self._protocol.send(response)
        except (TypeError, ValueError) as exc:
            self._protocol.send(
                {
                    "type": "result",
                    "id": call_id,
                    "ok": False,
                    "function": response.get("function"),
                    "stack": None,
                    "error": f"result is not JSON-serialisable: {exc}",
                }
            )

    def _run(self, request: dict[str, Any], call_id: Any) -> dict[str, Any]:
        name: str | None = None
        try:
            path = request["entrypoint"]
            module = self._scripts.load(path)
            if request.get("load_only"):  # warm-up: imported ahead of its first message
                return {"type": "result", "id": call_id, "ok": True, "value": None, "function": None}
            name, fn = pick_function(module, request.get("function", ""), path)
            self._protocol.send({"type": "started", "id": call_id, "function": name})
            value = fn(*fit_args(fn, list(request.get("args") or [])))
            if inspect.isawaitable(value):
                value = asyncio.run(_await(value))
            return {"type": "result", "id": call_id, "ok": True, "value": value, "function": name}
        except ScriptProblem as exc:
            return {
                "type": "result",
                "id": call_id,
                "ok": False,
                "function": name,
                "error": str(exc),
                "stack": None,
            }
        except Exception as exc:  # noqa: BLE001 - the script's failure is the call's result
            return {
                "type": "result",
                "id": call_id,
                "ok": False,
                "function": name,
                "error": f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
                "stack": user_traceback(exc),
            }


def main() -> int:
    sys.dont_write_bytecode = True  # never write __pycache__ into a channel folder
    protocol_stream = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    os.dup2(2, 1)
    protocol = Protocol(protocol_stream)
    worker = Worker(protocol)
    protocol.send({"type": "ready", "python": platform.python_version()})
    for raw in sys.stdin:
        if not raw.strip():
            continue
        try:
            request = json.loads(raw)
        except ValueError as exc:
            protocol.send({"type": "protocol-error", "error": f"bad request line: {exc}"})
            continue
        worker.handle(request)
    return 0


if __name__ == "__main__":
    sys.exit(main())
