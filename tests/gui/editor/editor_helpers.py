"""Helpers for driving the channel editor in tests, as a user would."""

from __future__ import annotations

from typing import Any


def wait_checked(qtbot: Any, page: Any) -> None:
    """Validation runs on a worker thread; wait until the shown problems are current."""
    qtbot.waitUntil(lambda: page.checked and not page._check_running, timeout=10000)


def retype(qtbot: Any, edit: Any, text: str) -> None:
    """Select everything in a line edit and type `text`, as a user would."""
    from PySide6.QtCore import Qt

    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(edit, text)


def field(page: Any, key: str, kind: Any = None) -> Any:
    """The input widget bound to a dotted key path (objectName "field:<key>")."""
    from PySide6.QtWidgets import QWidget

    found = page.findChild(kind or QWidget, f"field:{key}")
    assert found is not None, f"no field for {key}"
    return found


def field_error(page: Any, key: str) -> str:
    from PySide6.QtWidgets import QLabel

    label = page.findChild(QLabel, f"error:{key}")
    assert label is not None, f"no error label for {key}"
    return label.text() if not label.isHidden() else ""


def click(qtbot: Any, button: Any) -> None:
    from PySide6.QtCore import Qt

    assert button.isEnabled(), f"{button.text()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
