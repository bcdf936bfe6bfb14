"""The composition root: builds the receiver's parts from a project and wires them together.

Every dependency is created here and passed in (STYLE 7); the GUI and headless mode
both run exactly this.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import platformdirs

from intu_desktop import events
from intu_desktop.dicom.receiver_process import ProcessListener, default_workers
from intu_desktop.dicom.scp import ChannelListener, ListenerStartError
from intu_desktop.dicom.storage import InstanceStore
from intu_desktop.events import EventBus
from intu_desktop.index.db import Index
from intu_desktop.log_file import BatchedRotatingFileHandler
from intu_desktop.receive_priority import ReceivePriority

log = logging.getLogger(__name__)

APP_NAME = "intu-desktop"


def default_data_dir() -> Path:
    env = os.environ.get("INTU_DESKTOP_DATA_DIR")
    return Path(env) if env else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_config_dir() -> Path:
    env = os.environ.get("INTU_DESKTOP_CONFIG_DIR")
    return Path(env) if env else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


class PhiSafeFormatter(logging.Formatter):
    """Log records never carry patient values: the code logs UIDs and AE titles only.

    This formatter adds nothing but a stable layout; it exists so every handler shares it.
    """

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")


def setup_logging(data_dir: Path, *, stdout: bool, level: int = logging.INFO) -> None:
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_intu", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    file_handler = BatchedRotatingFileHandler(
        logs / "intu-desktop.log", maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8")
    file_handler.setFormatter(PhiSafeFormatter())
    file_handler._intu = True  # type: ignore[attr-defined]
    root.addHandler(file_handler)
    if stdout:
        stream = logging.StreamHandler(sys.stdout)
        stream.setFormatter(PhiSafeFormatter())
        stream._intu = True  # type: ignore[attr-defined]
        root.addHandler(stream)
    # pynetdicom's own INFO lines repeat ours; its DEBUG logger can print data sets (PHI).
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)


class Runtime:
    """The running receiver: index, store, listeners, pipeline and deliveries."""

    def __init__(self, project: Any, data_dir: Path, *, bus: EventBus | None = None,
                 host: str = "", with_pipeline: bool = True, receiver_process: bool = False) -> None:
        self.project = project
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.bus = bus or EventBus()
        self.store = InstanceStore(self.data_dir)
        removed = self.store.clean_tmp()
        if removed:
            log.info("removed %d temporary file(s) left by an interrupted transfer", removed)
        self.index = Index(self.data_dir / "index.sqlite3")
        self.host = host
        # Each channel's SCP in a process of its own, as the window and headless mode run it
        # (dicom/receiver_process.py); in this process for tests and tools.
        self.receiver_process = receiver_process
        # Shared by the listeners (which stamp it) and the pipeline and deliveries (which give way).
        self.priority = ReceivePriority()
        self.pipeline: Any = None
        self.delivery: Any = None
        # Held by start(), stop() and the editor's Apply (gui/editor/apply.py): the window
        # starts the runtime on a worker after it is shown, so an Apply may come meanwhile,
        # and must neither change `listeners` under start's feet nor stop a listener that
        # start is about to bind.
        self.control_lock = threading.RLock()
        if with_pipeline:
            self._build_pipeline()
        self.listeners: dict[str, ChannelListener | ProcessListener] = {
            ch.id: self.new_listener(ch) for ch in project.dicom_channels}

    def new_listener(self, channel: Any) -> ChannelListener | ProcessListener:
        """A listener for `channel` wired to this runtime's store, index, bus and pipeline (not started)."""
        ingest: Callable[[int], None] = self.pipeline.submit if self.pipeline is not None else (lambda _i: None)
        if self.receiver_process:
            # The cores shared among the channels: several channels do not start a process per
            # core each (every process is an interpreter's worth of memory).
            workers = max(1, default_workers() // max(1, len(self.project.dicom_channels)))
            return ProcessListener(channel, data_dir=self.data_dir, bus=self.bus, ingest=ingest, host=self.host,
                                   priority=self.priority, fsync=self.store.fsync, workers=workers)
        return ChannelListener(channel, store=self.store, index=self.index, bus=self.bus, ingest=ingest,
                               host=self.host, priority=self.priority)

    def _build_pipeline(self) -> None:
        try:
            from intu_desktop.pipeline.runner import Pipeline
        except ImportError:  # pipeline package not present in a stripped build
            return
        from intu_desktop.destinations.service import DeliveryService

        self.delivery = DeliveryService(self.index, self.bus, self.project, self.data_dir, priority=self.priority)
        self.pipeline = Pipeline(self.index, self.bus, self.project, self.data_dir, self.delivery,
                                 priority=self.priority)

    def start(self) -> list[ListenerStartError]:
        """Start every listener; returns the ones that failed (each with its reason)."""
        with self.control_lock:
            return self._start()

    def _start(self) -> list[ListenerStartError]:
        if self.delivery is not None:
            self.delivery.start()
        if self.pipeline is not None:
            self.pipeline.start()
        failed: dict[str, ListenerStartError] = {}

        def start(listener: ChannelListener | ProcessListener) -> None:
            try:
                listener.start()
            except ListenerStartError as exc:
                log.error("%s", exc)
                failed[listener.channel_id] = exc

        # Side by side: a receiver process takes about half a second to import and bind.
        starting = [threading.Thread(target=start, args=(listener,), name=f"start-{listener.channel_id}")
                    for listener in self.listeners.values()]
        for thread in starting:
            thread.start()
        for thread in starting:
            thread.join()
        self.publish_disk_space()
        return [failed[channel_id] for channel_id in self.listeners if channel_id in failed]

    def publish_disk_space(self) -> None:
        usage = shutil.disk_usage(self.store.root)
        self.bus.publish(events.DISK_SPACE, free=usage.free, total=usage.total)

    def stop(self) -> None:
        with self.control_lock:
            self._stop()

    def _stop(self) -> None:
        for listener in self.listeners.values():
            listener.stop()
        if self.pipeline is not None:
            self.pipeline.stop()
        if self.delivery is not None:
            self.delivery.stop()
        self.index.close()
