"""Fixtures for the window tests: offscreen Qt, a real channel on a free port, DCMTK senders,
and a check that every test leaves no thread, QTimer, QThread or listener running."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import gc
import importlib.util
import logging
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

STORESCU = "/usr/bin/storescu"
ECHOSCU = "/usr/bin/echoscu"
# Threads the app starts; none may survive a test.
OUR_THREADS = ("listener-", "gui-", "ui-watchdog", "index-writer", "pipeline-", "delivery")

needs_dcmtk = pytest.mark.skipif(not Path(STORESCU).exists(), reason="DCMTK storescu not installed")


def pipeline_available() -> bool:
    try:
        return all(
            importlib.util.find_spec(m) is not None
            for m in ("intu_desktop.pipeline.runner", "intu_desktop.destinations.service")
        )
    except ModuleNotFoundError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


CHANNEL_YAML = """\
id: {channel_id}
enabled: true
description: window test channel
listener:
  type: dicom
  dicom:
    port: {port}
    ae_title: INTU_SCP
{calling}
"""


def write_channel(
    folder: Path,
    port: int,
    calling: list[str] | None = None,
    channel_id: str = "gui-test",
    extra: str = "",
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    calling_text = ""
    if calling:
        calling_text = "    calling_ae_titles:\n" + "".join(f"      - {ae}\n" for ae in calling)
    path = folder / "channel.yaml"
    path.write_text(
        CHANNEL_YAML.format(channel_id=channel_id, port=port, calling=calling_text) + extra,
        encoding="utf-8",
    )
    return path


def load_project(paths: list[Path]) -> Any:
    from intu_desktop.config import load_channel_files

    project = load_channel_files(paths)
    assert not project.errors, [str(e) for e in project.errors]
    return project


@pytest.fixture
def settings(tmp_path: Path) -> Any:
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def channel_port() -> int:
    return free_port()


@pytest.fixture
def project(tmp_path: Path, channel_port: int) -> Any:
    path = write_channel(
        tmp_path / "project" / "gui-test", channel_port, calling=["STORESCU", "CT_SCANNER_1"]
    )
    return load_project([path])


@pytest.fixture
def runtime(request: pytest.FixtureRequest, project: Any, tmp_path: Path) -> Iterator[Any]:
    from intu_desktop.app import Runtime

    # @pytest.mark.receiver_process: receivers in processes of their own, as the app runs them.
    in_processes = request.node.get_closest_marker("receiver_process") is not None
    if in_processes:
        # A receiver process logs at the level the root logger had when it started (INFO in
        # the app, after setup_logging): set it first, or caplog never sees the child's lines.
        request.getfixturevalue("caplog").set_level(logging.INFO)
    rt = Runtime(project, tmp_path / "data", host="127.0.0.1", with_pipeline=pipeline_available(),
                 receiver_process=in_processes)
    failures = rt.start()
    assert not failures, [str(f) for f in failures]
    yield rt
    rt.stop()


@pytest.fixture
def gui_process() -> Iterator[None]:
    """The process settings `run_gui` applies, restored afterwards."""
    import sys

    from intu_desktop.gui.launch import configure_process

    previous = configure_process()
    yield
    sys.setswitchinterval(previous)


@pytest.fixture
def window(qtbot: Any, runtime: Any, settings: Any, gui_process: None) -> Iterator[Any]:
    from intu_desktop.gui.launch import settle_heap
    from intu_desktop.gui.main_window import MainWindow

    win = MainWindow(runtime, settings)
    win.show()
    qtbot.waitExposed(win)
    settle_heap()
    yield win
    gc.unfreeze()
    close_window(qtbot, win)


def close_window(qtbot: Any, win: Any) -> None:
    from PySide6.QtCore import QTimer

    win.shutdown()
    win._quitting = True
    win.close()
    timers = [t for t in win.findChildren(QTimer) if t.isActive()]
    assert not timers, [t.objectName() for t in timers]
    win.deleteLater()
    qtbot.wait(10)


class Sender:
    """Runs DCMTK tools while the Qt event loop keeps running (the window must stay live)."""

    def __init__(self, qtbot: Any) -> None:
        self.qtbot = qtbot

    def run(self, argv: list[str], timeout_ms: int = 60000) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(argv, stdout=out, stderr=err, text=True)
            try:
                spin_until(lambda: proc.poll() is not None, timeout_ms)
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(argv, proc.returncode, out.read(), err.read())

    def store(
        self,
        port: int,
        files: list[str | Path],
        aet: str = "STORESCU",
        options: list[str] | None = None,
        timeout_ms: int = 60000,
    ) -> subprocess.CompletedProcess[str]:
        argv = [
            STORESCU,
            *(options or []),
            "-aet",
            aet,
            "-aec",
            "INTU_SCP",
            "127.0.0.1",
            str(port),
            *map(str, files),
        ]
        return self.run(argv, timeout_ms)

    def echo(self, port: int, aet: str = "STORESCU") -> subprocess.CompletedProcess[str]:
        return self.run([ECHOSCU, "-aet", aet, "-aec", "INTU_SCP", "127.0.0.1", str(port)])


@pytest.fixture
def sender(qtbot: Any) -> Sender:
    return Sender(qtbot)


def _our_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith(OUR_THREADS) and t.is_alive()}


def _active_qt_objects() -> list[str]:
    from PySide6.QtCore import QThread, QTimer

    found = []
    for obj in gc.get_objects():
        try:
            if isinstance(obj, QTimer) and obj.isActive():
                found.append(f"QTimer {obj.objectName()!r}")
            elif (
                isinstance(obj, QThread) and obj.isRunning() and obj is not QThread.currentThread()
            ):
                found.append(f"QThread {obj.objectName()!r}")
        except RuntimeError:  # the C++ object is already gone
            continue
    return found


@pytest.fixture(autouse=True)
def no_leaks(qapp: Any) -> Iterator[None]:
    """Set up first, torn down last: runs after the window and runtime fixtures have closed."""
    before_threads = _our_threads()
    before_qt = set(_active_qt_objects())
    yield
    deadline = time.monotonic() + 5
    leaked = _our_threads() - before_threads
    while leaked and time.monotonic() < deadline:
        time.sleep(0.05)
        leaked = _our_threads() - before_threads
    assert not leaked, f"threads left running: {sorted(t.name for t in leaked)}"
    qapp.processEvents()
    gc.collect()
    left = [o for o in _active_qt_objects() if o not in before_qt]
    assert not left, f"Qt objects left running: {left}"


def copies_of(source: Path, folder: Path, count: int) -> list[Path]:
    """`count` copies of a DICOM file, each with its own SOP Instance UID (one series)."""
    import pydicom
    from pydicom.uid import generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    ds = pydicom.dcmread(source)
    series = generate_uid()
    out = []
    for i in range(count):
        uid = generate_uid()
        ds.SOPInstanceUID = uid
        ds.file_meta.MediaStorageSOPInstanceUID = uid
        ds.SeriesInstanceUID = series
        ds.InstanceNumber = i + 1
        path = folder / f"{i:05d}.dcm"
        ds.save_as(path)
        out.append(path)
    return out


def spin_until(condition: Callable[[], bool], timeout_ms: int = 20000, poll_ms: int = 50) -> None:
    """Run the Qt event loop, as the app does (one exec, no nested polling loops), until
    `condition()` holds; raise TimeoutError otherwise."""
    from PySide6.QtCore import QEventLoop, QTimer

    if condition():
        return
    loop = QEventLoop()
    deadline = time.monotonic() + timeout_ms / 1000
    timer = QTimer()
    timer.setInterval(poll_ms)

    def check() -> None:
        if condition() or time.monotonic() > deadline:
            loop.quit()

    timer.timeout.connect(check)
    timer.start()
    try:
        loop.exec()
    finally:
        timer.stop()
    if not condition():
        raise TimeoutError(f"condition not met within {timeout_ms} ms")


def wait_for(qtbot: Any, condition: Callable[[], bool], timeout_ms: int = 20000) -> None:
    spin_until(condition, timeout_ms)
