"""The main window: composes the views over one Runtime and routes core events to them.

Everything the window needs is passed in (the runtime, the settings); everything it
creates (workers, the event bridge, timers) it also stops in `shutdown()`, so a test
or the tray's Quit leaves no thread or timer behind.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QDialog, QMainWindow, QMessageBox, QSplitter, QTabWidget, QWidget

from intu_desktop import __version__, events
from intu_desktop.events import Event
from intu_desktop.gui import settings as layout
from intu_desktop.gui.about_dialog import AboutDialog
from intu_desktop.gui.bridge import EventBridge
from intu_desktop.gui.export_dialog import ExportDialog
from intu_desktop.gui.formatting import start_of_today
from intu_desktop.gui.icons import state_icon
from intu_desktop.gui.qt_compat import RefcountGuard
from intu_desktop.gui.thumbnail_provider import ThumbnailProvider
from intu_desktop.gui.troubleshoot import AssociationInspector, RemoteNodesView, TroubleshootTools
from intu_desktop.gui.views.associations_view import AssociationsView
from intu_desktop.gui.views.channels_panel import ChannelsPanel
from intu_desktop.gui.views.instance_detail import InstanceDetail
from intu_desktop.gui.views.instances_view import InstancesView
from intu_desktop.gui.views.log_view import LogView, QueueLogHandler
from intu_desktop.gui.views.status_bar import StatusBar
from intu_desktop.gui.views.thumbnails_view import LiveStrip, ThumbnailGrid
from intu_desktop.gui.views.transform_view import TransformView
from intu_desktop.gui.views.tray import Tray
from intu_desktop.gui.workers import Workers
from intu_desktop.index.db import Index
from intu_desktop.thumbnails import ThumbnailCache

log = logging.getLogger(__name__)

STATS_MS = 1000
DISK_EVERY_TICKS = 30
THUMBNAIL_SIZE = 128
CLOSE_TO_TRAY_TEXT = (
    "Closing the window keeps the listeners running in the system tray, so modalities can still "
    "send. Use Quit in the tray menu or the File menu to stop receiving. You can change this in "
    "the View menu."
)


def read_stats(index: Index, pipeline: Any, delivery: Any) -> dict[str, Any]:
    """Worker side: today's counts per channel and the queue depths."""
    since = start_of_today()
    rows = index.query(
        "SELECT channel_id, COUNT(*) FROM instances WHERE received_at >= ? GROUP BY channel_id",
        (since,),
    )
    counts = {str(r[0]): int(r[1]) for r in rows}
    delivery_depth = _depth(delivery)
    if delivery_depth is None and delivery is not None:
        # The durable queue is the deliveries table: pending rows are the queue.
        delivery_depth = int(
            index.query("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'")[0][0]
        )
    return {
        "counts": counts,
        "today": sum(counts.values()),
        "pipeline": _depth(pipeline),
        "delivery": delivery_depth,
    }


def _depth(service: Any) -> int | None:
    for name in ("depth", "queue_depth"):
        fn = getattr(service, name, None)
        if callable(fn):
            try:
                return int(fn())
            except Exception:  # a stopped service: show "–" rather than fail the status bar
                return None
    return None


