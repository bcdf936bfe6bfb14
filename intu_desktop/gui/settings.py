"""Window geometry, splitter positions and column layouts, kept in QSettings.

Widgets opt in by having an object name: every named QSplitter and the header of
every named QTableView/QTreeView under the window is saved and restored.
The QSettings object is passed in (organization "intu", application "intu-desktop"
in the app; a temporary file in tests).
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QMainWindow,
    QSplitter,
    QTableView,
    QTreeView,
)

ORGANIZATION = "intu"
APPLICATION = "intu-desktop"

CLOSE_TO_TRAY = "behaviour/closeToTray"
CLOSE_EXPLAINED = "behaviour/closeExplained"
GROUP_BY_STUDY = "instances/groupByStudy"


def _header(view: QAbstractItemView) -> QHeaderView | None:
    if isinstance(view, (QTableView, QTreeView)):
        return view.horizontalHeader() if isinstance(view, QTableView) else view.header()
    return None


def save_layout(settings: QSettings, window: QMainWindow) -> None:
    settings.setValue("window/geometry", window.saveGeometry())
    settings.setValue("window/state", window.saveState())
    for splitter in window.findChildren(QSplitter):
        if splitter.objectName():
            settings.setValue(f"splitters/{splitter.objectName()}", splitter.saveState())
    for view in window.findChildren(QAbstractItemView):
        header = _header(view)
        if header is not None and view.objectName():
            settings.setValue(f"columns/{view.objectName()}", header.saveState())
    settings.sync()


def restore_layout(settings: QSettings, window: QMainWindow) -> None:
    geometry = settings.value("window/geometry")
    if isinstance(geometry, QByteArray) and not geometry.isEmpty():
        window.restoreGeometry(geometry)
    state = settings.value("window/state")
    if isinstance(state, QByteArray) and not state.isEmpty():
        window.restoreState(state)
    for splitter in window.findChildren(QSplitter):
        value = (
            settings.value(f"splitters/{splitter.objectName()}") if splitter.objectName() else None
        )
        if isinstance(value, QByteArray) and not value.isEmpty():
            splitter.restoreState(value)
    for view in window.findChildren(QAbstractItemView):
        header = _header(view)
        value = settings.value(f"columns/{view.objectName()}") if view.objectName() else None
        if header is not None and isinstance(value, QByteArray) and not value.isEmpty():
            header.restoreState(value)


def flag(settings: QSettings, key: str, default: bool) -> bool:
    value = settings.value(key, default)
    if isinstance(value, str):  # INI files give strings back
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def set_flag(settings: QSettings, key: str, value: bool) -> None:
    settings.setValue(key, bool(value))
    settings.sync()
