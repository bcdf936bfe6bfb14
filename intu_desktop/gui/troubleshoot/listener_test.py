"""Test my listener: an echo and a test store through a channel's own port and AE title,
reported as a modality would see them."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from intu_desktop.dicom import scu
from intu_desktop.dicom.client_tls import ClientTls
from intu_desktop.dicom.diagnosis import explain
from intu_desktop.dicom.scu import EchoResult, SendResult
from intu_desktop.gui.troubleshoot.echo_dialog import echo_words
from intu_desktop.gui.troubleshoot.send_dialog import result_words
from intu_desktop.gui.troubleshoot.test_image import write_test_image
from intu_desktop.gui.workers import Workers
from intu_desktop.index.associations import AssociationRecord

TEST_AET = "INTU_TEST"


@dataclass(frozen=True)
class ListenerTestPlan:
    channel_id: str
    host: str
    port: int
    aec: str
    tls: ClientTls | None
    warning: str  # what we already know will go wrong, in words ("" when nothing)


@dataclass(frozen=True)
class ListenerTestReport:
    echo: EchoResult
    store: list[SendResult]


def plan_for(channel: Any, port: int, host: str = "127.0.0.1") -> ListenerTestPlan:
    """What the test will do, and the refusal we can predict from the configuration alone."""
    cfg = channel.dicom
    warning = ""
    if cfg.calling_ae_titles and TEST_AET not in [a.strip() for a in cfg.calling_ae_titles]:
        # The same explanation a real refusal would get (PS3.8 §9.3.4 reason 3).
        predicted = AssociationRecord(id="test", channel_id=channel.id, peer_host=host, peer_port=0, tls=False,
                                      requested_at=time.time(), calling_ae=TEST_AET, called_ae=cfg.ae_title,
                                      state="rejected", reject_result=1, reject_source=1, reject_reason=3)
        hints = explain(predicted, cfg)
        why = hints[0].detail if hints else ""
        warning = (f"This channel accepts only the calling AE titles {', '.join(cfg.calling_ae_titles)}, so the "
                   f"test (calling AE {TEST_AET}) will be refused with \"calling AE title not recognized\", "
                   f"exactly as a modality with an unlisted AE title would be. {why}").strip()
    # We test reachability, not the certificate: the channel's own certificate is what we verify against
    # when a CA is configured; otherwise any certificate is accepted.
    tls = None
    if cfg.tls is not None:
        tls = ClientTls(ca_file=cfg.tls.ca_file, verify=cfg.tls.ca_file is not None)
    return ListenerTestPlan(channel.id, host, port, cfg.ae_title, tls, warning)


def run_plan(plan: ListenerTestPlan) -> ListenerTestReport:
    """Worker side: the echo, then one test image."""
    echo = scu.echo(plan.host, plan.port, aet=TEST_AET, aec=plan.aec, tls=plan.tls)
    with tempfile.TemporaryDirectory(prefix="intu-listener-test-") as folder:
        image = write_test_image(Path(folder))
        store = scu.send(plan.host, plan.port, [image], aet=TEST_AET, aec=plan.aec, tls=plan.tls)
    return ListenerTestReport(echo, store)


def report_words(plan: ListenerTestPlan, report: ListenerTestReport) -> str:
    lines = [f"A modality calling {plan.aec} at {plan.host}:{plan.port} as {TEST_AET} would see:",
             "• C-ECHO: " + echo_words(report.echo, plan.aec)]
    for result in report.store:
        lines.append("• C-STORE of the test image: " + result_words(result))
    if not report.store:
        lines.append("• C-STORE of the test image: nothing was sent")
    return "\n".join(lines)


class ListenerTestDialog(QDialog):
    def __init__(self, workers: Workers, runtime: Any, parent: QWidget | None = None,
                 channel_id: str | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("listenerTestDialog")
        self.setWindowTitle("Test my listener")
        self.workers = workers
        self.runtime = runtime
        self.channel = QComboBox(self)
        self.channel.setObjectName("testChannel")
        for listener_id, listener in runtime.listeners.items():
            self.channel.addItem(f"{listener_id} ({listener.channel.dicom.ae_title}, port "
                                 f"{listener.channel.dicom.port})", listener_id)
        if channel_id is not None:
            self.channel.setCurrentIndex(max(0, self.channel.findData(channel_id)))
        self.warning = QLabel("", self)
        self.warning.setObjectName("testWarning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("background: #FFF4E5; padding: 4px;")
        self.result_label = QLabel("Not run yet.", self)
        self.result_label.setObjectName("testResult")
        self.result_label.setWordWrap(True)
        self.run_button = QPushButton("Run test", self)
        self.run_button.setObjectName("runListenerTest")
        self.run_button.clicked.connect(self.run)
        form = QFormLayout()
        form.addRow("Channel", self.channel)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.addButton(self.run_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel(f"Sends a C-ECHO and one test image to the channel's own port and AE title, "
                                f"calling as {TEST_AET}.", self))
        layout.addWidget(self.warning)
        layout.addWidget(self.result_label)
        layout.addWidget(buttons)
        self.channel.currentIndexChanged.connect(lambda _i: self._show_plan())
        self.report: ListenerTestReport | None = None
        self.error: BaseException | None = None
        self._show_plan()

    def plan(self) -> ListenerTestPlan | None:
        listener = self.runtime.listeners.get(self.channel.currentData())
        if listener is None:
            return None
        port = listener.port if listener.state == "listening" else listener.channel.dicom.port
        return plan_for(listener.channel, port)

    def _show_plan(self) -> None:
        plan = self.plan()
        self.warning.setText(plan.warning if plan else "")
        self.warning.setVisible(bool(plan and plan.warning))
        self.run_button.setEnabled(plan is not None)

    def run(self) -> None:
        plan = self.plan()
        if plan is None:
            return
        listener = self.runtime.listeners.get(plan.channel_id)
        if listener is not None and listener.state != "listening":
            self.result_label.setText(f"The channel is not listening ({listener.state}): "
                                      f"{listener.reason or 'start it first'}.")
            return
        self.run_button.setEnabled(False)
        self.result_label.setText("Testing…")
        self.workers.task(lambda: run_plan(plan), lambda r: self._done(plan, r), self._failed)

    def _done(self, plan: ListenerTestPlan, report: ListenerTestReport) -> None:
        self.report = report
        self.run_button.setEnabled(True)
        self.result_label.setText(report_words(plan, report))

    def _failed(self, error: BaseException) -> None:
        self.error = error
        self.run_button.setEnabled(True)
        self.result_label.setText(f"The test failed: {error}")
