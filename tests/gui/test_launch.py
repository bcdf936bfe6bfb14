"""Starting the window: no display, crash logging, SIGTERM, watchdog, saved layout, closing."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer

from tests.gui.conftest import ECHOSCU, free_port, needs_dcmtk, wait_for, write_channel

REPO = Path(__file__).resolve().parents[2]


def _env(**changes: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def test_display_detection():
    from intu_desktop.gui.launch import display_available

    assert not display_available({}, "linux")
    assert display_available({"DISPLAY": ":0"}, "linux")
    assert display_available({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert display_available({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not display_available({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert display_available({}, "win32") and display_available({}, "darwin")


def test_no_display_prints_one_line_and_exits_1(tmp_path):
    channel = write_channel(tmp_path / "ch", free_port())
    env = _env(DISPLAY=None, WAYLAND_DISPLAY=None, QT_QPA_PLATFORM=None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "intu_desktop",
            "--channel",
            str(channel),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert lines == [
        "No display available: run intu-desktop --headless to receive without a window"
    ]


@needs_dcmtk
def test_window_runs_listeners_and_quits_cleanly_on_sigterm(tmp_path):
    port = free_port()
    channel = write_channel(tmp_path / "ch", port)
    env = _env(QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "intu_desktop",
            "--channel",
            str(channel),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log_file = tmp_path / "data" / "logs" / "intu-desktop.log"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if log_file.exists() and "window open" in log_file.read_text(encoding="utf-8"):
                break
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.1)
        # The window opens first; its listeners start behind it.
        while time.monotonic() < deadline and "listeners started" not in log_file.read_text(encoding="utf-8"):
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.1)
        echo = subprocess.run(
            [ECHOSCU, "-aec", "INTU_SCP", "127.0.0.1", str(port)],
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert echo.returncode == 0
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    text = log_file.read_text(encoding="utf-8")
    assert "quitting: stopping listeners" in text
    assert "channel gui-test stopped" in text


def test_crash_logging_hooks(caplog):
    from PySide6.QtCore import qWarning

    from intu_desktop.gui.crash import install_crash_logging

    seen: list[str] = []
    previous_hooks = (sys.excepthook, threading.excepthook)
    uninstall = install_crash_logging(seen.append)
    try:
        with caplog.at_level(logging.DEBUG):
            try:
                raise ValueError("boom")
            except ValueError:
                sys.excepthook(*sys.exc_info())

            def fail() -> None:
                raise RuntimeError("in a thread")

            t = threading.Thread(target=fail, name="crashy")
            t.start()
            t.join()
            qWarning("a message from Qt")
    finally:
        uninstall()
    messages = [r.getMessage() for r in caplog.records]
    assert any("unexpected error (a bug): ValueError" in m for m in messages)
    assert any("thread crashy" in m and "RuntimeError" in m for m in messages)
    assert any("a message from Qt" in m for m in messages)
    assert seen == ["ValueError"]
    assert (sys.excepthook, threading.excepthook) == previous_hooks


def test_watchdog_logs_a_blocked_gui_loop_with_its_stack(qtbot, caplog):
    from intu_desktop.gui.watchdog import UiWatchdog

    watchdog = UiWatchdog()
    watchdog.start()
    try:
        qtbot.wait(200)  # heartbeats flowing

        def block_the_loop() -> None:
            time.sleep(0.4)  # a deliberate 400 ms freeze, well above the 100 ms threshold

        with caplog.at_level(logging.WARNING, logger="intu_desktop.gui.watchdog"):
            QTimer.singleShot(0, block_the_loop)
            wait_for(qtbot, lambda: watchdog.stalls >= 1, timeout_ms=5000)
    finally:
        watchdog.stop()
    stall = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ui-stall")]
    assert stall, "no ui-stall logged"
    assert "block_the_loop" in stall[0]  # the GUI thread's stack during the stall


def test_layout_is_saved_and_restored(qtbot, runtime, settings, gui_process):
    from PySide6.QtWidgets import QSplitter

    from intu_desktop.gui.main_window import MainWindow
    from tests.gui.conftest import close_window

    first = MainWindow(runtime, settings)
    first.show()
    first.instances.table.setColumnWidth(0, 333)
    first.instances.set_grouped(True)
    qtbot.wait(300)  # the views load
    screen = first.screen().availableGeometry()
    width, height = (
        screen.width() - 37,
        screen.height() - 41,
    )  # a size restoreGeometry need not clamp
    first.resize(width, height)
    side = first.findChild(QSplitter, "sideSplitter")
    side.setSizes([420, 691])
    qtbot.wait(50)
    sizes = side.sizes()
    saved = (first.size().width(), first.size().height())
    close_window(qtbot, first)

    second = MainWindow(runtime, settings)
    second.show()
    try:
        # On the 800-pixel offscreen screen the window's width is its minimum, which grows to
        # the first's once the grouped view has loaded what the first's had.
        restored_side = second.findChild(QSplitter, "sideSplitter")

        def restored() -> tuple[tuple[int, int], list[int]]:
            return (second.size().width(), second.size().height()), restored_side.sizes()

        try:
            qtbot.waitUntil(lambda: restored() == (saved, sizes), timeout=5000)
        except qtbot.TimeoutError:
            pass  # the assertion below says what differs
        assert restored() == (saved, sizes)
        assert second.instances.table.columnWidth(0) == 333
        assert second.instances.grouped
    finally:
        close_window(qtbot, second)


def test_closing_without_a_tray_quits(qtbot, window):
    if window.tray.available:
        pytest.skip("a system tray is available here: closing hides to the tray instead")
    with qtbot.waitSignal(window.quit_requested, timeout=2000):
        window.close()


def test_refcount_guard_keeps_none_and_true_alive(qapp):
    from intu_desktop.gui.qt_compat import FLOOR, RefcountGuard

    guard = RefcountGuard()
    try:
        guard.check()
        if guard.active:
            assert sys.getrefcount(None) >= FLOOR and sys.getrefcount(True) >= FLOOR
        for _ in range(20000):  # void calls and emits, many more than a test would make
            guard.setObjectName("x")
        guard.check()
        assert sys.getrefcount(None) > 1000 and sys.getrefcount(True) > 1000
    finally:
        guard.stop()
        guard.deleteLater()


def _unstarted_window(qtbot, project, tmp_path, settings):
    from intu_desktop.app import Runtime
    from intu_desktop.gui.main_window import MainWindow
    from tests.gui.conftest import pipeline_available

    runtime = Runtime(project, tmp_path / "data", host="127.0.0.1", with_pipeline=pipeline_available())
    window = MainWindow(runtime, settings)
    window.show()
    qtbot.waitExposed(window)
    return runtime, window


@needs_dcmtk
def test_the_window_is_on_screen_while_its_listeners_start_behind_it(qtbot, project, tmp_path, settings,
                                                                     gui_process, channel_port):
    """Receiver processes take a second or more to start: that happens on a worker, after the
    window is shown, and the channel's row follows it to listening."""
    from tests.gui.conftest import close_window, port_is_free, wait_for

    runtime, window = _unstarted_window(qtbot, project, tmp_path, settings)
    gate = threading.Event()
    started_on: list[threading.Thread] = []
    start = runtime.start

    def slow_start():
        started_on.append(threading.current_thread())
        assert gate.wait(10), "the window never let the start finish"
        return start()

    runtime.start = slow_start
    try:
        window.start_runtime()
        wait_for(qtbot, lambda: bool(started_on))
        assert started_on[0] is not threading.main_thread()
        ticks: list[int] = []
        QTimer.singleShot(0, lambda: ticks.append(1))
        qtbot.waitUntil(lambda: bool(ticks), timeout=5000)  # the GUI thread goes on while start waits
        assert window.isVisible() and port_is_free(channel_port)
        assert window.channels.model.row("gui-test").state == "starting"  # shown at once, not "stopped"
        gate.set()
        wait_for(qtbot, lambda: window.channels.model.row("gui-test").state == "listening")
        assert "Listening on port" in window.status.listening.text()
        echo = subprocess.run([ECHOSCU, "-aet", "STORESCU", "-aec", "INTU_SCP", "127.0.0.1", str(channel_port)],
                              capture_output=True, timeout=30, check=False)
        assert echo.returncode == 0
    finally:
        gate.set()
        close_window(qtbot, window)
        runtime.stop()


