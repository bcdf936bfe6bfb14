"""A channel's `destinations:` list: names of intu.yaml's destinations, or inline ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from intu_desktop.config import ConfigError
from intu_desktop.config.yamlnode import to_plain
from intu_desktop.gui.editor.bindings import (
    DELETE,
    FormHost,
    TextBinding,
    add_row,
    distribute,
    error_label,
    mark_invalid,
)
from intu_desktop.gui.editor.destination_fields import (
    FORM_TYPES,
    DestinationFields,
    default_definition,
    type_label,
)
from intu_desktop.gui.editor.template import unique_id

KEY = ("destinations",)


def describe(entry: Any) -> tuple[str, str, str]:
    """(text shown in the list, kind, type) of one list entry."""
    if isinstance(entry, str):
        return f"{entry} — named in intu.yaml", "named", ""
    if isinstance(entry, dict):
        ref = entry.get("ref") or (entry.get("name") if "type" not in entry else None)
        if ref:
            return f"{ref} — named in intu.yaml, with changes", "reference", ""
        dest_type = str(entry.get("type") or "")
        name = entry.get("name") or "(no name)"
        return f"{name} — inline {type_label(dest_type) or '(no type)'}", "inline", dest_type
    return "(empty entry)", "other", ""


class DestinationsSection:
    def __init__(self, host: FormHost, named: Callable[[], list[str]]) -> None:
        self.host = host
        self.named = named
        self.box = QGroupBox("Destinations")
        self.list = QListWidget()
        self.list.setAccessibleName("Destinations")
        self.list.setMaximumHeight(130)
        self.named_combo = QComboBox()
        self.named_combo.setAccessibleName("Named destination to add")
        self.add_named_button = QPushButton("Add named")
        self.type_combo = QComboBox()
        self.type_combo.setAccessibleName("Type of inline destination to add")
        for dest_type in FORM_TYPES:
            self.type_combo.addItem(type_label(dest_type), dest_type)
        self.add_inline_button = QPushButton("Add inline")
        self.remove_button = QPushButton("Remove")
        self.up_button = QPushButton("Up")
        self.down_button = QPushButton("Down")
        self.error = error_label()
        self.detail_holder = QVBoxLayout()
        self.detail: QWidget | None = None
        self._detail_key: tuple[int, str, str] | None = None
        self._detail_parts: list[Any] = []
        grid = QGridLayout()
        grid.addWidget(self.list, 0, 0, 3, 2)
        grid.addWidget(self.remove_button, 0, 2)
        grid.addWidget(self.up_button, 1, 2)
        grid.addWidget(self.down_button, 2, 2)
        grid.addWidget(self.named_combo, 3, 0)
        grid.addWidget(self.add_named_button, 3, 1)
        grid.addWidget(self.type_combo, 4, 0)
        grid.addWidget(self.add_inline_button, 4, 1)
        layout = QVBoxLayout(self.box)
        layout.addLayout(grid)
        layout.addWidget(self.error)
        layout.addLayout(self.detail_holder)
        self.add_named_button.clicked.connect(self.add_named)
        self.add_inline_button.clicked.connect(self.add_inline)
        self.remove_button.clicked.connect(self.remove_selected)
        self.up_button.clicked.connect(lambda: self._move(-1))
        self.down_button.clicked.connect(lambda: self._move(1))
        self.list.currentRowChanged.connect(lambda _r: self._sync_detail())

    # -- changes -----------------------------------------------------------------------
    def entries(self) -> list[Any]:
        value = self.host.get(KEY)
        return list(value) if isinstance(value, list) else []

    def _append(self, entry: Any) -> None:
        entries = self.entries()
        if self.host.get(KEY) is None:
            self.host.change(KEY, [entry], "add destination")
        else:
            self.host.change((*KEY, len(entries)), entry, "add destination")
        self.list.setCurrentRow(len(entries))

    def add_named(self) -> None:
        name = self.named_combo.currentText()
        if name:
            self._append(name)

    def add_inline(self) -> None:
        dest_type = str(self.type_combo.currentData())
        taken = [describe(e)[0].split(" — ")[0] for e in self.entries()] + self.named()
        name = unique_id(f"{dest_type}-destination", taken)
        self._append({"name": name, **default_definition(dest_type)})

    def remove_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.entries()):
            self.host.change((*KEY, row), DELETE, "remove destination")

    def _move(self, step: int) -> None:
        row = self.list.currentRow()
        entries = [to_plain(e) for e in self.entries()]  # copies: the items swap contents
        target = row + step
        if 0 <= row < len(entries) and 0 <= target < len(entries):
            entries[row], entries[target] = entries[target], entries[row]
            self.host.change(KEY, entries, "reorder destinations")
            self.list.setCurrentRow(target)

    # -- showing -----------------------------------------------------------------------
    def refresh(self) -> None:
        names = self.named()
        if [self.named_combo.itemText(i) for i in range(self.named_combo.count())] != names:
            self.named_combo.clear()
            self.named_combo.addItems(names)
        self.add_named_button.setEnabled(bool(names))
        texts = [describe(e)[0] for e in self.entries()]
        shown = [self.list.item(i).text() for i in range(self.list.count())]
        if texts != shown:
            row = self.list.currentRow()
            self.list.blockSignals(True)
            self.list.clear()
            self.list.addItems(texts)
            self.list.setCurrentRow(min(max(row, 0), len(texts) - 1))
            self.list.blockSignals(False)
        self._sync_detail()

    def _sync_detail(self) -> None:
        row = self.list.currentRow()
        entries = self.entries()
        count = len(entries)
        self.remove_button.setEnabled(0 <= row < count)
        self.up_button.setEnabled(0 < row < count)
        self.down_button.setEnabled(0 <= row < count - 1)
        key = (row, *describe(entries[row])[1:]) if 0 <= row < count else None
        if key != self._detail_key:
            self._rebuild_detail(key, entries[row] if key else None)
        for part in self._detail_parts:
            part.refresh()

    def _rebuild_detail(self, key: tuple[int, str, str] | None, entry: Any) -> None:
        if self.detail is not None:
            self.detail_holder.removeWidget(self.detail)
            self.detail.deleteLater()
        self.detail, self._detail_parts, self._detail_key = None, [], key
        if key is None:
            return
        row, kind, dest_type = key
        self.detail = QWidget()
        form = QFormLayout(self.detail)
        form.setContentsMargins(0, 6, 0, 0)
        if kind == "named":
            form.addRow("Named destination", self._named_picker(row, str(entry)))
        elif kind == "inline":
            name = TextBinding(self.host, (*KEY, row, "name"), "Name", optional=True)
            add_row(form, name)
            fields = DestinationFields(self.host, (*KEY, row), dest_type)
            form.addRow(fields)
            self._detail_parts = [name, fields]
        else:
            note = QLabel("This entry refers to a named destination and changes some of its "
                          "settings; edit it in the YAML tab.")
            note.setWordWrap(True)
            form.addRow(note)
        self.detail_holder.addWidget(self.detail)

    def _named_picker(self, row: int, current: str) -> QComboBox:
        combo = QComboBox()
        combo.setAccessibleName("Named destination")
        names = self.named()
        combo.addItems(names)
        if current not in names:
            combo.addItem(f"{current} (not defined in intu.yaml)")
        combo.setCurrentIndex(names.index(current) if current in names else combo.count() - 1)

        def picked(index: int) -> None:
            if index < len(names):
                self.host.change((*KEY, row), names[index], "destination")

        combo.activated.connect(picked)
        return combo

    def error_keys(self) -> list[str]:
        return ["destinations"]

    def show_errors(self, errors: list[ConfigError]) -> None:
        by_row: dict[int, list[ConfigError]] = {}
        whole: list[str] = []
        for error in errors:
            row = _row_of(error.key_path)
            if row is None:
                whole.append(error.message)
            else:
                by_row.setdefault(row, []).append(error)
        for i in range(self.list.count()):
            item: QListWidgetItem = self.list.item(i)
            problems = [e.message for e in by_row.get(i, [])]
            item.setForeground(QBrush(QColor("#b00020")) if problems else QBrush())
            item.setToolTip("\n".join(problems))
            item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, "; ".join(problems))
        lines = whole + [f"{self._name(r)}: {e.message}" for r, es in sorted(by_row.items())
                         for e in es]
        self.error.setText("\n".join(lines))
        self.error.setVisible(bool(lines))
        mark_invalid(self.list, bool(errors))
        if self._detail_key is not None:
            distribute(by_row.get(self._detail_key[0], []), self._detail_parts)

    def _name(self, row: int) -> str:
        item = self.list.item(row)
        return item.text().split(" — ")[0] if item is not None else f"entry {row + 1}"


def _row_of(key_path: str) -> int | None:
    rest = key_path[len("destinations"):]
    if rest.startswith("[") and "]" in rest:
        try:
            return int(rest[1:rest.index("]")])
        except ValueError:
            return None
    return None
