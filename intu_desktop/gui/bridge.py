"""The one place where core events cross into the GUI thread (STYLE practice 2).

Bus subscribers run on the publishing thread (pynetdicom association threads,
pipeline workers). The bridge's subscriber only appends to a deque, which is
thread-safe and touches no Qt object; a timer on the GUI thread drains it and emits
one batch, so a burst of a thousand stored instances costs the views one update
per tick instead of a thousand.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from intu_desktop.events import Event, EventBus

DEFAULT_INTERVAL_MS = 150


class EventBridge(QObject):
    """Batches bus events and re-emits them on the GUI thread as `events_ready(list[Event])`."""

    events_ready = Signal(list)

    def __init__(
        self, bus: EventBus, parent: QObject | None = None, interval_ms: int = DEFAULT_INTERVAL_MS
    ) -> None:
        super().__init__(parent)
        self._pending: deque[Event] = deque()
        self._unsubscribe: Callable[[], None] | None = bus.subscribe(self._pending.append)
        self._timer = QTimer(self)
        self._timer.setObjectName("event-bridge-timer")
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.drain)
        self._timer.start()

    def drain(self) -> None:
        """Emit everything received since the last tick (called by the timer; tests may call it)."""
        if not self._pending:
            return
        batch: list[Event] = []
        pop = self._pending.popleft
        # Bounded by what is there now: events arriving meanwhile wait for the next tick.
        for _ in range(len(self._pending)):
            batch.append(pop())
        self.events_ready.emit(batch)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._timer.stop()
        self._pending.clear()


def of_kind(batch: list[Event], *kinds: str) -> list[Event]:
    """The events of a batch that a view cares about, in arrival order."""
    return [e for e in batch if e.kind in kinds]
