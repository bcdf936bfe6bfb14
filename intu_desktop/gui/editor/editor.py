"""The Channels editor window: the project's channel files, one page per open file.

Dependencies come in through the constructor (STYLE 7): the project folder or channel files,
and `apply_channel`, which restarts one channel's listener (see `apply.restart_listener`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QUndoGroup
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QWidget,
)
from send2trash import send2trash  # type: ignore[import-untyped]

from intu_desktop.config import ChannelConfig
from intu_desktop.config.project import find_channel_files
from intu_desktop.gui.editor.background import Background
from intu_desktop.gui.editor.channel_list import ChannelListModel, ChannelListPanel, ChannelListRow
from intu_desktop.gui.editor.channel_page import ChannelPage
from intu_desktop.gui.editor.disk_watch import DiskWatch
from intu_desktop.gui.editor.page import DocumentPage
from intu_desktop.gui.editor.project_page import ProjectPage
from intu_desktop.gui.editor.session import EditSession, KeyPath
from intu_desktop.gui.editor.template import (
    ChannelSummary,
    channels_dir,
    clone_session,
    named_destinations,
    new_channel_session,
    read_summary,
)

ApplyChannel = Callable[[ChannelConfig], tuple[bool, str]]
_STYLE = """
*[invalid="true"] { border: 1px solid #b00020; }
QLabel[role="fieldError"] { color: #b00020; }
QLabel#fieldNote { color: #555555; }
QLabel#extensionsNotice { background: #fff4e5; padding: 4px; }
QLabel#formNotice { background: #fdecea; padding: 4px; }
"""


class ChannelEditor(QMainWindow):
    """Edit channels (and intu.yaml's named destinations) as forms that save the same YAML."""

    channels_changed = Signal()  # a channel file was created, saved or deleted
    channel_applied = Signal(str, bool, str)  # channel id, ok, what happened

    def __init__(self, project_root: Path | None, channel_files: Sequence[Path],
                 apply_channel: ApplyChannel | None, parent: QWidget | None = None, *,
                 profile: str = "dev", settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self.project_root = _absolute(project_root) if project_root else None
        self.apply_channel = apply_channel
        self.profile = profile
        self.settings = settings or QSettings(QSettings.Format.IniFormat,
                                              QSettings.Scope.UserScope, "intu-desktop",
                                              "intu-desktop")
        self.setStyleSheet(_STYLE)
        self.checker = Background("editor-check", self)
        self.applier = Background("editor-apply", self)
        self.undo_group = QUndoGroup(self)
        self.disk_watch = DiskWatch(self._disk_changed, self)
        self._pages: list[ChannelPage] = []
        self.project_page: ProjectPage | None = None
        self._summaries: dict[Path, ChannelSummary] = {}
        self._named = named_destinations(self.project_root)
        self._channels_folder = (_absolute(channels_dir(self.project_root))
                                 if self.project_root is not None else None)
        self._closed = False

        self.model = ChannelListModel(self)
        self.panel = ChannelListPanel(self.model)
        self.placeholder = QLabel("Pick a channel on the left, or create one with New.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.currentChanged.connect(lambda _i: self._current_changed())
        splitter = QSplitter()
        splitter.addWidget(self.panel)
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(1, 1)
        self.splitter = splitter
        self.setCentralWidget(splitter)
        self._build_actions()
        self.panel.view.selectionModel().currentChanged.connect(lambda *_a: self._selected())
        self.panel.new_button.clicked.connect(self.new_channel)
        self.panel.clone_button.clicked.connect(self.clone_channel)
        self.panel.delete_button.clicked.connect(self.delete_channel)
        self.panel.toggle_button.clicked.connect(self.toggle_enabled)
        self.panel.project_button.clicked.connect(self.open_project_file)
        self.panel.project_button.setVisible(self._intu_file() is not None)
        self._load_list(channel_files)
        if self.model.rowCount():
            self.panel.select(0)
        self._restore_geometry()
        self._update_window()

    # -- setup -------------------------------------------------------------------------
    def _build_actions(self) -> None:
        toolbar = self.addToolBar("Edit")
        toolbar.setObjectName("editorToolbar")
        self.save_action = QAction("Save", self)
        self.save_action.setShortcut(QKeySequence.StandardKey.Save)
        self.save_action.triggered.connect(lambda: self._on_page(lambda p: p.save()))
        self.undo_action = self.undo_group.createUndoAction(self, "Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.undo_group.createRedoAction(self, "Redo")
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        self.apply_action = QAction("Apply", self)
        self.apply_action.triggered.connect(
            lambda: self._on_page(lambda p: p.apply() if isinstance(p, ChannelPage) else None))
        self.apply_action.setVisible(self.apply_channel is not None)
        for action in (self.save_action, self.undo_action, self.redo_action, self.apply_action):
            toolbar.addAction(action)

    def _intu_file(self) -> Path | None:
        if self.project_root is None:
            return None
        path = self.project_root / "intu.yaml"
        return path if path.is_file() else None

    def new_channel_folder(self) -> Path | None:
        """Where New and Clone put channel folders."""
        if self._channels_folder is not None:
            return self._channels_folder
        rows = self.model.rows()
        return rows[0].path.parent.parent if rows else None

    def _load_list(self, channel_files: Sequence[Path]) -> None:
        files = [_absolute(f) for f in channel_files]
        folder = self._channels_folder
        if not files and folder is not None:
            files = find_channel_files(folder) if folder.is_dir() else []
        for path in dict.fromkeys(files):
            self._summaries[path] = read_summary(path)
        self.model.set_rows([self._row(path) for path in dict.fromkeys(files)])
        self._update_panel()

    def _row(self, path: Path) -> ChannelListRow:
        page = self._page_for(path)
        summary = page.summary() if page is not None else self._summaries.get(path)
        if summary is None:
            summary = ChannelSummary(path, path.parent.name, True, "", None)
        return ChannelListRow(
            path=path, channel_id=summary.id, enabled=summary.enabled,
            listener_type=summary.listener_type, port=summary.port,
            dirty=page.is_dirty() if page is not None else False,
            new=page.session.is_new if page is not None else False)

    # -- pages -------------------------------------------------------------------------
    def _page_for(self, path: Path) -> ChannelPage | None:
        return next((p for p in self._pages if p.session.path == path), None)

    def pages(self) -> list[DocumentPage]:
        found: list[DocumentPage] = list(self._pages)
        if self.project_page is not None:
            found.append(self.project_page)
        return found

    def current_page(self) -> DocumentPage | None:
        widget = self.stack.currentWidget()
        return widget if isinstance(widget, DocumentPage) else None

    def open_channel(self, path: Path) -> ChannelPage | None:
        """Show the channel file at `path` (added to the list if it is not there)."""
        path = _absolute(path)
        page = self._page_for(path)
        if page is None:
            try:
                session = EditSession.open(path)
            except (OSError, UnicodeDecodeError) as exc:
                self._show_problem(f"Cannot open {path}: {getattr(exc, 'strerror', None) or exc}")
                return None
            page = self._add_page(session)
            if self.model.row_of(path) < 0:
                self.model.insert_row(self.model.rowCount(), self._row(path))
        self._show_page(page)
        return page

    def _add_page(self, session: EditSession, *, new_folder: Path | None = None,
                  clone_from: Path | None = None) -> ChannelPage:
        page = ChannelPage(session, self.checker, self.applier, profile=self.profile,
                           apply_channel=self.apply_channel,
                           others=self._others, named=lambda: list(self._named),
                           new_folder=new_folder, clone_from=clone_from)
        self._pages.append(page)
        self._wire(page)
        page.saved.connect(self._channel_saved)
        page.applied.connect(
            lambda ok, text: self.channel_applied.emit(page.display_name(), ok, text))
        return page

    def _wire(self, page: DocumentPage) -> None:
        self.stack.addWidget(page)
        self.undo_group.addStack(page.undo_stack)
        page.state_changed.connect(lambda: self._page_state_changed(page))
        self.disk_watch.watch(page.session.path)

    def _show_page(self, page: DocumentPage) -> None:
        self.stack.setCurrentWidget(page)
        if isinstance(page, ChannelPage):
            row = self.model.row_of(page.session.path)
            if row >= 0 and self.panel.view.currentIndex().row() != row:
                self.panel.select(row)
        else:
            self.panel.view.setCurrentIndex(QModelIndex())
        self._current_changed()

    def _selected(self) -> None:
        path = self.panel.current_path()
        if path is not None:
            page = self._page_for(path)
            if page is not None:
                self._show_page(page)
            else:
                self.open_channel(path)
        self._update_panel()

    def _current_changed(self) -> None:
        page = self.current_page()
        self.undo_group.setActiveStack(page.undo_stack if page is not None else None)  # type: ignore[arg-type]
        self._update_window()

    def _others(self, page: ChannelPage) -> list[ChannelSummary]:
        return [s for s in self._all_summaries() if s.path != page.session.path]

    def _page_state_changed(self, page: DocumentPage) -> None:
        if isinstance(page, ChannelPage):
            row = self.model.row_of(page.session.path)
            if row >= 0:
                self.model.update_row(row, self._row(page.session.path))
        if page is self.current_page():
            self._update_window()
        self._update_panel()

    def _update_window(self) -> None:
        page = self.current_page()
        name = page.display_name() if page is not None else "intu Desktop"
        self.setWindowTitle(f"Channels — {name}[*]")
        self.setWindowModified(page is not None and page.is_dirty())
        self.save_action.setEnabled(page is not None and page.can_save())
        self.apply_action.setEnabled(isinstance(page, ChannelPage) and page.can_apply())

    def _update_panel(self) -> None:
        path = self.panel.current_path()
        has = path is not None
        self.panel.new_button.setEnabled(self.new_channel_folder() is not None)
        self.panel.clone_button.setEnabled(has)
        self.panel.delete_button.setEnabled(has)
        self.panel.toggle_button.setEnabled(has)
        position = self.model.row_of(path) if path is not None else -1
        if position >= 0:
            enabled = self.model.rows()[position].enabled
            self.panel.toggle_button.setText("Disable" if enabled else "Enable")

    def _on_page(self, action: Callable[[DocumentPage], Any]) -> None:
        page = self.current_page()
        if page is not None:
            action(page)

    def _show_problem(self, text: str) -> None:
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder)

    # -- list actions ------------------------------------------------------------------
    def _all_summaries(self) -> list[ChannelSummary]:
        """Every listed channel as it is now: unsaved edits of open pages included."""
        found = []
        for row in self.model.rows():
            page = self._page_for(row.path)
            summary = page.summary() if page is not None else self._summaries.get(row.path)
            if summary is not None:
                found.append(summary)
        return found

    def new_channel(self) -> ChannelPage | None:
        """An unsaved channel from the template, with a unique id and an unused port."""
        folder = self.new_channel_folder()
        if folder is None:
            return None
        session = new_channel_session(folder, self._all_summaries(), self._named)
        return self._add_new(session, folder, None)

    def clone_channel(self) -> ChannelPage | None:
        """An unsaved copy of the selected channel (its scripts are copied on first save)."""
        path = self.panel.current_path()
        folder = self.new_channel_folder()
        source = self.open_channel(path) if path is not None else None
        if source is None or folder is None:
            return None
        session = clone_session(source.session, folder, self._all_summaries())
        origin = source.session.path.parent if not source.session.is_new else None
        return self._add_new(session, folder, origin)

    def _add_new(self, session: EditSession, folder: Path, clone_from: Path | None
                 ) -> ChannelPage:
        page = self._add_page(session, new_folder=folder, clone_from=clone_from)
        self.model.insert_row(self.model.rowCount(), self._row(session.path))
        self._show_page(page)
        return page

    def toggle_enabled(self) -> None:
        """Stage enabled: true/false on the selected channel (saved with Save)."""
        path = self.panel.current_path()
        page = self.open_channel(path) if path is not None else None
        if page is None or not page.session.parsed:
            return
        enabled = page.session.get(("enabled",))
        page.change(("enabled",), not (enabled if isinstance(enabled, bool) else True), "enabled")

    def delete_channel(self, *, confirm: bool = True) -> bool:
        """Move the selected channel's folder (or lone file) to the system trash."""
        path = self.panel.current_path()
        if path is None:
            return False
        page = self._page_for(path)
        if page is None or not page.session.is_new:
            target = self._trash_target(path)
            if confirm and QMessageBox.question(
                self, "Delete channel",
                f"Move {target} to the trash? The channel stops being loaded; its listener "
                "keeps running until the app restarts or the channel is applied.",
            ) != QMessageBox.StandardButton.Yes:
                return False
            try:
                send2trash(str(target))
            except OSError as exc:
                QMessageBox.warning(self, "Delete channel", f"Could not delete {target}: {exc}")
                return False
        self._drop(path)
        self.channels_changed.emit()
        return True

    def _trash_target(self, path: Path) -> Path:
        """The channel's own folder inside the project's channels folder, else the file."""
        folder = self._channels_folder
        if folder is not None and path.parent != folder and folder in path.parents:
            return path.parent
        return path

    def _drop(self, path: Path) -> None:
        page = self._page_for(path)
        if page is not None:
            self._pages.remove(page)
            self.undo_group.removeStack(page.undo_stack)
            self.stack.removeWidget(page)
            page.deleteLater()
        self._summaries.pop(path, None)
        self.disk_watch.unwatch(path)
        row = self.model.row_of(path)
        self.model.remove_row(row)
        if self.model.rowCount():
            self.panel.select(min(row, self.model.rowCount() - 1))
        else:
            self.placeholder.setText("No channels. Create one with New.")
            self.stack.setCurrentWidget(self.placeholder)

    def open_project_file(self) -> ProjectPage | None:
        """The intu.yaml page (named destinations)."""
        intu = self._intu_file()
        if intu is None:
            return None
        if self.project_page is None:
            try:
                session = EditSession.open(intu)
            except (OSError, UnicodeDecodeError) as exc:
                self._show_problem(f"Cannot open {intu}: {exc}")
                return None
            self.project_page = ProjectPage(session, self.checker)
            self._wire(self.project_page)
            self.project_page.saved.connect(lambda _p: self._project_saved())
        self._show_page(self.project_page)
        return self.project_page

    # -- after saving ------------------------------------------------------------------
    def _channel_saved(self, page: ChannelPage) -> None:
        path = page.session.path
        if page.previous_path != path:
            # A new channel's first save picks its final folder: its row follows.
            self.model.update_row(self.model.row_of(page.previous_path), self._row(path))
        self._summaries[path] = page.summary()
        self.disk_watch.watch(path)
        for other in self._pages:
            if other is not page:
                other.schedule_check()  # ids and ports across channels
        self._page_state_changed(page)
        self.channels_changed.emit()

    def _project_saved(self) -> None:
        self._named = named_destinations(self.project_root)
        for page in self._pages:
            page.schedule_check()
            for part in page.parts:
                part.refresh()

    # -- outside changes ---------------------------------------------------------------
    def _disk_changed(self, path: Path) -> None:
        for page in self.pages():
            if page.session.path == path:
                page.check_disk()

    def changeEvent(self, event: QEvent) -> None:
        # Coming back to the window: a change the watcher missed (network drives) is found.
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            for page in self.pages():
                page.check_disk()
        super().changeEvent(event)

    # -- issue 7's one-click fixes -----------------------------------------------------
    def stage_change(self, path: Path, key_path: KeyPath, value: Any, description: str
                     ) -> ChannelPage | None:
        """Open the channel with one change applied but not saved, showing its diff. An
        integer index past the end of a list appends (e.g. to calling_ae_titles)."""
        page = self.open_channel(path)
        if page is not None:
            page.stage(tuple(key_path), value, description)
            self.show()
            self.raise_()
            self.activateWindow()
        return page

    # -- closing -----------------------------------------------------------------------
    def dirty_pages(self) -> list[DocumentPage]:
        return [p for p in self.pages() if p.is_dirty()]

    def maybe_close(self) -> bool:
        """Ask about unsaved changes; True when the editor may close."""
        dirty = self.dirty_pages()
        if not dirty:
            return True
        names = ", ".join(p.display_name() for p in dirty)
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                          f"Unsaved changes in: {names}.", parent=self)
        box.setStandardButtons(QMessageBox.StandardButton.SaveAll
                               | QMessageBox.StandardButton.Discard
                               | QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        answer = box.exec()
        if answer == QMessageBox.StandardButton.Discard:
            self.discard_changes()
            return True
        if answer == QMessageBox.StandardButton.SaveAll:
            failed = [p for p in dirty if not p.save()]
            if failed:
                self._show_page(failed[0])
                return False
            return True
        return False

    def discard_changes(self) -> None:
        """Drop every unsaved change (new channels that were never saved disappear)."""
        for page in list(self._pages):
            if page.session.is_new:
                self._drop(page.session.path)
            elif page.is_dirty():
                page.reload_from_disk()
        if self.project_page is not None and self.project_page.is_dirty():
            self.project_page.reload_from_disk()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closed and not self.maybe_close():
            event.ignore()
            return
        self._save_geometry()
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop the worker threads (waits for a running check or Apply)."""
        self._closed = True
        self.checker.shutdown()
        self.applier.shutdown()

    def _restore_geometry(self) -> None:
        geometry = self.settings.value("editor/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1100, 760)
        state = self.settings.value("editor/splitter")
        if state is not None:
            self.splitter.restoreState(state)

    def _save_geometry(self) -> None:
        self.settings.setValue("editor/geometry", self.saveGeometry())
        self.settings.setValue("editor/splitter", self.splitter.saveState())


def _absolute(path: Path | str) -> Path:
    # abspath, not resolve(): keep the user's symlinks as written (as the config loader does).
    return Path(os.path.abspath(path))
