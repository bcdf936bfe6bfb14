"""The Echo, Send and Test-my-listener tools against a real running channel."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from tests.dicomtools import dcmtk, wait_port
from tests.gui.conftest import free_port, load_project, needs_dcmtk, spin_until, write_channel


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[int]:
    """DCMTK's storescp as the remote node (a PACS or workstation the tools talk to)."""
    port = free_port()
    out = tmp_path / "storescp"
    out.mkdir()
    proc = subprocess.Popen([dcmtk("storescp"), "-aet", "PACS", "-od", str(out), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def workers(qtbot: Any) -> Iterator[Any]:
    from intu_desktop.gui.workers import Workers

    w = Workers()
    yield w
    w.shutdown()


@needs_dcmtk
def test_echo_reports_success_and_round_trip(qtbot: Any, storescp: int, workers: Any) -> None:
    from intu_desktop.gui.troubleshoot import EchoDialog

    dialog = EchoDialog(workers, port=storescp, aet="INTU_DESKTOP", aec="PACS")
    qtbot.addWidget(dialog)
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    spin_until(lambda: dialog.last_result is not None)
    text = dialog.result_label.text()
    assert text.startswith("Success: PACS answered the C-ECHO. Round trip "), text
    assert text.endswith(" ms.")
    assert dialog.last_result is not None and dialog.last_result.rtt_ms is not None


def test_echo_with_wrong_called_ae_names_the_reason(qtbot: Any, runtime: Any, channel_port: int,
                                                     workers: Any) -> None:
    from intu_desktop.gui.troubleshoot import EchoDialog

    dialog = EchoDialog(workers, port=channel_port, aet="CT_SCANNER_1", aec="WRONG_AE")
    qtbot.addWidget(dialog)
    dialog.run()
    spin_until(lambda: dialog.last_result is not None)
    assert "called AE title not recognized" in dialog.result_label.text()


@needs_dcmtk
def test_send_reports_each_file(qtbot: Any, storescp: int, workers: Any, tmp_path: Path) -> None:
    from intu_desktop.gui.troubleshoot import SendDialog

    not_dicom = tmp_path / "notes.txt"
    not_dicom.write_text("not an image", encoding="utf-8")
    dialog = SendDialog(workers, port=storescp, aet="INTU_DESKTOP", aec="PACS")
    qtbot.addWidget(dialog)
    dialog.add_items([not_dicom])
    qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)
    spin_until(lambda: dialog.results is not None)
    assert dialog.status_of(0).startswith("0x0000 Success"), dialog.status_of(0)
    assert dialog.status_of(1).startswith("skipped: not a DICOM file"), dialog.status_of(1)
    assert dialog.summary.text() == "1 of 2 stored."


def test_listener_test_predicts_and_shows_the_refusal(qtbot: Any, runtime: Any, workers: Any) -> None:
    from intu_desktop.gui.troubleshoot import ListenerTestDialog

    dialog = ListenerTestDialog(workers, runtime)  # the channel allows STORESCU and CT_SCANNER_1 only
    qtbot.addWidget(dialog)
    assert "will be refused" in dialog.warning.text()
    assert not dialog.warning.isHidden()
    dialog.run()
    spin_until(lambda: dialog.report is not None)
    text = dialog.result_label.text()
    assert "C-ECHO: Failed: association rejected" in text and "calling AE title not recognized" in text, text


def test_listener_test_through_an_open_channel(qtbot: Any, tmp_path: Path, workers: Any) -> None:
    from intu_desktop.app import Runtime
    from intu_desktop.gui.troubleshoot import ListenerTestDialog

    path = write_channel(tmp_path / "open", free_port(), channel_id="open")
    rt = Runtime(load_project([path]), tmp_path / "data", host="127.0.0.1", with_pipeline=False)
    assert not rt.start()
    try:
        dialog = ListenerTestDialog(workers, rt, channel_id="open")
        qtbot.addWidget(dialog)
        assert dialog.warning.isHidden()
        dialog.run()
        spin_until(lambda: dialog.report is not None or dialog.error is not None)
        assert dialog.error is None, dialog.error
        text = dialog.result_label.text()
        assert "C-ECHO: Success" in text and "C-STORE of the test image: 0x0000 Success" in text, text
    finally:
        rt.stop()
