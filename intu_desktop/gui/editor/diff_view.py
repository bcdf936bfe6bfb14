"""The Changes tab: what Save would write, as a unified diff against the file on disk."""

from __future__ import annotations

import difflib

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit


def unified_diff(saved: str, current: str, name: str) -> str:
    lines = difflib.unified_diff(
        saved.splitlines(keepends=True), current.splitlines(keepends=True),
        fromfile=f"{name} (on disk)", tofile=f"{name} (edited)")
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return text or "No changes: the file on disk holds exactly this text."


class DiffView(QPlainTextEdit):
    def __init__(self) -> None:
        super().__init__()
        self.setReadOnly(True)
        self.setAccessibleName("Changes")
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)

    def show_diff(self, saved: str, current: str, name: str) -> None:
        text = unified_diff(saved, current, name)
        if self.toPlainText() != text:
            self.setPlainText(text)
