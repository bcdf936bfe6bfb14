"""The calling AE titles of a DICOM listener: an editable, ordered, validated list."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QGridLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from intu_desktop.config import ConfigError
from intu_desktop.config.values import ae_title_problem
from intu_desktop.gui.editor.bindings import (
    FormHost,
    KeyPath,
    dotted,
    error_label,
    mark_invalid,
    note_label,
)

_INDEX = Qt.ItemDataRole.UserRole + 1


class CallingAeList:
    """Add, remove, reorder and rename titles; each is checked against PS3.5 §6.2 before
    it reaches the file. The whole list is written on each change, so YamlDocument keeps
    the comments around it."""

    label = "Calling AE titles"

    def __init__(self, host: FormHost, key_path: KeyPath) -> None:
        self.host = host
        self.key_path = tuple(key_path)
        self.container = QWidget()
        self.list = QListWidget()
        self.list.setAccessibleName(self.label)
        self.list.setObjectName(f"field:{dotted(self.key_path)}")
        self.list.setMaximumHeight(120)
        self.new_title = QLineEdit()
        self.new_title.setPlaceholderText("AE title of a sender to allow, e.g. CT_SCANNER_1")
        self.new_title.setAccessibleName("New calling AE title")
        self.new_title.setObjectName(f"field:{dotted(self.key_path)}:new")
        self.add_button = QPushButton("Add")
        self.add_button.setObjectName(f"add:{dotted(self.key_path)}")
        self.remove_button = QPushButton("Remove")
        self.up_button = QPushButton("Up")
        self.down_button = QPushButton("Down")
        for verb, button in (("remove", self.remove_button), ("up", self.up_button),
                             ("down", self.down_button)):
            button.setObjectName(f"{verb}:{dotted(self.key_path)}")
        self.error = error_label()
        self.error.setObjectName(f"error:{dotted(self.key_path)}")
        self.note = note_label("Empty: any sender may connect. Titles are matched exactly "
                                "(case matters; surrounding spaces do not).")
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.list, 0, 0, 4, 1)
        grid.addWidget(self.remove_button, 0, 1)
        grid.addWidget(self.up_button, 1, 1)
        grid.addWidget(self.down_button, 2, 1)
        grid.addWidget(self.new_title, 4, 0)
        grid.addWidget(self.add_button, 4, 1)
        box = QVBoxLayout(self.container)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(grid)
        box.addWidget(self.error)
        box.addWidget(self.note)
        self.add_button.clicked.connect(self.add_typed)
        self.new_title.returnPressed.connect(self.add_typed)
        self.new_title.textEdited.connect(lambda _t: self._set_add_error(None))
        self.remove_button.clicked.connect(self.remove_selected)
        self.up_button.clicked.connect(lambda: self._move(-1))
        self.down_button.clicked.connect(lambda: self._move(1))
        self.list.itemChanged.connect(self._renamed)
        self.list.currentRowChanged.connect(lambda _r: self._update_buttons())
        self._list_errors: list[str] = []
        self._add_error: str | None = None
        self._update_buttons()

    # -- reading and writing -----------------------------------------------------------
    def titles(self) -> list[str]:
        value = self.host.get(self.key_path)
        return [str(v) if v is not None else "" for v in value] if isinstance(value, list) else []

    def _write(self, titles: list[str]) -> None:
        self.host.change(self.key_path, titles, "change calling AE titles")

    def add_typed(self) -> None:
        title = self.new_title.text().strip(" ")
        problem = ae_title_problem(title)
        if problem is None and title in self.titles():
            problem = f"{title} is already in the list"
        if problem is not None:
            self._set_add_error(problem)
            return
        self._set_add_error(None)
        self.new_title.clear()
        self._write([*self.titles(), title])
        self.list.setCurrentRow(self.list.count() - 1)

    def remove_selected(self) -> None:
        row = self.list.currentRow()
        titles = self.titles()
        if 0 <= row < len(titles):
            del titles[row]
            self._write(titles)
            self.list.setCurrentRow(min(row, len(titles) - 1))

    def _move(self, step: int) -> None:
        row = self.list.currentRow()
        titles = self.titles()
        target = row + step
        if 0 <= row < len(titles) and 0 <= target < len(titles):
            titles[row], titles[target] = titles[target], titles[row]
            self._write(titles)
            self.list.setCurrentRow(target)

    def _renamed(self, item: QListWidgetItem) -> None:
        row = int(item.data(_INDEX))
        titles = self.titles()
        new = item.text().strip(" ")
        if not 0 <= row < len(titles) or new == titles[row]:
            return
        problem = ae_title_problem(new)
        if problem is not None:
            self._set_add_error(problem)
            self.refresh(force=True)  # back to the stored title: invalid ones never reach the file
            return
        titles[row] = new
        self._write(titles)

    # -- showing -----------------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        titles = self.titles()
        shown = [self.list.item(i).text() for i in range(self.list.count())]
        if shown == titles and not force:
            return
        row = self.list.currentRow()
        self.list.blockSignals(True)
        self.list.clear()
        for i, title in enumerate(titles):
            item = QListWidgetItem(title)
            item.setData(_INDEX, i)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            self.list.addItem(item)
        self.list.setCurrentRow(min(row, len(titles) - 1))
        self.list.blockSignals(False)
        self._update_buttons()

    def error_keys(self) -> list[str]:
        return [dotted(self.key_path)]

    def show_errors(self, errors: list[ConfigError]) -> None:
        base = dotted(self.key_path)
        by_row: dict[int, list[str]] = {}
        whole: list[str] = []
        for error in errors:
            row = _row_of(error.key_path, base)
            (by_row.setdefault(row, []) if row is not None else whole).append(error.message)
        self.list.blockSignals(True)
        for i in range(self.list.count()):
            item = self.list.item(i)
            problems = by_row.get(i, [])
            item.setForeground(QBrush(QColor("#b00020")) if problems else QBrush())
            item.setToolTip("\n".join(problems))
        self.list.blockSignals(False)
        self._list_errors = whole + [f"{self._title(r)}: {m}" for r, ms in sorted(by_row.items())
                                     for m in ms]
        self._show_error_text()
        mark_invalid(self.list, bool(errors))

    def _title(self, row: int) -> str:
        item = self.list.item(row)
        return item.text() if item is not None else f"entry {row + 1}"

    def _set_add_error(self, problem: str | None) -> None:
        self._add_error = problem
        mark_invalid(self.new_title, problem is not None)
        self._show_error_text()

    def _show_error_text(self) -> None:
        lines = ([self._add_error] if self._add_error else []) + self._list_errors
        self.error.setText("\n".join(lines))
        self.error.setVisible(bool(lines))

    def _update_buttons(self) -> None:
        row = self.list.currentRow()
        count = self.list.count()
        self.remove_button.setEnabled(0 <= row < count)
        self.up_button.setEnabled(0 < row < count)
        self.down_button.setEnabled(0 <= row < count - 1)


def _row_of(error_key: str, base: str) -> int | None:
    rest = error_key[len(base):]
    if rest.startswith("[") and "]" in rest:
        try:
            return int(rest[1:rest.index("]")])
        except ValueError:
            return None
    return None

