"""Undo and redo: every change, from the form or the YAML tab, is a pair of texts.

Restoring a whole text (instead of replaying one `set`) gives back exactly the bytes the
user had, comments and all. Consecutive edits of one field merge into one step.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand


class TextChange(QUndoCommand):
    """From `before` to `after`; `merge_id` >= 0 lets consecutive edits of one field merge."""

    def __init__(self, apply: Callable[[str], None], before: str, after: str, label: str,
                 merge_id: int = -1) -> None:
        super().__init__(label)
        self._apply = apply
        self.before = before
        self.after = after
        self._merge_id = merge_id
        self._pushed = False

    def id(self) -> int:
        return self._merge_id

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, TextChange) or other.id() != self.id() or self.id() < 0:
            return False
        self.after = other.after
        if self.after == self.before:
            self.setObsolete(True)  # typed and deleted again: no step left to undo
        return True

    def redo(self) -> None:
        if not self._pushed:
            self._pushed = True  # QUndoStack.push calls redo: the change is already made
            return
        self._apply(self.after)

    def undo(self) -> None:
        self._apply(self.before)
