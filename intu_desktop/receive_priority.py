"""Receiving comes first: background work gives way while objects arrive.

On a two-core workstation, transforms and deliveries running at full speed while a
modality sends take about half of the receive rate: they compete for the same cores,
the same disk syncs and the one interpreter lock. A modality waits for every C-STORE
response; a transform can run a second later. So the store handler stamps each object
here, and the pipeline and delivery workers call `give_way(busy_s)` after each item:
while an object arrived within the last `quiet_s`, a worker pauses so that it is busy at
most `share` of its time. It never stops (a continuous load still gets transformed and
delivered, only slower), and a pause ends as soon as receiving goes quiet or the worker
is asked to stop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# While receiving, a background worker is busy at most this part of its time. Measured with
# the window on the small set (three interleaved runs each): 0.1 and 0.05 gave 7.3 and 7.2 s,
# 0.02 gave 6.3 s, the app's own process using half the CPU it did at 0.1 during the send.
# Transforms then trickle while a study arrives and catch up in the first quiet quarter second.
DEFAULT_SHARE = 0.02
# Receiving counts as over when nothing arrived for this long.
DEFAULT_QUIET_S = 0.25
# One pause never lasts longer than this (a slow delivery must not be held for minutes).
MAX_PAUSE_S = 2.0
# Pauses are slept in slices this long, to notice quiet and stop requests.
SLICE_S = 0.02


class ReceivePriority:
    def __init__(self, *, share: float = DEFAULT_SHARE, quiet_s: float = DEFAULT_QUIET_S,
                 max_pause_s: float = MAX_PAUSE_S, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not 0.0 < share <= 1.0:
            raise ValueError("share must be in (0, 1]")
        self.share = share
        self.quiet_s = quiet_s
        self.max_pause_s = max_pause_s
        self._clock = clock
        self._sleep = sleep
        self._last_receive = float("-inf")
        self._lock = threading.Lock()
        self.paused_s = 0.0  # total time workers gave way (for tests and diagnostics)

    def note_receive(self) -> None:
        """An object (or an association) arrived. Called on the receive path: one store."""
        self._last_receive = self._clock()

    def receiving(self) -> bool:
        return self._clock() - self._last_receive < self.quiet_s

    def give_way(self, busy_s: float, stopping: Callable[[], bool] = lambda: False) -> float:
        """After a background item that took `busy_s`: pause while receiving. Returns the pause."""
        if self.share >= 1.0 or not self.receiving():
            return 0.0
        pause = min(max(busy_s, 0.0) * (1.0 - self.share) / self.share, self.max_pause_s)
        start = self._clock()
        deadline = start + pause
        while not stopping() and self.receiving():
            left = deadline - self._clock()
            if left <= 0:
                break
            self._sleep(min(SLICE_S, left))
        slept = self._clock() - start
        with self._lock:
            self.paused_s += slept
        return slept


# For callers built without one (tests, tools): never pauses.
NEVER = ReceivePriority(share=1.0)
