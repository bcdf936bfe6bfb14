"""Notices when another program changes an open file, so the page can offer a reload.

QFileSystemWatcher drops a file that is replaced by a rename (what most editors, and our own
atomic save, do); watching the folder as well catches that, and the file is watched again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject


class DiskWatch(QObject):
    """Calls `changed(path)` for a watched file that may have changed (or been replaced)."""

    def __init__(self, changed: Callable[[Path], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._changed = changed
        self._files: set[Path] = set()
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(lambda name: self._report(Path(name)))
        self._watcher.directoryChanged.connect(self._folder_changed)

    def watch(self, path: Path) -> None:
        self._files.add(path)
        watched = set(self._watcher.files()) | set(self._watcher.directories())
        for item in (path, path.parent):
            if str(item) not in watched and item.exists():
                self._watcher.addPath(str(item))

    def unwatch(self, path: Path) -> None:
        self._files.discard(path)
        if str(path) in self._watcher.files():
            self._watcher.removePath(str(path))

    def _folder_changed(self, name: str) -> None:
        folder = Path(name)
        for path in [p for p in self._files if p.parent == folder]:
            self._report(path)

    def _report(self, path: Path) -> None:
        if path in self._files:
            self.watch(path)  # re-added when the file was replaced by a rename
            self._changed(path)
