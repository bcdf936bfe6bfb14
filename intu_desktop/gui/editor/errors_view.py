"""Every problem of the open file as a list of `file:line: key: message`; activating one
jumps to its field or line."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from intu_desktop.config import ConfigError

_ERROR = Qt.ItemDataRole.UserRole + 1


class ErrorList(QListWidget):
    error_activated = Signal(object)  # ConfigError

    def __init__(self) -> None:
        super().__init__()
        self.setAccessibleName("Problems")
        self.setMaximumHeight(110)
        self.itemActivated.connect(self._activated)
        self.errors: list[ConfigError] = []

    def show_errors(self, errors: list[ConfigError]) -> None:
        if errors == self.errors:
            return
        self.errors = list(errors)
        self.clear()
        for error in errors:
            # The file's name keeps the line readable; the tooltip has the whole path.
            item = QListWidgetItem(f"{error.file.name}:{error.line}: {error.key_path}: "
                                   f"{error.message}")
            item.setToolTip(str(error))
            item.setData(_ERROR, error)
            self.addItem(item)
        self.setVisible(bool(errors))

    def _activated(self, item: QListWidgetItem) -> None:
        self.error_activated.emit(item.data(_ERROR))
