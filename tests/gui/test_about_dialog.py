"""Help > About: the icon, the app version, and component versions filled in from a worker."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from PySide6.QtCore import qVersion
from PySide6.QtGui import QGuiApplication

from intu_desktop import __version__
from intu_desktop.gui.about_dialog import PENDING, AboutDialog, app_icon
from intu_desktop.gui.workers import Workers


@pytest.fixture
def workers() -> Iterator[Workers]:
    w = Workers()
    yield w
    w.shutdown()


def test_versions_arrive_from_the_worker_and_can_be_copied(qtbot: Any, workers: Workers, tmp_path: Path) -> None:
    dialog = AboutDialog(workers, data_dir=tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.copy_button.isEnabled(), timeout=10000)
    assert dialog.value_text("intu Desktop") == __version__
    assert dialog.value_text("Qt") == qVersion()
    assert dialog.value_text("pydicom") == pydicom.__version__
    assert dialog.value_text("Node.js") != PENDING
    assert dialog.value_text("Data folder") == str(tmp_path)
    dialog.copy_button.click()
    clipboard = QGuiApplication.clipboard().text()
    assert f"intu Desktop: {__version__}" in clipboard
    assert f"Qt: {qVersion()}" in clipboard


def test_slow_versions_do_not_block_the_dialog(qtbot: Any, workers: Workers) -> None:
    release = threading.Event()

    def slow() -> dict[str, str]:
        release.wait(10)
        return {"Node.js": "99.0.0 (/opt/node)", "Extra": "shown too"}

    dialog = AboutDialog(workers, versions=slow)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.value_text("Node.js") == PENDING  # the GUI thread is free meanwhile
    release.set()
    qtbot.waitUntil(lambda: dialog.value_text("Node.js") == "99.0.0 (/opt/node)", timeout=10000)
    assert dialog.value_text("Extra") == "shown too"


def test_a_failing_lookup_is_said_in_words(qtbot: Any, workers: Workers) -> None:
    def broken() -> dict[str, str]:
        raise OSError("disk gone")

    dialog = AboutDialog(workers, versions=broken)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.value_text("Qt") == "unknown (OSError)", timeout=10000)
    assert not dialog.copy_button.isEnabled()


def test_app_icon_has_every_packaged_size(qapp: Any) -> None:
    sizes = {(s.width(), s.height()) for s in app_icon().availableSizes()}
    assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= sizes


def test_closing_before_the_answer_arrives_is_harmless(qtbot: Any, workers: Workers,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()
    done = threading.Event()

    def slow() -> dict[str, str]:
        release.wait(10)
        done.set()
        return {"Node.js": "1.0.0"}

    dialog = AboutDialog(workers, versions=slow)
    dialog.show()
    dialog.close()
    dialog.deleteLater()
    qtbot.wait(20)  # the C++ dialog is gone now
    release.set()
    qtbot.waitUntil(done.is_set, timeout=10000)
    qtbot.wait(50)  # the queued result reaches the GUI thread
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