class MainWindow(QMainWindow):
    quit_requested = Signal()

    def __init__(self, runtime: Any, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.settings = settings
        self._quitting = False
        self._closed_down = False
        self._layout_saved = False
        self.setWindowTitle(f"intu Desktop {__version__}")
        self.setWindowIcon(state_icon("ok"))
        self.resize(1400, 900)

        self.refcount_guard = RefcountGuard(self)
        self.refcount_guard.start()
        index = runtime.index
        self.workers = Workers(self)
        self.bridge = EventBridge(runtime.bus, self)
        self.thumbnail_cache = ThumbnailCache(Path(runtime.data_dir) / "thumbnails")
        self.thumbnails = ThumbnailProvider(
            lambda path, sop, size: self.thumbnail_cache.get_or_render(path, sop, size),
            self.workers,
            self,
            size=THUMBNAIL_SIZE,
            priority=runtime.priority,
        )
        self.log_handler = QueueLogHandler()
        logging.getLogger().addHandler(self.log_handler)

        channels = list(
            getattr(runtime.project, "channels", None)
            or [listener.channel for listener in runtime.listeners.values()]
        )
        self.channels = ChannelsPanel(channels, runtime.listeners, self.workers, self)
        self.instances = InstancesView(index, self.workers, self)
        self.grid = ThumbnailGrid(index, self.workers, self.thumbnails, self)
        self.detail = InstanceDetail(index, self.workers, self)
        self.transform = TransformView(
            index, self.workers, runtime.pipeline, runtime.delivery, self
        )
        self.associations = AssociationsView(index, self.workers, self)
        self.log_view = LogView(self.log_handler, self)
        self.strip = LiveStrip(index, self.workers, self.thumbnails, self)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)

        self.detail_tabs = QTabWidget(self)
        self.detail_tabs.setObjectName("detailTabs")
        self.detail_tabs.addTab(self.grid, "Thumbnails")
        self.detail_tabs.addTab(self.detail, "Image and tags")
        self.detail_tabs.addTab(self.transform, "Transform")
        instances_split = QSplitter(Qt.Orientation.Vertical, self)
        instances_split.setObjectName("instancesSplitter")
        instances_split.addWidget(self.instances)
        instances_split.addWidget(self.detail_tabs)
        instances_split.setSizes([420, 380])
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("mainTabs")
        self.tabs.addTab(instances_split, "Instances")
        self.tabs.addTab(self.associations, "Associations")
        self.tabs.addTab(self.log_view, "Events")
        # Troubleshooting (issue 7): the inspector replaces the associations details pane.
        self.editor: Any = None
        self.export_dialog: ExportDialog | None = None
        self.inspector = AssociationInspector(runtime, self.open_editor)
        self.inspector.attach(self.associations)
        self.remote_nodes = RemoteNodesView(self.workers, runtime, self)
        self.tabs.addTab(self.remote_nodes, "Remote nodes")
        self.troubleshoot = TroubleshootTools(self.workers, runtime, self)
        side = QSplitter(Qt.Orientation.Horizontal, self)
        side.setObjectName("sideSplitter")
        side.addWidget(self.channels)
        side.addWidget(self.tabs)
        side.setStretchFactor(1, 1)
        side.setSizes([360, 1100])
        main = QSplitter(Qt.Orientation.Vertical, self)
        main.setObjectName("mainSplitter")
        main.addWidget(side)
        main.addWidget(self.strip)
        main.setStretchFactor(0, 1)
        main.setCollapsible(0, False)
        self.setCentralWidget(main)

        self.tray = Tray(self, self.show_window, self.request_quit)
        self._build_menus()

        self.bridge.events_ready.connect(self._on_events)
        self.bridge.interval_changed.connect(self.instances.set_live_interval)
        self.instances.instance_selected.connect(self.show_instance)
        self.instances.study_selected.connect(self.grid.show_study)
        self.grid.instance_activated.connect(self._activate_instance)
        self.strip.instance_activated.connect(self._activate_instance)

        self._stats_dirty = True
        self._stats_busy = False
        self._ticks = 0
        self._stats_timer = QTimer(self)
        self._stats_timer.setObjectName("status-stats")
        self._stats_timer.setInterval(STATS_MS)
        self._stats_timer.timeout.connect(self._tick)
        self._stats_timer.start()
        self.workers.control(self._disk_usage, self._apply_disk)
        layout.restore_layout(settings, self)
        grouped = layout.flag(settings, layout.GROUP_BY_STUDY, False)
        if grouped:
            self.instances.set_grouped(True)
        self._update_listening()

    # -- menus ------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit (stop receiving)", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.request_quit)
        file_menu.addAction(quit_action)
        export_action = QAction("&Export received metadata…", self)
        export_action.triggered.connect(self.open_export)
        file_menu.insertAction(quit_action, export_action)
        channels_menu = self.menuBar().addMenu("&Channels")
        edit_action = QAction("&Edit channels…", self)
        edit_action.triggered.connect(lambda: self.open_editor().show())
        channels_menu.addAction(edit_action)
        view_menu = self.menuBar().addMenu("&View")
        self.tray_action = QAction("Keep receiving in the tray when the window is closed", self)
        self.tray_action.setCheckable(True)
        self.tray_action.setEnabled(self.tray.available)
        self.tray_action.setChecked(
            self.tray.available and layout.flag(self.settings, layout.CLOSE_TO_TRAY, True)
        )
        self.tray_action.toggled.connect(
            lambda on: layout.set_flag(self.settings, layout.CLOSE_TO_TRAY, on)
        )
        view_menu.addAction(self.tray_action)
        group_action = QAction("Group instances by study", self)
        group_action.setCheckable(True)
        group_action.toggled.connect(self.instances.set_grouped)
        self.instances.filter_bar.group.toggled.connect(group_action.setChecked)
        view_menu.addAction(group_action)
        self.troubleshoot.add_menu(self.menuBar())
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About intu Desktop", self)
        about.triggered.connect(
            lambda: AboutDialog(self.workers, self, data_dir=self.runtime.data_dir).open()
        )
        help_menu.addAction(about)

    # -- editor and export ------------------------------------------------------------------
    def open_editor(self) -> Any:
        """The one channel editor, on the open project (or the channel files given)."""
        if self.editor is None:
            from intu_desktop.gui.editor import ChannelEditor
            from intu_desktop.gui.editor.apply import restart_listener

            project = self.runtime.project
            files = [ch.path for ch in getattr(project, "channels", [])]
            self.editor = ChannelEditor(getattr(project, "root", None), files,
                                        lambda ch: restart_listener(self.runtime, ch), None)
            self.editor.setWindowIcon(self.windowIcon())
        return self.editor

    def open_export(self) -> ExportDialog:
        """Export what the instances view shows now (its filter), or everything."""
        self.export_dialog = ExportDialog(self.runtime.index, self.workers,
                                          self.instances.current_filter(), self)
        self.export_dialog.open()
        return self.export_dialog

    # -- selection --------------------------------------------------------------------------
    def show_instance(self, instance_id: int) -> None:
        self.detail.show_instance(instance_id)
        self.transform.show_instance(instance_id)
        self.grid.show_instance(instance_id)

    def _activate_instance(self, instance_id: int) -> None:
        self.tabs.setCurrentIndex(0)
        if not self.instances.select_instance(instance_id):
            self.show_instance(instance_id)

    # -- events -----------------------------------------------------------------------------
    def _on_events(self, batch: list[Event]) -> None:
        self.channels.apply_events(batch)
        self.associations.apply_events(batch)
        self.instances.apply_events(batch)
        self.strip.apply_events(batch)
        self.transform.apply_events(batch)
        self.tray.apply_events(batch)
        self.remote_nodes.apply_events(batch)
        for event in batch:
            if event.kind == events.INSTANCE_STORED or event.kind == events.PIPELINE_RUN:
                self._stats_dirty = True
            elif event.kind == events.DISK_SPACE:
                self.status.set_disk(
                    int(event.data.get("free", 0)), int(event.data.get("total", 0))
                )
        if any(e.kind == events.LISTENER_STATE for e in batch):
            self._update_listening()

    def _update_listening(self) -> None:
        ports = self.channels.model.listening_ports()
        self.status.set_ports(ports)
        states = [listener.state for listener in self.runtime.listeners.values()]
        if any(s == "error" for s in states):
            self.tray.set_state("error", "a listener could not start")
        elif states and all(s == "listening" for s in states):
            self.tray.set_state("ok", "listening on port " + ", ".join(ports))
        else:
            self.tray.set_state("idle", "not listening" if not ports else "some channels stopped")

    def _tick(self) -> None:
        self._ticks += 1
        if self._ticks % DISK_EVERY_TICKS == 0:
            self.workers.control(self._disk_usage, self._apply_disk)
        pipeline_busy = _depth(self.runtime.pipeline) or _depth(self.runtime.delivery)
        if (self._stats_dirty or pipeline_busy or self._ticks % 5 == 0) and not self._stats_busy:
            self._stats_dirty = False
            self._stats_busy = True
            self.workers.db(
                lambda: read_stats(
                    self.runtime.index, self.runtime.pipeline, self.runtime.delivery
                ),
                self._apply_stats,
                self._stats_failed,
            )

    def _apply_stats(self, stats: dict[str, Any]) -> None:
        self._stats_busy = False
        self.channels.set_counts(stats["counts"])
        self.status.set_received_today(int(stats["today"]))
        self.status.set_queues(stats["pipeline"], stats["delivery"])

    def _stats_failed(self, error: BaseException) -> None:
        self._stats_busy = False
        log.warning("reading statistics failed: %s", error)

    def _disk_usage(self) -> tuple[int, int]:
        usage = shutil.disk_usage(self.runtime.store.root)
        return int(usage.free), int(usage.total)

    def _apply_disk(self, usage: tuple[int, int]) -> None:
        self.status.set_disk(*usage)

    # -- closing ----------------------------------------------------------------------------
    def show_window(self) -> None:
        self.show()
        self.raise_()
        self.activateWindow()

    def request_quit(self) -> None:
        self._quitting = True
        self.quit_requested.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._quitting or self._closed_down:
            event.accept()
            return
        if self.tray.available and self.tray_action.isChecked():
            event.ignore()
            self.hide()
            if not layout.flag(self.settings, layout.CLOSE_EXPLAINED, False):
                layout.set_flag(self.settings, layout.CLOSE_EXPLAINED, True)
                QMessageBox.information(None, "intu Desktop is still receiving", CLOSE_TO_TRAY_TEXT)
            return
        event.accept()
        self.request_quit()

    def start_runtime(self) -> None:
        """Start listeners, pipeline and deliveries on the control worker, once the window is
        on screen: receiver processes take a second or more to import and bind, and each
        channel's row shows them go from starting to listening (or to the reason they could not)."""
        for channel_id, listener in self.runtime.listeners.items():
            if listener.state == "stopped":  # until its own state events arrive
                self.channels.model.set_state(channel_id, "starting", "", listener.port)
        self.workers.control(self.runtime.start, self._runtime_started, self._runtime_failed)

    def _runtime_started(self, failures: list[Any]) -> None:
        log.info("listeners started: %d listening, %d could not start",
                 len(self.runtime.listeners) - len(failures), len(failures))
        if failures:
            self._warn_start("\n\n".join(str(f) for f in failures))

    def _runtime_failed(self, error: BaseException) -> None:
        log.error("starting failed: %s", error, exc_info=error)
        self._warn_start(f"Starting failed: {error}")

    def _warn_start(self, text: str) -> None:
        # Not modal-blocking: the window keeps painting and receiving behind it.
        box = QMessageBox(QMessageBox.Icon.Warning, "A listener could not start", text,
                          QMessageBox.StandardButton.Ok, self)
        box.setObjectName("startFailures")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def watch(self, watchdog: Any) -> None:
        """A heartbeat that comes late (the GUI thread short of CPU or GIL) makes the event
        bridge update the views less often until things calm down."""
        watchdog.strained.connect(self.bridge.note_strain)

    def save_layout(self) -> None:
        """Window geometry, splitters, columns and grouping, for the next start. Once: a
        quit saves it while the window is still on screen (launch.close_down)."""
        if self._layout_saved:
            return
        self._layout_saved = True
        layout.set_flag(self.settings, layout.GROUP_BY_STUDY, self.instances.grouped)
        layout.save_layout(self.settings, self)

    def shutdown(self) -> None:
        """Save the layout and stop everything the window started. Idempotent."""
        if self._closed_down:
            return
        self._closed_down = True
        self.save_layout()
        self._stats_timer.stop()
        if self.editor is not None:
            self.editor.shutdown()
            self.editor.close()
        self.refcount_guard.stop()
        self.bridge.close()
        self.instances.stop()
        self.strip.stop()
        self.log_view.stop()
        self.thumbnails.cancel_waiting()
        # What the user started (an export, a Send) stops: a process that lingered on it after
        # its window had gone would keep the port, and the next launch could not listen.
        for dialog in self.findChildren(QDialog):
            stop_work = getattr(dialog, "stop_work", None)
            if callable(stop_work):
                stop_work()
        self.workers.shutdown()
        logging.getLogger().removeHandler(self.log_handler)
        self.tray.hide()
