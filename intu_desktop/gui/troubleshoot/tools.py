"""The Tools menu: Echo, Send and Test my listener, each a non-modal dialog kept for reuse."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QMenu, QMenuBar, QWidget

from intu_desktop.gui.troubleshoot.echo_dialog import EchoDialog
from intu_desktop.gui.troubleshoot.listener_test import ListenerTestDialog
from intu_desktop.gui.troubleshoot.send_dialog import SendDialog
from intu_desktop.gui.workers import Workers


class TroubleshootTools(QObject):
    def __init__(self, workers: Workers, runtime: Any, parent: QWidget) -> None:
        super().__init__(parent)
        self.workers = workers
        self.runtime = runtime
        self._window = parent
        self.dialogs: dict[str, QDialog] = {}

    def add_menu(self, menu_bar: QMenuBar) -> QMenu:
        menu = menu_bar.addMenu("&Tools")
        for name, text in (("echo", "&Echo a DICOM node…"), ("send", "&Send to a DICOM node…"),
                           ("test", "&Test my listener…")):
            action = QAction(text, self)
            action.setObjectName(f"tools-{name}")
            action.triggered.connect(lambda _c=False, n=name: self.open(n))
            menu.addAction(action)
        return menu

    def open(self, name: str, **kwargs: Any) -> QDialog:
        dialog = self.dialogs.get(name)
        if dialog is None:
            if name == "echo":
                dialog = EchoDialog(self.workers, self._window, **kwargs)
            elif name == "send":
                dialog = SendDialog(self.workers, self._window, **kwargs)
            else:
                dialog = ListenerTestDialog(self.workers, self.runtime, self._window, **kwargs)
            self.dialogs[name] = dialog
        dialog.show()
        dialog.raise_()
        return dialog
