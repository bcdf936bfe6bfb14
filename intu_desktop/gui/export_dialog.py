"""Export of the received metadata from the window (issue 8): the current filter or everything.

The export streams on the `control` worker (never the GUI thread); progress comes back
through a queued signal and Cancel sets an event the exporter checks per row.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from intu_desktop.export import (
    ExportCancelled,
    ExportOptions,
    contains_identifiable_data,
    export_rows,
)
from intu_desktop.gui.models.instance_query import InstanceFilter
from intu_desktop.gui.workers import Workers
from intu_desktop.index.db import Index
from intu_desktop.index.instances import iter_export_rows

FORMATS = (("CSV", "csv", ".csv"), ("JSON", "json", ".json"), ("NDJSON", "ndjson", ".ndjson"),
           ("FHIR R4 Bundle", "fhir-bundle", ".json"))
IDENTIFIABLE = ("This export contains identifiable patient data (names, IDs, dates, UIDs). "
                "Store and share it as you would the images.")


class _Progress(QObject):
    rows = Signal(int)


def run_export(index: Index, instance_filter: InstanceFilter | None, out: Path, opts: ExportOptions,
               progress: Any = None, cancel: threading.Event | None = None) -> int:
    """The export itself, Qt-free: what the dialog runs on a worker thread."""
    where, params = instance_filter.where() if instance_filter is not None else ("", [])
    order = "study_uid, series_uid, id" if opts.format == "fhir-bundle" else "received_at, id"
    rows = iter_export_rows(index, where, tuple(params), order=order)
    return export_rows(rows, out, opts, progress=progress, cancel=cancel)


class ExportDialog(QDialog):
    finished_export = Signal(int, str)  # rows written, or -1 and the error in words

    def __init__(self, index: Index, workers: Workers, current_filter: InstanceFilter,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export received metadata")
        self.setObjectName("exportDialog")
        self._index = index
        self._workers = workers
        self._filter = current_filter
        self._cancel = threading.Event()
        self._progress = _Progress(self)
        self._progress.rows.connect(self._on_rows)

        self.format = QComboBox(self)
        for label, key, _suffix in FORMATS:
            self.format.addItem(label, key)
        self.scope_filter = QRadioButton("The instances shown (current filter)", self)
        self.scope_all = QRadioButton("Everything received", self)
        self.scope_filter.setChecked(True)
        self.deidentify = QCheckBox("De-identify (DICOM PS3.15 Annex E basic profile)", self)
        self.bom = QCheckBox("Byte-order mark, so Excel opens the CSV right", self)
        self.path = QLineEdit(str(Path.home() / "intu-export.csv"), self)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        self.notice = QLabel(IDENTIFIABLE, self)
        self.notice.setObjectName("identifiableNotice")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #9a3412; font-weight: bold")
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 0)
        self.bar.hide()
        self.status = QLabel("", self)
        self.status.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("Rows", self.scope_filter)
        form.addRow("", self.scope_all)
        form.addRow("", self.deidentify)
        form.addRow("", self.bom)
        form.addRow("File", path_row)
        self.buttons = QDialogButtonBox(self)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self._cancel_or_close)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.notice)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.format.currentIndexChanged.connect(self._update)
        self.deidentify.toggled.connect(self._update)
        self._running = False
        self._update()

    def options(self) -> ExportOptions:
        fmt = str(self.format.currentData())
        return ExportOptions(format=fmt, bom=self.bom.isChecked() and fmt == "csv",
                             deidentify=self.deidentify.isChecked())

    def _update(self) -> None:
        fmt = str(self.format.currentData())
        self.bom.setEnabled(fmt == "csv")
        self.notice.setVisible(contains_identifiable_data(self.options()))
        suffix = next(s for _l, k, s in FORMATS if k == fmt)
        current = Path(self.path.text())
        if current.suffix != suffix:
            self.path.setText(str(current.with_suffix(suffix)))

    def _browse(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text())
        if name:
            self.path.setText(name)

    def start(self) -> None:
        if self._running:
            return
        self._running = True
        self._cancel.clear()
        self.export_button.setEnabled(False)
        self.bar.show()
        self.status.setText("Exporting…")
        out = Path(self.path.text()).expanduser()
        opts = self.options()
        instance_filter = self._filter if self.scope_filter.isChecked() else None
        signal = self._progress.rows
        self._workers.task(
            lambda: run_export(self._index, instance_filter, out, opts, progress=signal.emit, cancel=self._cancel),
            self._done, self._failed)

    def _on_rows(self, n: int) -> None:
        self.status.setText(f"Exporting… {n:,} instance(s)")

    def _done(self, n: int) -> None:
        self._running = False
        self.bar.hide()
        self.export_button.setEnabled(True)
        self.status.setText(f"Exported {n:,} instance(s) to {self.path.text()}")
        self.finished_export.emit(n, "")

    def _failed(self, error: BaseException) -> None:
        self._running = False
        self.bar.hide()
        self.export_button.setEnabled(True)
        words = "Export cancelled; no file was written" if isinstance(error, ExportCancelled) else (
            f"Export failed: {error}")
        self.status.setText(words)
        self.finished_export.emit(-1, words)

    def stop_work(self) -> None:
        """The app quits: a running export stops (and writes no file)."""
        self._cancel.set()

    def _cancel_or_close(self) -> None:
        if self._running:
            self._cancel.set()
        else:
            self.reject()
