"""UI watchdog: notices when the GUI event loop stops answering and says where it was.

A precise QTimer on the GUI thread beats every 50 ms and stamps the time. A plain
thread checks the stamp; when the loop is more than 100 ms late it takes the GUI
thread's stack from `sys._current_frames()` (the stack *during* the stall, which is
the useful one) and, once the loop answers again, logs `ui-stall <ms>` with it.

On Linux the line also says where the time went, from the kernel's per-thread
scheduler statistics: running on a CPU (the GUI thread itself was busy), waiting for
a CPU (the machine is overloaded), or neither (waiting for the GIL or a lock, i.e.
another thread of this process held it).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from intu_desktop.thread_policy import make_background

log = logging.getLogger(__name__)

BEAT_MS = 50
STALL_MS = 100
# A heartbeat (or an event-bridge tick) this late means the GUI thread is short of CPU or
# GIL: `strained` says so (the bridge then updates the views less often), well before a
# stall is reported.
STRAINED_MS = 50
# A loop blocked this long is reported while still blocked, in case it never returns.
REPORT_ONGOING_MS = 5000


@dataclass(frozen=True)
class StallReport:
    blocked_ms: float
    on_cpu_ms: float | None  # None where the platform does not tell
    waiting_for_cpu_ms: float | None
    stack: str

    @property
    def machine_busy(self) -> bool:
        """Most of the stall was spent waiting for a CPU: the machine's load, not our code."""
        return self.waiting_for_cpu_ms is not None and self.waiting_for_cpu_ms > self.blocked_ms / 2

    def describe(self) -> str:
        if self.on_cpu_ms is None or self.waiting_for_cpu_ms is None:
            return ""
        other = max(0.0, self.blocked_ms - self.on_cpu_ms - self.waiting_for_cpu_ms)
        return (
            f" (GUI thread: {self.on_cpu_ms:.0f} ms on a CPU, {self.waiting_for_cpu_ms:.0f} ms "
            f"waiting for a CPU, {other:.0f} ms waiting for the GIL or a lock)"
        )


class _SchedStat:
    """(ms on a CPU, ms runnable but waiting for one) of a thread, from Linux's schedstat.

    The file stays open and is read with one pread: opening it by path cost ~50 us, forty
    times a second, on a thread that must cost the receive path nothing (issue 9)."""

    def __init__(self, native_id: int) -> None:
        try:
            self._fd: int | None = os.open(f"/proc/self/task/{native_id}/schedstat", os.O_RDONLY)
        except OSError:  # not Linux, or no schedstat in this kernel
            self._fd = None

    def read(self) -> tuple[float, float] | None:
        if self._fd is None:
            return None
        try:
            fields = os.pread(self._fd, 128, 0).split()
            return int(fields[0]) / 1e6, int(fields[1]) / 1e6
        except (OSError, ValueError, IndexError):
            return None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class UiWatchdog(QObject):
    strained = Signal()  # GUI thread: the last heartbeat came more than STRAINED_MS late

    def __init__(
        self, parent: QObject | None = None, *, beat_ms: int = BEAT_MS, stall_ms: int = STALL_MS
    ) -> None:
        super().__init__(parent)
        self._beat_s = beat_ms / 1000
        self._stall_s = stall_ms / 1000
        self._gui_thread = threading.get_ident()
        self._last_beat = 0.0  # 0: the loop has not beaten yet, nothing to measure
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._timer = QTimer(self)
        self._timer.setObjectName("ui-watchdog-heartbeat")
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(beat_ms)
        self._timer.timeout.connect(self._beat)
        self.stalls = 0
        self.reports: list[StallReport] = []
        self._gui_native = threading.get_native_id()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._gui_thread = threading.get_ident()
        self._gui_native = threading.get_native_id()
        self._stop.clear()
        self._last_beat = 0.0
        self._timer.start()
        self._thread = threading.Thread(target=self._watch, name="ui-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._timer.stop()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def _beat(self) -> None:  # GUI thread
        now = time.monotonic()
        with self._lock:
            previous, self._last_beat = self._last_beat, now
        if previous and (now - previous - self._beat_s) * 1000 > STRAINED_MS:
            self.strained.emit()

    def _watch(self) -> None:  # watchdog thread
        make_background()
        check = self._beat_s / 2
        # Recent scheduler samples, so a stall's figures start where the stall started.
        samples: deque[tuple[float, tuple[float, float] | None]] = deque(maxlen=64)
        schedstat = _SchedStat(self._gui_native)
        try:
            self._watch_loop(check, samples, schedstat)
        finally:
            schedstat.close()

    def _watch_loop(self, check: float, samples: deque[tuple[float, tuple[float, float] | None]],
                    schedstat: _SchedStat) -> None:
        stalled_since = 0.0
        stack = ""
        reported_ongoing = False
        while not self._stop.wait(check):
            now = time.monotonic()
            samples.append((now, schedstat.read()))
            with self._lock:
                last = self._last_beat
            if not last:
                continue
            late = now - last - self._beat_s
            if late > self._stall_s:
                if not stalled_since:
                    stalled_since = last
                    stack = self._gui_stack()
                    reported_ongoing = False
                elif not reported_ongoing and late * 1000 > REPORT_ONGOING_MS:
                    reported_ongoing = True
                    log.warning(
                        "ui-stall %d (still blocked) in:\n%s", late * 1000, self._gui_stack()
                    )
            elif stalled_since:
                blocked_ms = (last - stalled_since - self._beat_s) * 1000
                if blocked_ms > self._stall_s * 1000:
                    report = self._report(blocked_ms, stalled_since, samples, stack)
                    self.stalls += 1
                    self.reports.append(report)
                    log.warning(
                        "ui-stall %d ms%s; GUI thread was in:\n%s",
                        blocked_ms,
                        report.describe(),
                        stack,
                    )
                stalled_since = 0.0
                stack = ""

    @staticmethod
    def _report(
        blocked_ms: float,
        since: float,
        samples: deque[tuple[float, tuple[float, float] | None]],
        stack: str,
    ) -> StallReport:
        before = [s for t, s in samples if t <= since]
        start = before[-1] if before else (samples[0][1] if samples else None)
        end = samples[-1][1] if samples else None
        if start is None or end is None:
            return StallReport(blocked_ms, None, None, stack)
        return StallReport(blocked_ms, end[0] - start[0], end[1] - start[1], stack)

    def _gui_stack(self) -> str:
        frame = sys._current_frames().get(self._gui_thread)
        if frame is None:
            return "(GUI thread stack unavailable)"
        return "".join(traceback.format_stack(frame))
