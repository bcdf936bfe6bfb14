"""The one place where core events cross into the GUI thread (STYLE practice 2).

Bus subscribers run on the publishing thread (pynetdicom association threads,
pipeline workers). The bridge's subscriber only appends to a deque, which is
thread-safe and touches no Qt object; a timer on the GUI thread drains it and emits
one batch, so a burst of a thousand stored instances costs the views one update
per tick instead of a thousand.

The tick slows down when the GUI thread is short of CPU or of the GIL (ten modalities
sending at once on two cores): a tick that comes late, or whose views took long to
update, doubles the interval up to MAX_INTERVAL_MS; CALM_S of calm halves it again. Each
update repaints the tables, and a repaint waits for the GIL once per visible cell, so
fewer updates under load is what keeps clicks and scrolling answered at once.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from intu_desktop.events import Event, EventBus
from intu_desktop.gui.watchdog import STRAINED_MS  # a tick this late, or views busy this long

DEFAULT_INTERVAL_MS = 150
MAX_INTERVAL_MS = 1200
# After this long without a strained tick the interval halves again.
CALM_S = 5.0


class EventBridge(QObject):
    """Batches bus events and re-emits them on the GUI thread as `events_ready(list[Event])`."""

    events_ready = Signal(list)
    interval_changed = Signal(int)  # ms: views that refresh on their own timers follow it

    def __init__(
        self, bus: EventBus, parent: QObject | None = None, interval_ms: int = DEFAULT_INTERVAL_MS,
        *, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self._pending: deque[Event] = deque()
        self._unsubscribe: Callable[[], None] | None = bus.subscribe(self._pending.append)
        self._base_ms = interval_ms
        self._clock = clock
        self._last_tick = clock()
        self._last_strain = float("-inf")
        self._last_step = float("-inf")
        self._timer = QTimer(self)
        self._timer.setObjectName("event-bridge-timer")
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    @property
    def interval_ms(self) -> int:
        return self._timer.interval()

    def _tick(self) -> None:
        started = self._clock()
        late_ms = (started - self._last_tick) * 1000 - self._timer.interval()
        self.drain()
        self._last_tick = self._clock()
        busy_ms = (self._last_tick - started) * 1000
        if late_ms > STRAINED_MS or busy_ms > STRAINED_MS:
            self.note_strain()
        else:
            self._relax()

    def note_strain(self) -> None:
        """The GUI thread came late (this tick, or the watchdog's 50 ms heartbeat): update the
        views less often. One doubling per interval, so a single hiccup costs one step."""
        now = self._clock()
        interval = self._timer.interval()
        if now - self._last_step >= interval / 1000:
            self._last_step = now
            self._set_interval(min(MAX_INTERVAL_MS, interval * 2))
        self._last_strain = now

    def _relax(self) -> None:
        """After CALM_S without strain, one step back towards the base interval."""
        now = self._clock()
        interval = self._timer.interval()
        if interval > self._base_ms and now - max(self._last_strain, self._last_step) >= CALM_S:
            self._last_step = now
            self._set_interval(max(self._base_ms, interval // 2))

    def _set_interval(self, interval: int) -> None:
        if interval != self._timer.interval():
            self._timer.setInterval(interval)
            self.interval_changed.emit(interval)

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