def test_a_listener_that_cannot_start_is_explained_in_a_box_that_does_not_block(qtbot, project, tmp_path, settings,
                                                                                gui_process, channel_port):
    import socket

    from PySide6.QtWidgets import QMessageBox

    from tests.gui.conftest import close_window, wait_for

    runtime, window = _unstarted_window(qtbot, project, tmp_path, settings)
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", channel_port))
    blocker.listen()
    try:
        window.start_runtime()
        wait_for(qtbot, lambda: window.findChild(QMessageBox, "startFailures") is not None)
        box = window.findChild(QMessageBox, "startFailures")
        assert box.isVisible() and box.windowModality() != Qt.WindowModality.ApplicationModal
        assert "already in use" in box.text() and str(channel_port) in box.text()
        wait_for(qtbot, lambda: window.channels.model.row("gui-test").state == "error")
        box.accept()
    finally:
        blocker.close()
        close_window(qtbot, window)
        runtime.stop()


def test_quitting_takes_the_window_off_screen_before_waiting_for_the_runtime(qtbot, runtime, settings, gui_process):
    from intu_desktop.gui.launch import close_down
    from intu_desktop.gui.main_window import MainWindow

    window = MainWindow(runtime, settings)
    window.show()
    qtbot.waitExposed(window)
    seen: list[bool] = []
    stop = runtime.stop

    def watched_stop():
        seen.append(window.isVisible())
        stop()

    runtime.stop = watched_stop

    app = _QuitRecorder(qtbot)
    window._quitting = True
    close_down(window, runtime, app)
    assert seen == [False] and app.quit_called
    assert runtime.listeners["gui-test"].state == "stopped"
    window.deleteLater()


