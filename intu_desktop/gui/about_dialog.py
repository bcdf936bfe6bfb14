"""Help > About: the app icon, its version, and the versions of what it runs on.

The versions are gathered on a worker thread (``node --version`` is a subprocess) and shown
when they arrive; "Copy" puts them on the clipboard for a support request.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QGuiApplication, QIcon, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from intu_desktop import __version__
from intu_desktop.about import as_text, component_versions
from intu_desktop.gui.workers import Workers

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
PENDING = "…"
# Rows shown before the answers arrive, in the order component_versions() returns them.
_ROWS = ("intu Desktop", "Python", "Qt", "PySide6", "pynetdicom", "pydicom", "Node.js",
         "Operating system")


@functools.lru_cache(maxsize=1)
def app_icon() -> QIcon:
    """The application icon in every packaged size (for windows, the tray and dialogs)."""
    icon = QIcon()
    folder = resources.files("intu_desktop") / "resources" / "icons"
    for size in ICON_SIZES:
        pixmap = QPixmap()
        if pixmap.loadFromData((folder / f"intu-desktop-{size}.png").read_bytes(), "PNG"):
            icon.addPixmap(pixmap)
    return icon


class AboutDialog(QDialog):
    """Shows versions once ``versions`` (run on ``workers``) returns them."""

    def __init__(
        self,
        workers: Workers,
        parent: QWidget | None = None,
        *,
        data_dir: Path | None = None,
        versions: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("About intu Desktop")
        self.setWindowIcon(app_icon())
        self.setMinimumWidth(480)
        self.versions: dict[str, str] = {}
        self._values: dict[str, QLabel] = {}

        logo = QLabel(self)
        logo.setPixmap(app_icon().pixmap(64, 64))
        logo.setAlignment(Qt.AlignmentFlag.AlignTop)
        title = QLabel(f"<b>intu Desktop {__version__}</b><br>"
                       "A DICOM receiver that runs intu channels.", self)
        title.setTextFormat(Qt.TextFormat.RichText)
        header = QHBoxLayout()
        header.addWidget(logo)
        header.addWidget(title, 1)

        self.form = QFormLayout()
        for name in _ROWS:
            self._add_row(name, PENDING)
        if data_dir is not None:
            self._add_row("Data folder", str(data_dir))

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=self)
        self.copy_button = QPushButton("Copy versions", self)
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addLayout(self.form)
        layout.addWidget(buttons)

        # qVersion() is read here, on the GUI thread; the worker only runs plain Python.
        qt = qVersion()
        work = versions or (lambda: component_versions(qt_version=qt))
        workers.task(work, self._show_versions, self._show_failure)

    def value_text(self, name: str) -> str:
        return self._values[name].text()

    def copy_to_clipboard(self) -> None:
        QGuiApplication.clipboard().setText(as_text(self.versions))

    def _add_row(self, name: str, value: str) -> None:
        label = QLabel(value, self)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setWordWrap(True)
        self._values[name] = label
        self.form.addRow(f"{name}:", label)

    def _show_versions(self, versions: dict[str, str]) -> None:
        if not shiboken6.isValid(self):  # closed and deleted while the worker ran
            return
        self.versions = dict(versions)
        for name, value in versions.items():
            if name in self._values:
                self._values[name].setText(value)
            else:
                self._add_row(name, value)
        self.copy_button.setEnabled(True)
        self.adjustSize()  # longer texts (paths) may need more room than the placeholders

    def _show_failure(self, exc: BaseException) -> None:
        if not shiboken6.isValid(self):
            return
        for label in self._values.values():
            if label.text() == PENDING:
                label.setText(f"unknown ({type(exc).__name__})")
