"""Send: C-STORE the built-in test image or chosen files to any node, with a status per file."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from intu_desktop.dicom import scu
from intu_desktop.dicom.scu import SendResult
from intu_desktop.gui.troubleshoot.target_form import TargetForm
from intu_desktop.gui.troubleshoot.test_image import write_test_image
from intu_desktop.gui.workers import Workers

BUILT_IN = "Built-in test image (CT, new UIDs, fake patient)"
ALL_DONE = -1


class _Progress(QObject):
    """Emitted from the sending thread; Qt queues it to the dialog on the GUI thread."""

    result = Signal(int, object)  # row (ALL_DONE at the end), SendResult | list | str


def send_items(items: list[Path | None], host: str, port: int, aet: str, aec: str, tls: Any,
               progress: Any, cancel: threading.Event) -> list[SendResult]:
    """Worker side: `None` items become a freshly written test image (deleted afterwards)."""
    with tempfile.TemporaryDirectory(prefix="intu-test-image-") as folder:
        paths = [p if p is not None else write_test_image(Path(folder)) for p in items]
        row_of = {str(p): i for i, p in enumerate(paths)}
        return scu.send(host, port, paths, aet=aet, aec=aec, tls=tls, cancel=cancel,
                        progress=lambda r, _done, _total: progress(row_of.get(str(r.path), ALL_DONE), r))


def result_words(result: SendResult) -> str:
    if result.skipped:
        return f"skipped: {result.meaning}"
    text = result.meaning + (f" ({result.error_comment})" if result.error_comment else "")
    return f"{text}, {result.duration_ms:.0f} ms" if result.ok else text


class SendDialog(QDialog):
    def __init__(self, workers: Workers, parent: QWidget | None = None, **target: Any) -> None:
        super().__init__(parent)
        self.setObjectName("sendDialog")
        self.setWindowTitle("Send to a DICOM node")
        self.workers = workers
        self.form = TargetForm(self, **target)
        self.items: list[Path | None] = [None]
        self.table = QTableWidget(0, 2, self)
        self.table.setObjectName("sendFiles")
        self.table.setHorizontalHeaderLabels(["File", "Status"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 320)
        add_files = QPushButton("Add files…", self)
        add_files.clicked.connect(self._choose_files)
        add_test = QPushButton("Add test image", self)
        add_test.clicked.connect(lambda: self.add_items([None]))
        clear = QPushButton("Clear", self)
        clear.clicked.connect(lambda: self.set_items([]))
        files_row = QHBoxLayout()
        for button in (add_files, add_test, clear):
            files_row.addWidget(button)
        files_row.addStretch(1)
        self.summary = QLabel("", self)
        self.summary.setObjectName("sendSummary")
        self.summary.setWordWrap(True)
        self.send_button = QPushButton("Send", self)
        self.send_button.setObjectName("runSend")
        self.send_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Stop", self)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.addButton(self.send_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addLayout(files_row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        layout.addWidget(buttons)
        self._progress = _Progress(self)
        self._progress.result.connect(self._on_result)
        self._cancel = threading.Event()
        self.results: list[SendResult] | None = None
        self.set_items([None])

    # -- the list ------------------------------------------------------------------------
    def set_items(self, items: list[Path | None]) -> None:
        self.items = []
        self.table.setRowCount(0)
        self.add_items(items)

    def add_items(self, items: list[Path | None]) -> None:
        for item in items:
            row = self.table.rowCount()
            self.table.insertRow(row)
            self.table.setItem(row, 0, QTableWidgetItem(BUILT_IN if item is None else str(item)))
            self.table.setItem(row, 1, QTableWidgetItem("waiting"))
            self.items.append(item)

    def _choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "DICOM files to send")
        self.add_items([Path(p) for p in paths])

    def _status_cell(self, row: int) -> QTableWidgetItem:
        item = self.table.item(row, 1)
        if item is None:
            item = QTableWidgetItem("")
            self.table.setItem(row, 1, item)
        return item

    def status_of(self, row: int) -> str:
        item = self.table.item(row, 1)
        return item.text() if item is not None else ""

    # -- sending -------------------------------------------------------------------------
    def run(self) -> None:
        if not self.items:
            self.summary.setText("Nothing to send: add files or the test image.")
            return
        host, port, aet, aec = self.form.target()
        tls = self.form.tls()
        items = list(self.items)
        self._cancel = threading.Event()
        cancel = self._cancel
        emit = self._progress.result.emit
        for row in range(self.table.rowCount()):
            self._status_cell(row).setText("waiting")
        self.results = None
        self.send_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.summary.setText(f"Sending {len(items)} file(s) to {aec} at {host}:{port}…")
        self.workers.task(lambda: send_items(items, host, port, aet, aec, tls, emit, cancel),
                             self._done, self._failed)

    def cancel(self) -> None:
        self._cancel.set()

    def stop_work(self) -> None:
        """The app quits: a running Send stops after the file in hand."""
        self.cancel()

    def _on_result(self, row: int, result: SendResult) -> None:
        if 0 <= row < self.table.rowCount():
            cell = self._status_cell(row)
            cell.setText(result_words(result))
            cell.setForeground(QColor("#2E7D32") if result.ok else QColor("#C62828"))
            cell.setToolTip(result.sop_instance_uid or "")

    def _done(self, results: list[SendResult]) -> None:
        self.results = results
        self.send_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        ok = sum(1 for r in results if r.ok)
        self.summary.setText(f"{ok} of {len(results)} stored." if results else "Nothing was sent.")

    def _failed(self, error: BaseException) -> None:
        self.send_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.results = []
        self.summary.setText(f"Sending failed: {error}")

    def done(self, code: int) -> None:  # closing the dialog stops a running send
        self._cancel.set()
        super().done(code)
