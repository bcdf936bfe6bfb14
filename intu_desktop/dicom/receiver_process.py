"""A channel's receivers in processes of their own, as the window and headless mode run them (issue 9).

In one process the window's GUI thread, the pipeline and the receive threads share one
interpreter lock: every call from Qt into a model's Python `data()` waits for it while a
study arrives, and every object received waits while the window paints or a transform's
result is handled. Here the SCP (`ChannelListener`: network, store, header, index row)
runs in child processes with their own interpreters; the parent keeps the pipeline, the
deliveries and the window. Measured (benchmarks/receive.py, same run): ten senders into
the window, 46.8 s and no `ui-stall` line, against 77 s and 11-48 lines in one process.

The parent binds the channel's port once (its errors are said as in one process) and
starts `default_workers()` children that all accept from that socket: each takes the
associations it wins the race for, so concurrent modalities use every core (ten senders:
40 s against 47-59 s with one child). The association limit counts every child's
associations through a shared array (`scp.SharedListening`).

`ProcessListener` is the parent's handle and has the interface the rest of the app uses
of a `ChannelListener` (`channel`, `state`, `reason`, `port`, `start`, `stop`). It talks
to each child over one duplex pipe of pickled tuples:

    parent -> child   ("stop",)
    child -> parent   ("started", port) | ("failed", words)   once, after the start
                      ("event", kind, data)                     every bus event but the state
                      ("ingest", instance_id)                   a new version for the pipeline
                      ("log", record_dict)                      the child's log records

Each child writes the index itself (SQLite in WAL mode serialises the writers) and answers
each C-STORE only after its own commit, exactly as in one process. Its log records are
written by the parent's handlers, so there is one log file. When one child dies the others
are stopped and the channel says so; a channel that had been listening for RESTART_AFTER_S
starts again by itself, one that dies sooner waits for Start.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from intu_desktop import events
from intu_desktop.batches import take_burst
from intu_desktop.dicom.scp import (
    ChannelListener,
    ListenerStartError,
    SharedListening,
    explain_bind_error,
    set_listener_state,
)
from intu_desktop.dicom.storage import InstanceStore
from intu_desktop.dicom.transport import ListenerServer, open_listening_socket
from intu_desktop.events import EventBus
from intu_desktop.index.db import Index
from intu_desktop.receive_priority import NEVER, ReceivePriority
from intu_desktop.thread_policy import make_background, normal_policy

log = logging.getLogger(__name__)

# How long a child may take to import, open the index and start accepting.
START_TIMEOUT_S = 60.0
# How long an orderly stop may take (open associations are aborted) before the child is killed.
STOP_TIMEOUT_S = 10.0
# When a receiver process dies, the channel shows the error and starts again by itself: a
# reading room's receiver must come back at night without a person. The first attempt comes
# after RESTART_DELAYS_S[0]; each death within RESTART_AFTER_S of listening (a crash loop),
# and each failed attempt, takes the next, longer delay, the last one repeating; a channel
# that listened RESTART_AFTER_S or longer starts from the first delay again.
RESTART_AFTER_S = 60.0
RESTART_DELAYS_S: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0, 300.0)
# At most this many receiver processes per channel.
MAX_WORKERS = 4


def default_workers(cpu_count: int | None = os.cpu_count(), platform: str = sys.platform) -> int:
    """Receiver processes per channel: one per core (up to MAX_WORKERS) on Linux.

    Each takes the associations it wins the race for, so concurrent modalities use every
    core instead of one interpreter lock. Elsewhere one: sharing a listening socket between
    processes has only been exercised on Linux.
    """
    if not platform.startswith("linux"):
        return 1
    return max(1, min(MAX_WORKERS, cpu_count or 1))


class _Child:
    """One receiver process and the thread that reads its messages."""

    def __init__(self, process: Any, conn: Any) -> None:
        self.process = process
        self.conn = conn
        self.reader: threading.Thread | None = None
        self.started = threading.Event()
        self.answer: tuple[Any, ...] = ()
        self.send_lock = threading.Lock()
        # Two threads must not wait for the process at once: the loser's waitpid() finds it
        # reaped already, and multiprocessing then reports a dead process as alive.
        self.join_lock = threading.Lock()

    def join(self, timeout: float) -> int | None:
        """Wait for the process to end; its exit code, or None while it runs."""
        with self.join_lock:
            self.process.join(timeout)
            return self.process.exitcode

    def send(self, message: tuple[Any, ...]) -> None:
        with self.send_lock:
            try:
                self.conn.send(message)
            except (OSError, ValueError):  # the child is gone already
                pass


class ProcessListener:
    """The parent's handle on one channel's receiver processes."""

    def __init__(
        self,
        channel: Any,
        *,
        data_dir: Path,
        bus: EventBus,
        ingest: Callable[[int], None] = lambda _id: None,
        host: str = "",
        priority: ReceivePriority = NEVER,
        fsync: bool = True,
        workers: int | None = None,
    ) -> None:
        self.channel = channel
        self.config = channel.dicom
        self.data_dir = Path(data_dir)
        self.bus = bus
        self.ingest = ingest
        self.host = host
        self.priority = priority  # stamped for every message: the parent's background work gives way
        self.fsync = fsync
        self.workers = workers or default_workers()
        self.state = "stopped"
        self.reason = ""
        self._port: int | None = None
        self._children: list[_Child] = []
        self._stopping = False
        self._listening_since = 0.0
        self._restart: threading.Timer | None = None
        self._quick_failures = 0  # deaths and failed restarts since it last listened a while
        self._lock = threading.Lock()  # start/stop

    @property
    def channel_id(self) -> str:
        return str(self.channel.id)

    @property
    def port(self) -> int:
        return self._port if self._port is not None else int(self.config.port)

    @property
    def pids(self) -> list[int]:
        return [child.process.pid for child in self._children]

    @property
    def pid(self) -> int | None:
        return self._children[0].process.pid if self._children else None

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._children:
                if all(child.process.is_alive() for child in self._children):
                    return
                self._end_children()  # one died: what is left goes before new ones start
            self._set_state("starting", "")
            port = int(self.config.port)
            try:
                # Bound here, once: the port's errors are said as in one process, and every
                # child accepts from this one socket.
                sock = open_listening_socket((self.host, port), ListenerServer.request_queue_size)
            except OSError as exc:
                words = explain_bind_error(self.channel_id, port, exc)
                self._set_state("error", words)
                raise ListenerStartError(words) from exc
            context = multiprocessing.get_context("spawn")
            active = context.Array("i", self.workers, lock=False)
            self._stopping = False
            try:
                for slot in range(self.workers):
                    self._children.append(self._spawn(context, sock, active, slot))
            finally:
                sock.close()  # the children hold their own copies
            failure = ""
            for child in self._children:
                if not child.started.wait(START_TIMEOUT_S):
                    child.answer = ("failed", f"channel {self.channel_id}: the receiver process did not "
                                              f"start within {START_TIMEOUT_S:.0f} s")
                if child.answer[0] != "started" and not failure:
                    failure = str(child.answer[1])
            if failure:
                self._end_children()
                self._set_state("error", failure)
                raise ListenerStartError(failure)
            self._port = int(self._children[0].answer[1])
            self._listening_since = time.monotonic()
            self._set_state("listening", "")  # the children logged it, with the port
            log.debug("channel %s: receiver processes %s", self.channel_id, self.pids)

    def _spawn(self, context: Any, sock: Any, active: Any, slot: int) -> _Child:
        parent_conn, child_conn = context.Pipe(duplex=True)
        process = context.Process(
            target=child_main,
            args=(child_conn, self.channel, str(self.data_dir), self.host, self.fsync,
                  logging.getLogger().getEffectiveLevel(), sock, active, slot),
            name=f"receiver-{self.channel_id}-{slot + 1}", daemon=True,
        )
        # The caller may be a background thread (a restart, the window's control worker).
        with normal_policy():
            process.start()
        child_conn.close()  # the child holds its end: EOF here means the child is gone
        child = _Child(process, parent_conn)
        child.reader = threading.Thread(target=self._read, args=(child,),
                                        name=f"receiver-{self.channel_id}-{slot + 1}-reader", daemon=True)
        child.reader.start()
        return child

    def stop(self) -> None:
        with self._lock:
            if self._restart is not None:
                self._restart.cancel()
                self._restart = None
            if not self._children:
                return
            self._end_children()
            self._port = None
            self._set_state("stopped", "")

    def _end_children(self) -> None:
        """Ask every child to stop, wait for them, and kill any that does not end in time."""
        self._stopping = True
        children, self._children = self._children, []
        for child in children:
            child.send(("stop",))
        for child in children:
            if child.join(STOP_TIMEOUT_S) is None:
                log.error("channel %s: a receiver process did not stop within %.0f s; killing it",
                          self.channel_id, STOP_TIMEOUT_S)
                child.process.kill()
                child.join(5)
            if child.reader is not None:
                child.reader.join(5)
            child.conn.close()

    def _set_state(self, state: str, reason: str) -> None:
        set_listener_state(self, state, reason)

    # -- the children's messages (one reader thread each) ------------------------------
    def _read(self, child: _Child) -> None:
        make_background()  # relays events to the window; the receiver process has the network
        while True:
            try:
                message = child.conn.recv()
            except (EOFError, OSError):
                break
            for one in message[1] if message[0] == "batch" else (message,):
                try:
                    self._handle(child, one)
                except Exception:  # a broken subscriber must not stop the messages
                    log.exception("channel %s: handling the receiver process's %r failed",
                                  self.channel_id, one[0])
        if not child.started.is_set():
            child.answer = ("failed", f"channel {self.channel_id}: the receiver process ended "
                                      f"while starting (exit code {child.join(5)})")
            child.started.set()
        elif not self._stopping:
            self._stopping = True
            if time.monotonic() - self._listening_since >= RESTART_AFTER_S:
                self._quick_failures = 0
            else:
                self._quick_failures += 1
            delay = self._restart_delay()
            words = (f"the receiver process of channel {self.channel_id} ended unexpectedly "
                     f"(exit code {child.join(5)}); starting it again in {delay:g} s"
                     + (f" (it had listened for less than {RESTART_AFTER_S:g} s, "
                        f"{self._quick_failures} time(s) in a row)" if self._quick_failures else ""))
            log.error("%s", words)
            for sibling in self._children:  # no half-served port: the others stop too
                if sibling is not child:
                    sibling.send(("stop",))
            self._port = None
            self._set_state("error", words)
            self._schedule_restart(delay)

    def _restart_delay(self) -> float:
        return RESTART_DELAYS_S[min(self._quick_failures, len(RESTART_DELAYS_S) - 1)]

    def _schedule_restart(self, delay: float) -> None:
        self._restart = threading.Timer(delay, self._start_again)
        self._restart.daemon = True
        self._restart.start()

    def _start_again(self) -> None:
        """After a receiver process died: the channel listens again unless someone acted meanwhile."""
        if self.state != "error":
            return
        try:
            self.start()
        except ListenerStartError as exc:
            if self.state != "error":
                return
            self._quick_failures += 1
            delay = self._restart_delay()
            log.error("channel %s could not start again: %s; next attempt in %g s", self.channel_id, exc, delay)
            self._set_state("error", f"{exc}; trying again in {delay:g} s")
            self._schedule_restart(delay)
            return
        log.info("channel %s listens again after its receiver process ended", self.channel_id)

    def _handle(self, child: _Child, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "event":
            self.priority.note_receive()
            if message[1] != events.LISTENER_STATE:  # the parent announces states itself
                self.bus.publish(message[1], **message[2])
        elif kind == "ingest":
            self.priority.note_receive()
            self.ingest(int(message[1]))
        elif kind == "log":
            record = logging.makeLogRecord(message[1])
            logging.getLogger(record.name).handle(record)
        elif kind in ("started", "failed"):
            child.answer = message
            child.started.set()


# -- the child ----------------------------------------------------------------------------
class _PipeLogHandler(logging.Handler):
    """Sends the child's records to the parent, formatted (arguments and traceback as text)."""

    def __init__(self, send: Callable[[tuple[Any, ...]], None]) -> None:
        super().__init__()
        self._send_message = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = dict(record.__dict__)
            fields["msg"] = record.getMessage()
            fields["args"] = None
            if record.exc_info:
                fields["exc_text"] = logging.Formatter().formatException(record.exc_info)
            fields["exc_info"] = None
            self._send_message(("log", fields))
        except Exception:
            self.handleError(record)


