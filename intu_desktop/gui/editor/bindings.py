"""Form fields bound to key paths of the YAML document being edited.

A binding reads its value from the host (the page's session) on `refresh()` and writes
every user edit back through `host.change()`; it never keeps a copy of the value, so the
form, the YAML tab and undo cannot disagree. Errors found by validation are shown under
the field, in words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from intu_desktop.config import ConfigError
from intu_desktop.config.values import resolve_path
from intu_desktop.config.yamlnode import join_key

KeyPath = tuple[str | int, ...]


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE: Any = _Delete()  # a value that removes the key
DESKTOP_ONLY_TIP = (
    "intu Desktop extension: the intu engine does not know this setting and would reject "
    "the channel. Leave it empty to keep the file portable."
)


class FormHost(Protocol):
    def get(self, key_path: KeyPath) -> Any: ...

    def change(self, key_path: KeyPath, value: Any, label: str = "") -> None: ...

    def base_folder(self) -> Path: ...


class FormPart(Protocol):
    """Anything on a form that shows values and errors (a field, a list, a section)."""

    def refresh(self) -> None: ...

    def error_keys(self) -> list[str]: ...

    def show_errors(self, errors: list[ConfigError]) -> None: ...


def dotted(key_path: Sequence[str | int]) -> str:
    text = ""
    for key in key_path:
        text = join_key(text, key)
    return text


def owner_of(error_key: str, keys: Sequence[str]) -> str | None:
    """The longest key that `error_key` is, or lies under (`a.b` owns `a.b.c` and `a.b[0]`)."""
    best: str | None = None
    for key in keys:
        under = error_key == key or error_key.startswith((key + ".", key + "["))
        if under and (best is None or len(key) > len(best)):
            best = key
    return best


def distribute(errors: list[ConfigError], parts: Sequence[FormPart]) -> None:
    """Give each part the errors it owns (longest matching key wins)."""
    keys_of = [(part, part.error_keys()) for part in parts]
    all_keys = [key for _, keys in keys_of for key in keys]
    owned: dict[int, list[ConfigError]] = {id(part): [] for part in parts}
    for error in errors:
        key = owner_of(error.key_path, all_keys)
        if key is None:
            continue
        for part, keys in keys_of:
            if key in keys:
                owned[id(part)].append(error)
                break
    for part in parts:
        part.show_errors(owned[id(part)])


def mark_invalid(widget: QWidget, invalid: bool) -> None:
    # A dynamic property drives the red frame in the editor's style sheet.
    if bool(widget.property("invalid")) != invalid:
        widget.setProperty("invalid", invalid)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


def error_label() -> QLabel:
    label = QLabel()
    label.setProperty("role", "fieldError")  # styled red; the objectName names its field
    label.setWordWrap(True)
    label.setVisible(False)
    return label


def note_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("fieldNote")
    label.setWordWrap(True)
    label.setVisible(bool(text))
    return label


def row_label(text: str, *, desktop_only: bool = False) -> QLabel:
    """A form label; desktop-only settings carry a visible marker, not just a tooltip."""
    label = QLabel(f"{text} <span style='color:#8a5a00'>[desktop only]</span>" if desktop_only
                   else text)
    if desktop_only:
        label.setToolTip(DESKTOP_ONLY_TIP)
        label.setProperty("desktopOnly", True)
    return label


class Binding:
    """One field for one key path. Subclasses provide the input widget."""

    def __init__(self, host: FormHost, key_path: KeyPath, input_widget: QWidget,
                 label: str, *, note: str = "") -> None:
        self.host = host
        self.key_path = tuple(key_path)
        self.label = label
        self.input = input_widget
        # Stable names for tests and accessibility tools: "field:listener.dicom.port".
        input_widget.setObjectName(f"field:{dotted(self.key_path)}")
        self.error = error_label()
        self.error.setObjectName(f"error:{dotted(self.key_path)}")
        self.note = note_label(note)
        self._static_note = note
        self.container = QWidget()
        box = QVBoxLayout(self.container)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(self._field_row())
        box.addWidget(self.error)
        box.addWidget(self.note)

    def _field_row(self) -> QWidget:
        return self.input

    @property
    def key(self) -> str:
        return dotted(self.key_path)

    def error_keys(self) -> list[str]:
        return [self.key]

    def show_errors(self, errors: list[ConfigError]) -> None:
        messages = list(dict.fromkeys(e.message for e in errors))
        self.error.setText("\n".join(messages))
        self.error.setVisible(bool(messages))
        mark_invalid(self.input, bool(messages))

    def set_dynamic_note(self, text: str | None) -> None:
        combined = "\n".join(t for t in (self._static_note, text or "") if t)
        self.note.setText(combined)
        self.note.setVisible(bool(combined))

    def refresh(self) -> None:
        raise NotImplementedError

    def write(self, value: Any) -> None:
        self.host.change(self.key_path, value, f"change {self.label}")


class TextBinding(Binding):
    """A line edit for a string, a whole number, or a comma-separated list.

    Every keystroke is written (undo merges them per field). An optional field whose text
    is emptied loses its key once editing ends; a required one keeps an empty value in
    place, so retyping it does not move the key to the end of its mapping.
    """

    def __init__(self, host: FormHost, key_path: KeyPath, label: str, *, kind: str = "str",
                 optional: bool = False, placeholder: str = "", note: str = "",
                 hint: Callable[[Any], str | None] | None = None) -> None:
        edit = QLineEdit()
        edit.setPlaceholderText(placeholder)
        edit.setAccessibleName(label)
        self.edit = edit
        self.kind = kind
        self.optional = optional
        self.hint = hint
        super().__init__(host, key_path, edit, label, note=note)
        edit.textEdited.connect(self._edited)
        edit.editingFinished.connect(self._finished)

    def _convert(self, text: str) -> Any:
        stripped = text.strip()
        if self.kind == "int":
            if not stripped:
                return None
            try:
                return int(stripped)
            except ValueError:
                return text  # kept as typed: validation says it is not a number
        if self.kind == "list":
            return [part.strip() for part in text.split(",") if part.strip()]
        return text

    def _edited(self, text: str) -> None:
        self.write(self._convert(text))

    def _finished(self) -> None:
        if self.optional and not self.edit.text().strip() and self.host.get(self.key_path) is not None:
            self.write(DELETE)

    def refresh(self) -> None:
        value = self.host.get(self.key_path)
        if self.hint is not None:
            self.set_dynamic_note(self.hint(value))
        if value is None and not self.edit.text().strip():
            return
        if self._convert(self.edit.text()) == _plain(value):
            return  # same value: leave the user's cursor and spacing alone
        self.edit.setText(_display(value))


class PathBinding(TextBinding):
    """A file path typed or picked; relative paths are shown as written in the file."""

    def __init__(self, host: FormHost, key_path: KeyPath, label: str, *, optional: bool = True,
                 file_filter: str = "All files (*)", directory: bool = False,
                 open_button: bool = False, placeholder: str = "", note: str = "",
                 relative: bool = True) -> None:
        self.file_filter = file_filter
        self.relative = relative
        self.directory = directory
        self.browse = QPushButton("Browse…")
        self.open_button = QPushButton("Open in editor") if open_button else None
        super().__init__(host, key_path, label, optional=optional, placeholder=placeholder,
                         note=note)
        self.browse.clicked.connect(self._pick)
        if self.open_button is not None:
            self.open_button.clicked.connect(self.open_in_editor)

    def _field_row(self) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.browse)
        if self.open_button is not None:
            layout.addWidget(self.open_button)
        return row

    def resolved(self) -> Path | None:
        text = self.edit.text().strip()
        if not text:
            return None
        return resolve_path(text, self.host.base_folder() / "channel.yaml")

    def _pick(self) -> None:
        start = str(self.resolved() or self.host.base_folder())
        if self.directory:
            chosen = QFileDialog.getExistingDirectory(self.container, self.label, start)
        else:
            chosen, _ = QFileDialog.getOpenFileName(self.container, self.label, start,
                                                    self.file_filter)
        if chosen:
            self.set_path(Path(chosen))

    def set_path(self, path: Path) -> None:
        """Use `path`, relative to the file's folder when it lies inside it (portable)."""
        text = str(path)
        if self.relative:
            try:
                text = path.relative_to(self.host.base_folder()).as_posix()
            except ValueError:
                pass
        self.edit.setText(text)
        self.write(text)

    def open_in_editor(self) -> bool:
        """Open the file with the system's editor for its type."""
        target = self.resolved()
        if target is None or not target.is_file():
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(target)))

    def refresh(self) -> None:
        super().refresh()
        if self.open_button is not None:
            target = self.resolved()
            self.open_button.setEnabled(target is not None and target.is_file())


