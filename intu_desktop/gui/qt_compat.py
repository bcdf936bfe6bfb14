"""A guard against a reference-counting defect of PySide6 6.12.0, kept in one place.

In PySide6 6.12.0 (6.11.x is not affected) most calls from Python into Qt that return
nothing hand back `None` without taking a reference to it, and `Signal.emit()` does
the same with `True`. Every such call lowers the reference count of `None` or
`True` by one. On Python 3.11 these objects are not immortal: after enough calls
(a day of status-bar updates, a few thousand emits) the process dies with
"Fatal Python error: none_dealloc" (or bool_dealloc).

`None`, `True` and `False` are never freed while the interpreter runs, so holding
extra references to them is harmless. When the running binding is found to drop
references, a timer on the GUI thread tops their counts up long before they could
reach zero. With a fixed binding the guard measures nothing and does nothing.
"""

from __future__ import annotations

import ctypes
import logging
import sys

from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)

FLOOR = 1 << 22  # top up below this many references...
TOP_UP = 1 << 24  # ...by this many
CHECK_MS = 1000
_PROBE_CALLS = 2000


class _Probe(QObject):
    fired = Signal()


def binding_drops_references() -> bool:
    """Measure on the calling (GUI) thread whether void calls and emits drop a reference."""
    probe = _Probe()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(_PROBE_CALLS):
        probe.setObjectName("probe")
        probe.fired.emit()
    none_lost = none_before - sys.getrefcount(None)
    true_lost = true_before - sys.getrefcount(True)
    probe.deleteLater()
    # Other threads may move the counts a little; a defect moves them by _PROBE_CALLS.
    return none_lost > _PROBE_CALLS // 2 or true_lost > _PROBE_CALLS // 2


def _top_up(obj: object) -> None:
    # ob_refcnt is the first field of every PyObject; the GIL is held here, so no
    # other Python code changes it concurrently.
    if sys.getrefcount(obj) < FLOOR:
        ctypes.c_ssize_t.from_address(id(obj)).value += TOP_UP


class RefcountGuard(QObject):
    """Keeps None/True/False alive under a binding that drops references to them."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.active = binding_drops_references()
        self._timer = QTimer(self)
        self._timer.setObjectName("refcount-guard")
        self._timer.setInterval(CHECK_MS)
        self._timer.timeout.connect(self.check)
        if self.active:
            log.warning(
                "this PySide6 build drops references to None/True on every call "
                "(a known defect of 6.12.0); keeping them alive. Prefer PySide6 6.11.x."
            )
            self.check()

    def start(self) -> None:
        if self.active:
            self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def check(self) -> None:
        for obj in (None, True, False):
            _top_up(obj)