BATCH_MAX = 256  # messages per write to the parent


class _Outbox:
    """The child's messages to the parent, pickled and written by a thread of their own.

    Events, hand-overs and log lines are produced on the association's thread before the
    C-STORE response goes out; putting them on a queue costs a microsecond there, and the
    pickling and the pipe write happen while that thread waits for the next object.
    """

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._queue: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="receiver-outbox", daemon=True)
        self._thread.start()

    def put(self, message: tuple[Any, ...]) -> None:
        self._queue.put(message)

    def close(self) -> None:
        """Write what is queued, then end."""
        self._queue.put(None)
        self._thread.join(STOP_TIMEOUT_S)

    def _run(self) -> None:
        make_background()
        parent_gone = False
        stop = False
        while not stop and (message := self._queue.get()) is not None:
            # What else is queued goes in the same write: a stored object makes three
            # messages (its event, its hand-over, its log line), one wake-up of the parent.
            batch, stop = take_burst(self._queue, message, BATCH_MAX)
            if parent_gone:
                continue  # nobody to tell; keep draining so producers never block
            try:
                self._conn.send(batch[0] if len(batch) == 1 else ("batch", batch))
            except (OSError, ValueError):
                parent_gone = True


def child_main(conn: Any, channel: Any, data_dir: str, host: str, fsync: bool, log_level: int,
               sock: Any, active: Any, slot: int) -> None:
    """A receiver process: one `ChannelListener` on the shared socket until the parent says
    stop or goes away."""
    outbox = _Outbox(conn)
    send = outbox.put

    def on_event(event: events.Event) -> None:
        send(("event", event.kind, event.data))

    # Ctrl+C in a terminal and a service manager's SIGTERM reach the whole process group:
    # the parent decides when to stop, and says so (or goes away, which ends the loop below).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    root = logging.getLogger()
    for handler in list(root.handlers):  # only the parent writes the log
        root.removeHandler(handler)
    root.setLevel(log_level)
    root.addHandler(_PipeLogHandler(send))
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)

    bus = EventBus()
    bus.subscribe(on_event)
    index: Index | None = None
    try:
        index = Index(Path(data_dir) / "index.sqlite3")
        listener = ChannelListener(channel, store=InstanceStore(Path(data_dir), fsync=fsync), index=index,
                                   bus=bus, ingest=lambda instance_id: send(("ingest", instance_id)), host=host,
                                   priority=ReceivePriority(), shared=SharedListening(sock, active, slot))
        listener.start()
    except Exception as exc:  # said to the parent in words, never a bare exit code
        if isinstance(exc, ListenerStartError):
            words = str(exc)
        else:
            logging.getLogger(__name__).exception("receiver process for channel %s could not start", channel.id)
            words = f"channel {channel.id}: the receiver process could not start: {type(exc).__name__}: {exc}"
        if index is not None:
            index.close()
        send(("failed", words))
        outbox.close()
        return
    send(("started", listener.port))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the parent is gone: stop receiving, keep what is stored
            break
        if message[0] == "stop":
            break
    listener.stop()
    index.close()
    outbox.close()  # the pipe's EOF tells the parent it has ended
