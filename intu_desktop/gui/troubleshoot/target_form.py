"""Where to connect: host, port, our AE, their AE, and optional TLS files."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from intu_desktop.dicom.client_tls import ClientTls
from intu_desktop.dicom.scu import DEFAULT_AEC, DEFAULT_AET

AE_MAX = 16  # PS3.5 §6.2: AE is at most 16 characters


class FileField(QWidget):
    def __init__(self, name: str, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(self)
        self.edit.setObjectName(name)
        self.edit.setPlaceholderText("PEM file")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        self._caption = caption
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(browse)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self._caption, self.edit.text(),
                                              "PEM files (*.pem *.crt *.key);;All files (*)")
        if path:
            self.edit.setText(path)

    def path(self) -> Path | None:
        text = self.edit.text().strip()
        return Path(text) if text else None


class TargetForm(QWidget):
    def __init__(self, parent: QWidget | None = None, *, host: str = "127.0.0.1", port: int = 104,
                 aet: str = DEFAULT_AET, aec: str = DEFAULT_AEC) -> None:
        super().__init__(parent)
        self.host = QLineEdit(host, self)
        self.host.setObjectName("host")
        self.port = QSpinBox(self)
        self.port.setObjectName("port")
        self.port.setRange(1, 65535)
        self.port.setValue(port)
        self.aet = QLineEdit(aet, self)
        self.aet.setObjectName("aet")
        self.aet.setMaxLength(AE_MAX)
        self.aec = QLineEdit(aec, self)
        self.aec.setObjectName("aec")
        self.aec.setMaxLength(AE_MAX)
        self.use_tls = QCheckBox("Use TLS (DICOM TLS, PS3.15 Annex B)", self)
        self.use_tls.setObjectName("useTls")
        self.ca_file = FileField("caFile", "CA certificates", self)
        self.cert_file = FileField("certFile", "Our certificate (mutual TLS)", self)
        self.key_file = FileField("keyFile", "Our private key (mutual TLS)", self)
        self.verify = QCheckBox("Verify the node's certificate", self)
        self.verify.setChecked(True)
        form = QFormLayout(self)
        form.addRow("Host", self.host)
        form.addRow("Port", self.port)
        form.addRow("Our AE title (calling)", self.aet)
        form.addRow("Their AE title (called)", self.aec)
        form.addRow(self.use_tls)
        form.addRow("CA file", self.ca_file)
        form.addRow("Client certificate", self.cert_file)
        form.addRow("Client key", self.key_file)
        form.addRow(self.verify)
        self.use_tls.toggled.connect(self._tls_toggled)
        self._tls_toggled(False)

    def _tls_toggled(self, on: bool) -> None:
        for widget in (self.ca_file, self.cert_file, self.key_file, self.verify):
            widget.setEnabled(on)

    def tls(self) -> ClientTls | None:
        if not self.use_tls.isChecked():
            return None
        return ClientTls(ca_file=self.ca_file.path(), cert_file=self.cert_file.path(),
                         key_file=self.key_file.path(), verify=self.verify.isChecked())

    def target(self) -> tuple[str, int, str, str]:
        return self.host.text().strip(), self.port.value(), self.aet.text(), self.aec.text()
