"""One script worker subprocess and its JSON-lines protocol (shared by both runtimes).

The parent writes one request per line on the worker's stdin; the worker answers on stdout with
``started``, ``log`` and ``result`` messages tagged with the request id (see
``pipeline/node/worker.mjs`` for the full protocol). A reader thread turns stdout lines into
messages on a queue so that a call can wait with a deadline; on a timeout the process is killed,
which is the only reliable way to stop a script stuck in a loop.
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from intu_desktop.pipeline.runtimes.result import CallResult
from intu_desktop.thread_policy import make_background

log = logging.getLogger(__name__)

_EOF = object()
_STDERR_TAIL_LINES = 50
_EXIT_WAIT_S = 5.0


class WorkerProcess:
    """A running worker process; handles one call at a time (the pool guarantees it)."""

    def __init__(self, argv: list[str], env: dict[str, str], *, label: str, exit_call: str) -> None:
        self._argv = argv
        self._env = env
        self._label = label  # "node" / "python", for log lines
        self._exit_call = exit_call  # how a script exits on purpose: "process.exit" / "sys.exit"
        self._ids = itertools.count(1)
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL_LINES)
        self._exit_reported = False
        self._stop_lock = threading.Lock()
        self._stopped = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        kwargs: dict[str, Any] = {}
        if sys.platform == "win32":
            kwargs["creationflags"] = subprocess.CREATE_NO_WINDOW
        else:
            # Own session: a Ctrl-C in the app's terminal must not kill running scripts, and a
            # timeout can kill whatever the script spawned along with it.
            kwargs["start_new_session"] = True
        self._proc = subprocess.Popen(
            self._argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self._env,
            **kwargs,
        )
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._threads = [
            threading.Thread(
                target=self._read_stdout,
                args=(self._proc.stdout,),
                name=f"{self._label}-worker-{self._proc.pid}-out",
                daemon=True,
            ),
            threading.Thread(
                target=self._read_stderr,
                args=(self._proc.stderr,),
                name=f"{self._label}-worker-{self._proc.pid}-err",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()
        log.debug("%s worker started, pid %d", self._label, self._proc.pid)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and not self._stopped and self._proc.poll() is None

    def stop(self, grace_s: float = 2.0) -> None:
        """Close stdin so the worker exits after its current call; kill it if it does not."""
        with self._stop_lock:
            if self._stopped or self._proc is None:
                return
            self._stopped = True
        proc = self._proc
        try:
            if proc.stdin:
                proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self._kill_now()
            proc.wait()
        self._close_pipes()

    def kill(self) -> None:
        """Kill the worker at once (timeout) and reap it, so no zombie is left behind."""
        with self._stop_lock:
            if self._proc is None:
                return
            already = self._stopped
            self._stopped = True
        if not already:
            self._kill_now()
        self._proc.wait()
        self._close_pipes()

    def _kill_now(self) -> None:
        assert self._proc is not None
        if self._proc.poll() is not None:
            return
        if sys.platform != "win32":
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
                return
            except OSError:
                pass
        try:
            self._proc.kill()
        except OSError:
            pass

    def _close_pipes(self) -> None:
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=2.0)
        assert self._proc is not None
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass

    # -- reader threads --------------------------------------------------------------------
    def _read_stdout(self, stream: IO[bytes]) -> None:
        make_background()
        try:
            for raw in stream:
                try:
                    msg = json.loads(raw)
                except ValueError:
                    msg = None
                if not isinstance(msg, dict):
                    # Output that bypassed the worker's capture (a native addon, a child
                    # process); keep it rather than lose it.
                    msg = {"type": "raw", "line": raw.decode("utf-8", "replace").rstrip("\r\n")}
                elif msg.get("type") == "exit":
                    self._exit_reported = True
                self._inbox.put(msg)
        except (OSError, ValueError):
            pass
        finally:
            self._inbox.put(_EOF)

    def _read_stderr(self, stream: IO[bytes]) -> None:
        make_background()
        try:
            for raw in stream:
                self._stderr_tail.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
        except (OSError, ValueError):
            pass

    # -- one call --------------------------------------------------------------------------
    def call(self, request: dict[str, Any], timeout_s: float, load_timeout_s: float) -> CallResult:
        """Send one request and wait for its result.

        The script's own time limit (``timeout_s``) starts when the worker reports that the
        function was invoked; loading and transpiling the module has its own, longer limit, so
        a cold worker does not eat into the script's budget.
        """
        started_at = time.perf_counter()
        call_id = next(self._ids)
        logs: list[str] = []
        try:
            line = json.dumps({"id": call_id, **request}, allow_nan=False) + "\n"
        except (TypeError, ValueError) as exc:
            return CallResult(ok=False, error=f"arguments are not JSON-serialisable: {exc}")
        self._stderr_tail.clear()
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(line.encode("utf-8"))
            self._proc.stdin.flush()
        except (OSError, ValueError):
            return self._crashed(logs, started_at, None)

        entry_name = Path(str(request.get("entrypoint", ""))).name
        function: str | None = None
        running = False
        deadline = started_at + load_timeout_s
        while True:
            try:
                msg = self._inbox.get(timeout=max(0.0, deadline - time.perf_counter()))
            except queue.Empty:
                return self._timed_out(
                    logs, started_at, function, running, timeout_s, load_timeout_s, entry_name
                )
            if msg is _EOF:
                return self._crashed(logs, started_at, function)
            kind = msg.get("type")
            if kind == "raw":
                logs.append(f"[stdout] {msg['line']}")
                continue
            if msg.get("id") != call_id:
                continue  # late output of an earlier call, or the exit notice
            if kind == "log":
                logs.append(str(msg.get("line", "")))
            elif kind == "started":
                running = True
                function = msg.get("function")
                deadline = time.perf_counter() + timeout_s
            elif kind == "result":
                return CallResult(
                    ok=bool(msg.get("ok")),
                    value=msg.get("value"),
                    error=msg.get("error"),
                    stack=msg.get("stack"),
                    logs=logs,
                    duration_ms=_ms_since(started_at),
                    function=msg.get("function", function),
                )

    def _timed_out(
        self,
        logs: list[str],
        started_at: float,
        function: str | None,
        running: bool,
        timeout_s: float,
        load_timeout_s: float,
        entry_name: str,
    ) -> CallResult:
        self.kill()
        if running:
            error = f"timed out after {float(timeout_s):.1f} s"
        else:
            error = f"timed out after {float(load_timeout_s):.1f} s loading {entry_name}"
        log.warning("%s worker pid %s %s; replacing it", self._label, self.pid, error)
        return CallResult(
            ok=False,
            error=error,
            logs=logs,
            duration_ms=_ms_since(started_at),
            timed_out=True,
            function=function,
        )

    def _crashed(self, logs: list[str], started_at: float, function: str | None) -> CallResult:
        assert self._proc is not None
        try:
            code: int | None = self._proc.wait(timeout=_EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            code = None  # closed its stdout but kept running: treat as dead
        self.kill()
        logs.extend(f"[stderr] {line}" for line in self._stderr_tail)
        error = self._describe_exit(code)
        log.warning("%s worker pid %s: %s; replacing it", self._label, self.pid, error)
        return CallResult(
            ok=False,
            error=error,
            logs=logs,
            duration_ms=_ms_since(started_at),
            crashed=True,
            function=function,
        )

    def _describe_exit(self, code: int | None) -> str:
        if code is None:
            return "worker stopped answering and was killed"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            return f"worker was killed by signal {name}"
        if self._exit_reported:
            return f"worker exited with code {code} ({self._exit_call})"
        return f"worker exited with code {code}"


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