class CheckBinding(Binding):
    def __init__(self, host: FormHost, key_path: KeyPath, label: str, *, default: bool,
                 text: str = "", note: str = "") -> None:
        self.box = QCheckBox(text or label)
        self.default = default
        super().__init__(host, key_path, self.box, label, note=note)
        self.box.clicked.connect(lambda checked: self.write(bool(checked)))

    def refresh(self) -> None:
        value = self.host.get(self.key_path)
        checked = bool(value) if isinstance(value, bool) else self.default
        if self.box.isChecked() != checked:
            self.box.blockSignals(True)
            self.box.setChecked(checked)
            self.box.blockSignals(False)


class ChoiceBinding(Binding):
    """A fixed choice; the first entry usually means "not set" (the key is removed)."""

    def __init__(self, host: FormHost, key_path: KeyPath, label: str,
                 choices: Sequence[tuple[str, Any]], *, note: str = "") -> None:
        self.combo = QComboBox()
        self.combo.setAccessibleName(label)
        self.choices = list(choices)
        for text, _ in self.choices:
            self.combo.addItem(text)
        super().__init__(host, key_path, self.combo, label, note=note)
        self.combo.activated.connect(self._picked)

    def _picked(self, index: int) -> None:
        if 0 <= index < len(self.choices):
            self.write(self.choices[index][1])
        # an index past the choices is the "unknown value" entry: nothing to write

    def refresh(self) -> None:
        value = self.host.get(self.key_path)
        wanted = DELETE if value is None else _norm(value)
        index = next((i for i, (_, v) in enumerate(self.choices)
                      if (v is DELETE and wanted is DELETE) or
                      (v is not DELETE and wanted is not DELETE and _norm(v) == wanted)), -1)
        self.combo.blockSignals(True)
        while self.combo.count() > len(self.choices):
            self.combo.removeItem(self.combo.count() - 1)
        if index < 0:
            self.combo.addItem(f"{_display(value)} (not a known value)")
            index = self.combo.count() - 1
        self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)


def add_row(form: QFormLayout, binding: Binding, *, desktop_only: bool = False) -> Binding:
    form.addRow(row_label(binding.label, desktop_only=desktop_only), binding.container)
    return binding


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _norm(value: Any) -> Any:
    # `min_version: 1.2` unquoted is a float; the choice is the text "1.2".
    if isinstance(value, float):
        return repr(value)
    return _plain(value)


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_display(v) for v in value)
    if isinstance(value, dict):
        return "(a mapping: edit it in the YAML tab)"
    return str(value)