class _QuitRecorder:
    """The parts of QApplication close_down uses; quit() must not end the test's own app."""

    def __init__(self, qtbot) -> None:
        self.qtbot = qtbot
        self.quit_called = False

    def processEvents(self) -> None:
        self.qtbot.wait(1)

    def quit(self) -> None:
        self.quit_called = True


def test_quitting_while_the_listeners_start_hides_the_window_first_and_shows_nothing_late(
        qtbot, project, tmp_path, settings, gui_process, channel_port):
    import socket

    from PySide6.QtWidgets import QMessageBox

    from intu_desktop.gui.launch import close_down

    runtime, window = _unstarted_window(qtbot, project, tmp_path, settings)
    gate, entered = threading.Event(), threading.Event()
    hidden_while_starting: list[bool] = []
    start = runtime.start

    def slow_start():
        entered.set()
        assert gate.wait(30)
        return start()  # fails: the port is taken; its box must not appear after the quit

    def finish_start_once_hidden() -> None:
        deadline = time.monotonic() + 30
        while window.isVisible() and time.monotonic() < deadline:
            time.sleep(0.01)
        hidden_while_starting.append(not window.isVisible())
        gate.set()

    runtime.start = slow_start
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", channel_port))
    blocker.listen()
    try:
        window.start_runtime()
        assert entered.wait(30)
        threading.Thread(target=finish_start_once_hidden, daemon=True).start()
        window._quitting = True
        close_down(window, runtime, _QuitRecorder(qtbot))  # waits for the start to end
        assert hidden_while_starting == [True]
        qtbot.wait(50)
        assert window.findChild(QMessageBox, "startFailures") is None
        assert runtime.listeners["gui-test"].state in ("error", "stopped")
    finally:
        gate.set()
        blocker.close()
        window.deleteLater()
        runtime.stop()
