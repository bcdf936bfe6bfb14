"""Echo: C-ECHO any node (PS3.7 §9.1.5) and say in words what happened, with the round trip."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QVBoxLayout, QWidget

from intu_desktop.dicom import scu
from intu_desktop.dicom.scu import EchoResult
from intu_desktop.gui.troubleshoot.target_form import TargetForm
from intu_desktop.gui.workers import Workers


def echo_words(result: EchoResult, aec: str) -> str:
    if result.ok:
        rtt = f"{result.rtt_ms:.1f} ms" if result.rtt_ms is not None else "unknown"
        return f"Success: {aec} answered the C-ECHO. Round trip {rtt}."
    return f"Failed: {result.reason}"


class EchoDialog(QDialog):
    def __init__(self, workers: Workers, parent: QWidget | None = None, **target: Any) -> None:
        super().__init__(parent)
        self.setObjectName("echoDialog")
        self.setWindowTitle("Echo a DICOM node")
        self.workers = workers
        self.form = TargetForm(self, **target)
        self.result_label = QLabel("Not run yet.", self)
        self.result_label.setObjectName("echoResult")
        self.result_label.setWordWrap(True)
        self.run_button = QPushButton("Echo", self)
        self.run_button.setObjectName("runEcho")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.addButton(self.run_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(self.result_label)
        layout.addWidget(buttons)
        self.last_result: EchoResult | None = None
        self.last_error: BaseException | None = None

    def run(self) -> None:
        host, port, aet, aec = self.form.target()
        tls = self.form.tls()
        self.run_button.setEnabled(False)
        self.result_label.setText(f"Echoing {aec} at {host}:{port}…")
        self.workers.task(lambda: scu.echo(host, port, aet=aet, aec=aec, tls=tls),
                             lambda result: self._done(result, aec), self._failed)

    def _done(self, result: EchoResult, aec: str) -> None:
        self.last_result = result
        self.run_button.setEnabled(True)
        self.result_label.setText(echo_words(result, aec))
        self.result_label.setStyleSheet("color: #2E7D32;" if result.ok else "color: #C62828;")

    def _failed(self, error: BaseException) -> None:
        self.last_error = error
        self.run_button.setEnabled(True)
        self.result_label.setText(f"Failed: {error}")
