"""`intu-desktop` with a window: checks for a display, builds the app, runs the receiver."""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

log = logging.getLogger(__name__)

NO_DISPLAY = "No display available: run intu-desktop --headless to receive without a window"
# The receiver's threads (pynetdicom, index, workers) share the GIL with the GUI thread,
# and every call from Qt into a model's Python `data()` must take the GIL. With
# CPython's default 5 ms switch interval a painting GUI thread can wait 5 ms per
# call behind a busy association thread; 1 ms keeps a burst of arrivals from
# freezing the window (measured: 2,000 C-STOREs, no ui-stall at 1 ms, several at 5 ms).
GUI_SWITCH_INTERVAL_S = 0.001


def display_available(
    environ: Mapping[str, str] = os.environ, platform: str = sys.platform
) -> bool:
    """On Linux/BSD Qt needs X11 or Wayland unless a display-less platform plugin is chosen."""
    if platform.startswith(("win", "darwin", "cygwin")):
        return True
    qpa = environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if qpa in ("offscreen", "minimal", "vnc", "eglfs", "linuxfb"):
        return True
    if qpa == "wayland":
        return bool(environ.get("WAYLAND_DISPLAY"))
    if qpa == "xcb":
        return bool(environ.get("DISPLAY"))
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


def configure_process() -> float:
    """Process settings the window relies on; returns the previous switch interval."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)
    return previous


def settle_heap() -> None:
    """After start-up: move the objects alive now (modules, dictionaries, widgets) out of
    the collector's reach, so a full collection during a burst scans only new objects
    and cannot pause the GUI thread for long."""
    gc.collect()
    gc.freeze()


def close_down(window: Any, runtime: Any, app: Any) -> None:
    """Quit: the window leaves the screen first, then everything stops. The waits that
    follow can take seconds (a start or an export still running, deliveries in flight,
    the receiver processes); a window that stayed on screen meanwhile would look frozen."""
    window.save_layout()  # while it is on screen
    window.workers.close()  # from here on no queued work starts and no result is shown
    window.hide()
    app.processEvents()  # let the window system unmap it before the waits
    window.shutdown()  # waits for work already running (the start, an export)
    runtime.stop()
    app.quit()


def run_gui(project: Any, data_dir: Path, args: Any = None) -> int:
    if not display_available():
        print(NO_DISPLAY, file=sys.stderr)
        return 1
    from PySide6.QtCore import QCoreApplication, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from intu_desktop.app import Runtime, setup_logging
    from intu_desktop.gui import settings as layout
    from intu_desktop.gui.crash import install_crash_logging
    from intu_desktop.gui.main_window import MainWindow
    from intu_desktop.gui.watchdog import UiWatchdog

    data_dir = Path(data_dir)
    configure_process()
    setup_logging(data_dir, stdout=False)
    uninstall = install_crash_logging()
    QCoreApplication.setOrganizationName(layout.ORGANIZATION)
    QCoreApplication.setApplicationName(layout.APPLICATION)
    app = cast(QApplication, QApplication.instance() or QApplication(sys.argv[:1]))
    app.setQuitOnLastWindowClosed(False)  # the tray keeps the app alive; Quit ends it
    # Receivers in processes of their own: the GUI thread never waits for their interpreter lock.
    runtime = Runtime(project, data_dir, receiver_process=True)
    window = MainWindow(runtime, QSettings(layout.ORGANIZATION, layout.APPLICATION))
    watchdog = UiWatchdog(window)
    window.watch(watchdog)
    stopping = False

    def quit_app() -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        log.info("quitting: stopping listeners")
        watchdog.stop()  # stopping listeners may block the loop briefly; that is not a stall
        close_down(window, runtime, app)

    window.quit_requested.connect(quit_app)
    app.aboutToQuit.connect(quit_app)
    # Python runs signal handlers only between bytecodes: a periodic no-op lets SIGINT/SIGTERM in.
    wake = QTimer(window)
    wake.setObjectName("signal-wakeup")
    wake.start(200)
    wake.timeout.connect(lambda: None)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: QTimer.singleShot(0, quit_app))
    window.show()
    settle_heap()
    watchdog.start()
    log.info("window open; data in %s", data_dir)
    # After the window is on screen, and off the GUI thread (MainWindow.start_runtime).
    window.start_runtime()
    try:
        code = app.exec()
    finally:
        quit_app()
        uninstall()
    logging.shutdown()
    return int(code)
