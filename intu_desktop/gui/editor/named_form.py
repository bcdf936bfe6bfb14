"""intu.yaml's named destinations, edited with the same forms as a channel's inline ones."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from intu_desktop.config import ConfigError
from intu_desktop.gui.editor.bindings import (
    DELETE,
    FormHost,
    error_label,
    mark_invalid,
)
from intu_desktop.gui.editor.destination_fields import (
    FORM_TYPES,
    DestinationFields,
    default_definition,
    type_label,
)

KEY = ("destinations",)


class NamedDestinationsForm(QWidget):
    """The form of the intu.yaml page: one FormPart for the whole `destinations:` mapping."""

    def __init__(self, host: FormHost) -> None:
        super().__init__()
        self.host = host
        box = QGroupBox("Named destinations (intu.yaml)")
        intro = QLabel("Channels list these by name. Changes apply to every channel that uses "
                       "them once intu.yaml is saved and the channels are applied.")
        intro.setWordWrap(True)
        self.list = QListWidget()
        self.list.setAccessibleName("Named destinations")
        self.new_name = QLineEdit()
        self.new_name.setPlaceholderText("name of a new destination, e.g. pacs-archive")
        self.new_name.setAccessibleName("New destination name")
        self.type_combo = QComboBox()
        for dest_type in FORM_TYPES:
            self.type_combo.addItem(type_label(dest_type), dest_type)
        self.add_button = QPushButton("Add")
        self.remove_button = QPushButton("Remove")
        self.error = error_label()
        self.detail_holder = QVBoxLayout()
        self.detail: DestinationFields | None = None
        grid = QGridLayout()
        grid.addWidget(self.list, 0, 0, 1, 2)
        grid.addWidget(self.remove_button, 0, 2)
        grid.addWidget(self.new_name, 1, 0)
        grid.addWidget(self.type_combo, 1, 1)
        grid.addWidget(self.add_button, 1, 2)
        layout = QVBoxLayout(box)
        layout.addWidget(intro)
        layout.addLayout(grid)
        layout.addWidget(self.error)
        layout.addLayout(self.detail_holder)
        outer = QVBoxLayout(self)
        outer.addWidget(box)
        outer.addStretch(1)
        self.add_button.clicked.connect(self.add)
        self.new_name.returnPressed.connect(self.add)
        self.remove_button.clicked.connect(self.remove_selected)
        self.list.currentRowChanged.connect(lambda _r: self._sync_detail())
        self._add_error: str | None = None
        self._errors: list[ConfigError] = []

    def mapping(self) -> dict[str, Any]:
        value = self.host.get(KEY)
        return dict(value) if isinstance(value, dict) else {}

    def names(self) -> list[str]:
        return [str(k) for k in self.mapping()]

    def add(self) -> None:
        name = self.new_name.text().strip()
        problem = None
        if not name:
            problem = "give the destination a name"
        elif name in self.names():
            problem = f"{name} already exists"
        self._add_error = problem
        mark_invalid(self.new_name, problem is not None)
        self._show_error_text()
        if problem is not None:
            return
        self.new_name.clear()
        self.host.change((*KEY, name), default_definition(str(self.type_combo.currentData())),
                         "add destination")
        self.list.setCurrentRow(self.names().index(name))

    def remove_selected(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.host.change((*KEY, item.text()), DELETE, "remove destination")

    # -- FormPart ----------------------------------------------------------------------
    def refresh(self) -> None:
        names = self.names()
        if [self.list.item(i).text() for i in range(self.list.count())] != names:
            row = self.list.currentRow()
            self.list.blockSignals(True)
            self.list.clear()
            self.list.addItems(names)
            self.list.setCurrentRow(min(max(row, 0), len(names) - 1))
            self.list.blockSignals(False)
        self._sync_detail()

    def _sync_detail(self) -> None:
        item = self.list.currentItem()
        self.remove_button.setEnabled(item is not None)
        name = item.text() if item is not None else None
        entry = self.mapping().get(name) if name is not None else None
        dest_type = str(entry.get("type") or "") if isinstance(entry, dict) else ""
        wanted = (name, dest_type) if name is not None else None
        current = (self.detail.base[-1], self.detail.dest_type) if self.detail else None
        if wanted != current:
            if self.detail is not None:
                self.detail_holder.removeWidget(self.detail)
                self.detail.deleteLater()
                self.detail = None
            if name is not None:
                self.detail = DestinationFields(self.host, (*KEY, name), dest_type)
                self.detail_holder.addWidget(self.detail)
        if self.detail is not None:
            self.detail.refresh()
            self.detail.show_errors(self._errors)

    def error_keys(self) -> list[str]:
        return ["destinations"]

    def show_errors(self, errors: list[ConfigError]) -> None:
        self._errors = errors
        for i in range(self.list.count()):
            item = self.list.item(i)
            mine = [e.message for e in errors
                    if e.key_path.startswith((f"destinations.{item.text()}.",))
                    or e.key_path == f"destinations.{item.text()}"]
            item.setForeground(QBrush(QColor("#b00020")) if mine else QBrush())
            item.setToolTip("\n".join(mine))
        if self.detail is not None:
            self.detail.show_errors(errors)
        self._show_error_text()

    def _show_error_text(self) -> None:
        lines = ([self._add_error] if self._add_error else []) + [
            f"{e.key_path.removeprefix('destinations.')}: {e.message}" for e in self._errors]
        self.error.setText("\n".join(lines))
        self.error.setVisible(bool(lines))

