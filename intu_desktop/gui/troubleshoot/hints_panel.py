"""'Why was it refused?': the diagnosis hints, prominent, each with its one-click fix."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from intu_desktop.dicom.diagnosis import Fix, Hint
from intu_desktop.gui.troubleshoot.fix_stager import button_text

_STYLE = """
QFrame#hintsPanel { background: #FFF4E5; border: 1px solid #FFB74D; border-radius: 4px; }
QLabel#hintTitle { font-weight: bold; color: #8A3B00; }
"""


class HintsPanel(QFrame):
    """Hidden when there is nothing to explain."""

    fix_requested = Signal(object)  # Fix

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("hintsPanel")
        self.setStyleSheet(_STYLE)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(8, 6, 8, 6)
        self.heading = QLabel("Why was it refused?")
        self.heading.setObjectName("hintsHeading")
        self._layout.addWidget(self.heading)
        self._items: list[QWidget] = []
        self.fix_buttons: list[QPushButton] = []
        self.setVisible(False)

    def set_hints(self, hints: list[Hint], *, refused: bool, can_fix: bool = True) -> None:
        for item in self._items:
            self._layout.removeWidget(item)
            item.deleteLater()
        self._items, self.fix_buttons = [], []
        self.heading.setText("<b>Why was it refused?</b>" if refused else "<b>What to look at</b>")
        for hint in hints:
            self._add(hint, can_fix)
        self.setVisible(bool(hints))

    def titles(self) -> list[str]:
        return [w.findChild(QLabel, "hintTitle").text() for w in self._items]  # type: ignore[union-attr]

    def _add(self, hint: Hint, can_fix: bool) -> None:
        box = QWidget(self)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 2, 0, 2)
        title = QLabel(hint.title, box)
        title.setObjectName("hintTitle")
        title.setWordWrap(True)
        detail = QLabel(hint.detail, box)
        detail.setObjectName("hintDetail")
        detail.setWordWrap(True)
        column.addWidget(title)
        column.addWidget(detail)
        if hint.fix is not None:
            row = QHBoxLayout()
            button = QPushButton(button_text(hint.fix), box)
            button.setObjectName("fixButton")
            button.setToolTip(f"Opens the channel editor with this change staged ({hint.fix.description}); "
                              "you see the YAML diff before saving.")
            button.setEnabled(can_fix)
            button.clicked.connect(lambda _c=False, fix=hint.fix: self._request(fix))
            row.addWidget(button)
            row.addStretch(1)
            column.addLayout(row)
            self.fix_buttons.append(button)
        self._layout.addWidget(box)
        self._items.append(box)

    def _request(self, fix: Fix) -> None:
        self.fix_requested.emit(fix)
