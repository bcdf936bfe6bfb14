"""A message bar above a page (an outside change, a staged fix, the result of Apply).

Non-modal on purpose: the user can keep reading the form and the diff before deciding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

_COLORS = {"info": "#e8f0fe", "ok": "#e6f4ea", "warning": "#fff4e5", "error": "#fdecea"}


class Banner(QFrame):
    def __init__(self, object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(8, 4, 8, 4)
        self._layout.addWidget(self.label, 1)
        self.buttons: dict[str, QPushButton] = {}
        self.kind = "info"
        self.setVisible(False)

    def show_message(self, kind: str, text: str,
                     actions: Sequence[tuple[str, Callable[[], object]]] = ()) -> None:
        for button in self.buttons.values():
            self._layout.removeWidget(button)
            button.deleteLater()
        self.buttons = {}
        for title, handler in actions:
            button = QPushButton(title)
            button.clicked.connect(handler)
            self._layout.addWidget(button)
            self.buttons[title] = button
        self.kind = kind
        self.label.setText(text)
        self.setStyleSheet(f"#{self.objectName()} {{ background: {_COLORS.get(kind, '#eee')}; }}")
        self.setVisible(True)

    def dismiss(self) -> None:
        self.setVisible(False)
