"""The YAML tab: the file's text, kept in step with the form both ways."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtGui import QColor, QFontDatabase, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit


class YamlView(QPlainTextEdit):
    """User edits go to `on_edit(text)`; `show_text` puts the session's text back without
    echoing it and keeps the cursor where it was."""

    def __init__(self, on_edit: Callable[[str], None]) -> None:
        super().__init__()
        self.setAccessibleName("YAML")
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        # Undo belongs to the page's QUndoStack, which also covers form edits.
        self.setUndoRedoEnabled(False)
        self._on_edit = on_edit
        self._updating = False
        self.textChanged.connect(self._changed)

    def _changed(self) -> None:
        if not self._updating:
            self._on_edit(self.toPlainText())

    def show_text(self, text: str) -> None:
        if self.toPlainText() == text:
            return
        cursor = self.textCursor()
        block, column = cursor.blockNumber(), cursor.positionInBlock()
        scroll = self.verticalScrollBar().value()
        self._updating = True
        try:
            self.setPlainText(text)
        finally:
            self._updating = False
        target = self.document().findBlockByNumber(min(block, self.blockCount() - 1))
        cursor = QTextCursor(target)
        cursor.movePosition(QTextCursor.MoveOperation.Right, n=min(column, target.length() - 1))
        self.setTextCursor(cursor)
        self.verticalScrollBar().setValue(scroll)

    def mark_lines(self, lines: Iterable[int]) -> None:
        """Underline the 1-based lines that have errors."""
        selections = []
        fmt = QTextCharFormat()
        fmt.setBackground(QColor("#fdecea"))
        fmt.setProperty(QTextFormat.Property.FullWidthSelection, True)
        for line in sorted(set(lines)):
            block = self.document().findBlockByNumber(line - 1)
            if not block.isValid():
                continue
            selection = QTextEdit.ExtraSelection()
            selection.cursor = QTextCursor(block)
            selection.format = fmt
            selections.append(selection)
        self.setExtraSelections(selections)

    def go_to_line(self, line: int) -> None:
        block = self.document().findBlockByNumber(max(line - 1, 0))
        if block.isValid():
            self.setTextCursor(QTextCursor(block))
            self.centerCursor()
            self.setFocus()
