"""A channel's receiver in a process of its own, as the window and headless mode run it (issue 9).

In one process the window's GUI thread, the pipeline and the receive threads share one
interpreter lock: every call from Qt into a model's Python `data()` waits for it while a
study arrives, and every object received waits while the window paints or a transform's
result is handled. Here the SCP (`ChannelListener`: network, store, header, index row)
runs in a child process with its own interpreter; the parent keeps the pipeline, the
deliveries and the window. Measured (benchmarks/receive.py, same run): ten senders into
the window, 46.8 s and no `ui-stall` line, against 77 s and 11-48 lines in one process.

`ProcessListener` is the parent's handle and has the interface the rest of the app uses
of a `ChannelListener` (`channel`, `state`, `reason`, `port`, `start`, `stop`). The two
talk over one duplex pipe of pickled tuples:

    parent -> child   ("stop",)
    child -> parent   ("started", port) | ("failed", words)   once, after the start
                      ("event", kind, data)                     every bus event but the state
                      ("ingest", instance_id)                   a new version for the pipeline
                      ("log", record_dict)                      the child's log records
                      ("stopped",)                              after an orderly stop

The child writes the index itself (SQLite in WAL mode serialises the two processes'
writers) and answers each C-STORE only after its own commit, exactly as in one process.
Its log records are written by the parent's handlers, so there is one log file.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from intu_desktop import events
from intu_desktop.dicom.scp import ListenerStartError
from intu_desktop.events import EventBus
from intu_desktop.receive_priority import NEVER, ReceivePriority

log = logging.getLogger(__name__)

# How long a child may take to import, open the index and bind its port.
START_TIMEOUT_S = 60.0
# How long an orderly stop may take (open associations are aborted) before the child is killed.
STOP_TIMEOUT_S = 10.0


class ProcessListener:
    """The parent's handle on one channel's receiver process."""

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
    ) -> None:
        self.channel = channel
        self.config = channel.dicom
        self.data_dir = Path(data_dir)
        self.bus = bus
        self.ingest = ingest
        self.host = host
        self.priority = priority  # stamped for every message: the parent's background work gives way
        self.fsync = fsync
        self.state = "stopped"
        self.reason = ""
        self._port: int | None = None
        self._process: Any = None
        self._conn: Any = None
        self._reader: threading.Thread | None = None
        self._started = threading.Event()
        self._start_answer: tuple[Any, ...] = ()
        self._stopping = False
        self._lock = threading.Lock()  # start/stop
        self._send_lock = threading.Lock()

    @property
    def channel_id(self) -> str:
        return str(self.channel.id)

    @property
    def port(self) -> int:
        return self._port if self._port is not None else int(self.config.port)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._process is not None:
                if self._process.is_alive():
                    return
                self._end_process()  # it died: what is left of it goes before a new one starts
            self._set_state("starting", "")
            context = multiprocessing.get_context("spawn")
            parent_conn, child_conn = context.Pipe(duplex=True)
            process = context.Process(
                target=child_main,
                args=(child_conn, self.channel, str(self.data_dir), self.host, self.fsync,
                      logging.getLogger().getEffectiveLevel()),
                name=f"receiver-{self.channel_id}", daemon=True,
            )
            self._stopping = False
            self._started.clear()
            self._start_answer = ()
            process.start()
            child_conn.close()  # the child holds its end: EOF here means the child is gone
            self._process, self._conn = process, parent_conn
            self._reader = threading.Thread(target=self._read, args=(parent_conn, process),
                                            name=f"receiver-{self.channel_id}-reader", daemon=True)
            self._reader.start()
            if not self._started.wait(START_TIMEOUT_S):
                self._start_answer = ("failed", f"channel {self.channel_id}: the receiver process did not "
                                                f"start within {START_TIMEOUT_S:.0f} s")
            answer = self._start_answer
            if answer[0] != "started":
                self._end_process()
                self._set_state("error", str(answer[1]))
                raise ListenerStartError(str(answer[1]))
            self._port = int(answer[1])
            self._set_state("listening", "")  # the child logged it, with the port
            log.debug("channel %s: receiver process %d", self.channel_id, process.pid)

    def stop(self) -> None:
        with self._lock:
            if self._process is None:
                return
            self._end_process()
            self._port = None
            self._set_state("stopped", "")

    def _end_process(self) -> None:
        """Ask the child to stop, wait for it, and kill it if it does not end in time."""
        process, conn, reader = self._process, self._conn, self._reader
        self._stopping = True
        self._send(("stop",))
        process.join(STOP_TIMEOUT_S)
        if process.is_alive():
            log.error("channel %s: the receiver process did not stop within %.0f s; killing it",
                      self.channel_id, STOP_TIMEOUT_S)
            process.kill()
            process.join(5)
        if reader is not None:
            reader.join(5)
        conn.close()
        self._process = self._conn = self._reader = None

    def _send(self, message: tuple[Any, ...]) -> None:
        with self._send_lock:
            try:
                self._conn.send(message)
            except (OSError, ValueError):  # the child is gone already
                pass

    def _set_state(self, state: str, reason: str) -> None:
        self.state, self.reason = state, reason
        self.bus.publish(events.LISTENER_STATE, channel_id=self.channel_id, state=state,
                         reason=reason, port=int(self.config.port))

    # -- the child's messages (reader thread) --------------------------------------------
    def _read(self, conn: Any, process: Any) -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            try:
                self._handle(message)
            except Exception:  # a broken subscriber must not stop the messages
                log.exception("channel %s: handling the receiver process's %r failed",
                              self.channel_id, message[0])
        if not self._started.is_set():
            process.join(5)
            self._start_answer = ("failed", f"channel {self.channel_id}: the receiver process ended "
                                            f"while starting (exit code {process.exitcode})")
            self._started.set()
        elif not self._stopping:
            process.join(5)
            words = (f"the receiver process of channel {self.channel_id} ended unexpectedly "
                     f"(exit code {process.exitcode}); start the channel again")
            log.error("%s", words)
            self._port = None
            self._set_state("error", words)

    def _handle(self, message: tuple[Any, ...]) -> None:
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
            self._start_answer = message
            self._started.set()


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
        parent_gone = False
        while (message := self._queue.get()) is not None:
            if parent_gone:
                continue  # nobody to tell; keep draining so producers never block
            try:
                self._conn.send(message)
            except (OSError, ValueError):
                parent_gone = True


def child_main(conn: Any, channel: Any, data_dir: str, host: str, fsync: bool, log_level: int) -> None:
    """The receiver process: one `ChannelListener` until the parent says stop or goes away."""
    from intu_desktop.dicom.scp import ChannelListener
    from intu_desktop.dicom.storage import InstanceStore
    from intu_desktop.index.db import Index

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
    index = Index(Path(data_dir) / "index.sqlite3")
    listener = ChannelListener(channel, store=InstanceStore(Path(data_dir), fsync=fsync), index=index, bus=bus,
                               ingest=lambda instance_id: send(("ingest", instance_id)), host=host,
                               priority=ReceivePriority())
    try:
        listener.start()
    except ListenerStartError as exc:
        index.close()
        send(("failed", str(exc)))
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
    send(("stopped",))
    outbox.close()
