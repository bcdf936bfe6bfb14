"""One open file in the editor: form and YAML tabs over one EditSession, undo, validation
off the GUI thread, problems, the diff before saving, and outside changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from intu_desktop.config import ConfigError
from intu_desktop.gui.editor.background import Background
from intu_desktop.gui.editor.banner import Banner
from intu_desktop.gui.editor.bindings import DELETE, FormPart, KeyPath, distribute, dotted, owner_of
from intu_desktop.gui.editor.checks import CheckResult
from intu_desktop.gui.editor.diff_view import DiffView
from intu_desktop.gui.editor.errors_view import ErrorList
from intu_desktop.gui.editor.session import EditSession, ExternalChangeError
from intu_desktop.gui.editor.undo import TextChange
from intu_desktop.gui.editor.yaml_view import YamlView

_YAML_MERGE_KEY = "(yaml)"


class DocumentPage(QWidget):
    """Subclasses build the form (`build_form`) and say how to check text (`check_job`)."""

    state_changed = Signal()  # dirty, problems, path or id changed: the editor updates
    saved = Signal(object)  # this page, after a successful save

    def __init__(self, session: EditSession, checker: Background,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.checker = checker
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self.errors: list[ConfigError] = []
        self.result: CheckResult | None = None
        self.parts: list[FormPart] = []
        self._generation = 0
        self._checked = -1
        self._check_running = False
        self._merge_ids: dict[str, int] = {}
        self._closing = False

        self.external_banner = Banner("externalBanner")
        self.staged_banner = Banner("stagedBanner")
        self.result_banner = Banner("resultBanner")
        self.form_notice = QLabel()
        self.form_notice.setObjectName("formNotice")
        self.form_notice.setWordWrap(True)
        self.extensions_label = QLabel()
        self.extensions_label.setObjectName("extensionsNotice")
        self.extensions_label.setWordWrap(True)
        self.extensions_label.setVisible(False)
        self.form = QWidget()
        form_layout = QVBoxLayout(self.form)
        form_layout.addWidget(self.form_notice)
        form_layout.addWidget(self.extensions_label)
        self.build_form(form_layout)
        form_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        self.form_scroll = scroll
        self.yaml_view = YamlView(self._yaml_edited)
        self.diff_view = DiffView()
        self.tabs = QTabWidget()
        self.tabs.addTab(scroll, "Form")
        self.tabs.addTab(self.yaml_view, "YAML")
        self.tabs.addTab(self.diff_view, "Changes")
        self.tabs.currentChanged.connect(lambda _i: self._refresh_diff())
        self.error_list = ErrorList()
        self.error_list.error_activated.connect(self.go_to_error)
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("saveButton")
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton("Revert")
        self.revert_button.setToolTip("Drop the unsaved changes and show the file on disk")
        self.revert_button.clicked.connect(self.revert)
        self.status_label = QLabel()
        self.status_label.setObjectName("pageStatus")
        self.button_row = QHBoxLayout()
        self.button_row.addWidget(self.status_label, 1)
        self.button_row.addWidget(self.revert_button)
        self.button_row.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        for banner in (self.external_banner, self.staged_banner, self.result_banner):
            layout.addWidget(banner)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.error_list)
        layout.addLayout(self.button_row)
        self._after_change()

    def _clean_changed(self, _clean: bool) -> None:
        # Also emitted while Qt destroys the page's undo stack: only a live page reports.
        if shiboken6.isValid(self) and not self._closing:
            self.state_changed.emit()

    # -- what subclasses provide -------------------------------------------------------
    def build_form(self, layout: QVBoxLayout) -> None:
        raise NotImplementedError

    def check_job(self, text: str) -> Callable[[], CheckResult]:
        raise NotImplementedError

    def display_name(self) -> str:
        return self.session.path.name

    def on_checked(self, result: CheckResult) -> None:
        """Hook after a check result was applied (e.g. desktop-only notices)."""

    # -- FormHost ----------------------------------------------------------------------
    def get(self, key_path: KeyPath) -> Any:
        return self.session.get(key_path)

    def base_folder(self) -> Any:
        return self.session.path.parent

    def change(self, key_path: KeyPath, value: Any, label: str = "") -> None:
        """A form edit: applied to the session, one undo step (merged per field)."""
        if not self.session.parsed:
            return
        before = self.session.text()
        self._apply_value(tuple(key_path), value)
        after = self.session.text()
        if after == before:
            return
        key = dotted(key_path)
        self.undo_stack.push(TextChange(self._restore, before, after,
                                        label or f"change {key}", self._merge_id(key)))
        self._after_change()

    def _apply_value(self, key_path: KeyPath, value: Any) -> None:
        if value is DELETE:
            self.session.delete_value(key_path)
            return
        if isinstance(key_path[-1], int):
            parent = self.session.get(key_path[:-1])
            if parent is None:
                self.session.set_value(key_path[:-1], [value])
                return
            if isinstance(parent, list) and key_path[-1] > len(parent):
                key_path = (*key_path[:-1], len(parent))  # past the end: append
        self.session.set_value(key_path, value)

    def _merge_id(self, key: str) -> int:
        return self._merge_ids.setdefault(key, len(self._merge_ids))

    def _restore(self, text: str) -> None:
        self.session.set_text(text)
        self._after_change()

    def _yaml_edited(self, text: str) -> None:
        before = self.session.text()
        if text == before:
            return
        self.session.set_text(text)
        self.undo_stack.push(TextChange(self._restore, before, self.session.text(),
                                        "edit YAML", self._merge_id(_YAML_MERGE_KEY)))
        self._after_change()

    # -- keeping everything in step -----------------------------------------------------
    def _after_change(self, recheck: bool = True) -> None:
        parsed = self.session.parsed
        self.form.setEnabled(parsed)
        if parsed:
            self.form_notice.setVisible(False)
            for part in self.parts:
                part.refresh()
        else:
            self.form_notice.setText("The YAML text has a syntax error (see Problems); the form "
                                     "is back once the text is fixed.")
            self.form_notice.setVisible(True)
        self.yaml_view.show_text(self.session.text())
        self._refresh_diff()
        if recheck:
            self.schedule_check()
        else:
            self._update_status()
        self.state_changed.emit()

    def _refresh_diff(self) -> None:
        if self.tabs.currentWidget() is self.diff_view:
            self.diff_view.show_diff(self.session.saved_text(), self.session.text(),
                                     self.session.path.name)

    def schedule_check(self) -> None:
        """Validate the current text on the worker thread; only the newest result counts."""
        self._generation += 1
        if self.session.syntax_error is not None:
            self._checked = self._generation
            self._show_result(CheckResult(errors=[self.session.syntax_error]))
            return
        self._update_status()
        if not self._check_running:
            self._start_check()

    def _start_check(self) -> None:
        generation = self._generation
        self._check_running = True
        started = self.checker.run(self.check_job(self.session.text()),
                                   lambda result, error: self._check_done(generation, result, error))
        if not started:
            self._check_running = False

    def _check_done(self, generation: int, result: CheckResult | None,
                    error: BaseException | None) -> None:
        self._check_running = False
        if generation != self._generation:
            if self.session.syntax_error is None:
                self._start_check()  # the text changed meanwhile: check the newest
            return
        if result is None:
            result = CheckResult(errors=[ConfigError(self.session.path, 1, "(check)",
                                                     f"could not check the file: {error}")])
        self._checked = generation
        self._show_result(result)

    def _show_result(self, result: CheckResult) -> None:
        self.result = result
        self.errors = list(result.errors)
        if self.session.parsed:
            distribute(self.errors, self.parts)
        self.error_list.show_errors(self.errors)
        self.yaml_view.mark_lines(e.line for e in self.errors if e.file == self.session.path)
        self.on_checked(result)
        self._update_status()
        self.state_changed.emit()

    @property
    def checked(self) -> bool:
        """The problems shown belong to the current text."""
        return self._checked == self._generation

    def is_dirty(self) -> bool:
        return self.session.is_dirty()

    def can_save(self) -> bool:
        return (self.session.parsed and self.checked and not self.errors
                and self.session.is_dirty())

    def _update_status(self) -> None:
        if not self.checked:
            text = "Checking…"
        elif self.errors:
            text = f"{len(self.errors)} problem(s): fix them to save"
        elif self.session.is_new:
            text = "New: not saved yet"
        elif self.session.is_dirty():
            text = "Unsaved changes"
        else:
            text = "Saved"
        self.status_label.setText(text)
        self.save_button.setEnabled(self.can_save())
        self.revert_button.setEnabled(self.session.is_dirty() and not self.session.is_new)

    # -- saving and the file on disk ----------------------------------------------------
    def save(self) -> bool:
        """Atomic save; never over a file another program changed (the banner offers a
        reload instead)."""
        if not self.can_save():
            return False
        path = self.session.path
        try:
            self.write_file()
        except ExternalChangeError:
            self.show_external_change()
            return False
        except OSError as exc:
            self.result_banner.show_message("error", f"Could not save {self.session.path}: "
                                                     f"{exc.strerror or exc}")
            return False
        self.undo_stack.setClean()
        self.staged_banner.dismiss()
        self.external_banner.dismiss()
        self._after_change(recheck=self.session.path != path)  # same text, same file: same result
        self.saved.emit(self)
        return True

    def write_file(self) -> None:
        self.session.save()

    def revert(self) -> None:
        """Back to the file on disk; the change can still be undone."""
        if self.session.is_new:
            return
        before = self.session.text()
        try:
            self.session.reload()
        except OSError as exc:
            self.result_banner.show_message("error", f"Could not read {self.session.path}: "
                                                     f"{exc.strerror or exc}")
            return
        if self.session.text() != before:
            self.undo_stack.push(TextChange(self._restore, before, self.session.text(),
                                            "revert"))
        self.staged_banner.dismiss()
        self._after_change()

    def check_disk(self) -> None:
        """Called when the file may have changed (file watcher, window activation)."""
        if self.session.is_new and not self.session.path.exists():
            return
        if self.session.changed_on_disk():
            self.show_external_change()

    def show_external_change(self) -> None:
        if self.session.path.exists():
            text = (f"{self.session.path.name} was changed on disk by another program. "
                    "Reload it (your unsaved changes are dropped), or keep your version "
                    "and save over it.")
        else:
            text = (f"{self.session.path.name} was deleted or moved by another program. "
                    "Keep your version to save it again.")
        self.external_banner.show_message("warning", text, [
            ("Reload", self.reload_from_disk), ("Keep my version", self.keep_my_version)])

    @property
    def external_change_shown(self) -> bool:
        return not self.external_banner.isHidden()

    def reload_from_disk(self) -> None:
        try:
            self.session.reload()
        except (OSError, UnicodeDecodeError) as exc:
            self.external_banner.show_message("error", f"Could not reload: {exc}",
                                              [("Keep my version", self.keep_my_version)])
            return
        self.undo_stack.clear()
        self.external_banner.dismiss()
        self.staged_banner.dismiss()
        self._after_change()

    def keep_my_version(self) -> None:
        self.session.accept_disk_state()
        self.external_banner.dismiss()
        self._after_change()

    # -- staged changes and errors -----------------------------------------------------
    def stage(self, key_path: KeyPath, value: Any, description: str) -> None:
        """Apply a change without saving and show its diff (issue 7's one-click fixes)."""
        before = self.session.text()
        if self.session.parsed:
            self.change(key_path, value, description)
        if self.session.text() == before:
            self.staged_banner.show_message(
                "info", f"{description}: nothing to change, the file already says so.")
            return
        self.staged_banner.show_message(
            "info", f"Staged, not saved yet: {description}. Review the change, then save.",
            [("Save", self.save), ("Discard", self.undo_stack.undo)])
        self.tabs.setCurrentWidget(self.diff_view)
        self._refresh_diff()

    def go_to_error(self, error: ConfigError) -> None:
        """Show the field that owns the error, or its line in the YAML tab."""
        keys = {key: part for part in self.parts for key in part.error_keys()}
        owner = owner_of(error.key_path, list(keys)) if self.session.parsed else None
        if owner is not None:
            widget = getattr(keys[owner], "input", None) or getattr(keys[owner], "list", None)
            self.tabs.setCurrentWidget(self.form_scroll)
            if widget is not None:
                self.form_scroll.ensureWidgetVisible(widget)
                widget.setFocus()
            return
        self.tabs.setCurrentWidget(self.yaml_view)
        self.yaml_view.go_to_line(error.line)
