"""Events/log view: the application's log lines, live.

A logging handler on any thread appends formatted lines to a deque; a GUI timer
moves them into the view in one append per tick, so a burst of log lines (one per
stored instance) costs one text update.
"""

from __future__ import annotations

import logging
from collections import deque

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from intu_desktop.app import PhiSafeFormatter

MAX_LINES = 5000
LEVELS = (
    ("Everything", logging.DEBUG),
    ("Information", logging.INFO),
    ("Warnings and errors", logging.WARNING),
    ("Errors", logging.ERROR),
)


class QueueLogHandler(logging.Handler):
    """Thread-safe: only appends to a bounded deque (no Qt calls)."""

    def __init__(self, capacity: int = MAX_LINES) -> None:
        super().__init__(logging.INFO)
        self.records: deque[tuple[int, str]] = deque(maxlen=capacity)
        self.setFormatter(PhiSafeFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.records.append((record.levelno, text))


class LogView(QWidget):
    def __init__(self, handler: QueueLogHandler, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._handler = handler
        self._history: deque[tuple[int, str]] = deque(maxlen=MAX_LINES)
        self.level = QComboBox(self)
        self.level.setObjectName("logLevel")
        for label, _level in LEVELS:
            self.level.addItem(label)
        self.level.setCurrentIndex(1)
        clear = QPushButton("Clear", self)
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("logText")
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(MAX_LINES)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show", self))
        bar.addWidget(self.level)
        bar.addStretch(1)
        bar.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.text, 1)
        self._timer = QTimer(self)
        self._timer.setObjectName("log-view-drain")
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.drain)
        self._timer.start()
        self.level.currentIndexChanged.connect(lambda _i: self._refilter())
        clear.clicked.connect(self._clear)

    @property
    def threshold(self) -> int:
        return LEVELS[max(0, self.level.currentIndex())][1]

    def drain(self) -> None:
        records = self._handler.records
        if not records:
            return
        batch = []
        for _ in range(len(records)):
            batch.append(records.popleft())
        self._history.extend(batch)
        shown = [text for level, text in batch if level >= self.threshold]
        if shown:
            bar = self.text.verticalScrollBar()
            following = bar.value() >= bar.maximum() - 2  # keep reading position unless at the end
            position = bar.value()
            self.text.appendPlainText("\n".join(shown))
            bar.setValue(bar.maximum() if following else position)

    def stop(self) -> None:
        self._timer.stop()

    def _refilter(self) -> None:
        self.text.setPlainText(
            "\n".join(text for level, text in self._history if level >= self.threshold)
        )

    def _clear(self) -> None:
        self._history.clear()
        self.text.clear()
