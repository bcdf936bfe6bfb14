"""Threads that wait for a free core when they wake, so the receive path keeps its two (issue 9).

On a two-core workstation a receiving association keeps one core busy and the modality
sending to it the other. The log writer, the relay of the receiver processes' events to
the window, the pipeline and delivery workers and the window's own workers wake hundreds
of times a second during a study, and the kernel gives a woken thread a core at once,
taking it from one of those two. On Linux these threads run under SCHED_BATCH: the same
share of the CPU over time, but no preemption when they wake; they run a few milliseconds
later, when a core is free or at the next scheduler tick. On the benchmark's machine the
gain is below what its noise lets a measurement show (benchmarks/paired_receive.py: the
final code won 28 of 56 paired rounds of the large set in the window); it is kept for what
it costs nothing to rule out, a window busy with the user's work while a study arrives.

Threads and processes inherit the policy of the thread that starts them. What a
background thread starts for the receive path (a receiver process restarted by the
relay's timer, a channel's listener switched on from the window's control worker) is
started inside `normal_policy()`. Elsewhere than Linux both do nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

_BATCH = getattr(os, "SCHED_BATCH", None)
_OTHER = getattr(os, "SCHED_OTHER", None)
_AVAILABLE = _BATCH is not None and _OTHER is not None and hasattr(os, "sched_setscheduler")


def _set_policy(policy: int) -> bool:
    try:
        os.sched_setscheduler(0, policy, os.sched_param(0))  # 0: the calling thread (Linux)
    except OSError:
        return False  # refused (a container's seccomp profile): the normal policy is correct too
    return True


def make_background() -> None:
    """The calling thread waits for a free core when it wakes."""
    if _AVAILABLE:
        _set_policy(_BATCH)  # type: ignore[arg-type]


@contextmanager
def normal_policy() -> Iterator[None]:
    """Threads and processes started inside begin with the normal policy, whichever the
    calling thread has; the calling thread gets its own back afterwards."""
    try:
        saved = os.sched_getscheduler(0) if _AVAILABLE else _OTHER
    except OSError:
        saved = _OTHER
    if saved == _OTHER or not _set_policy(_OTHER):  # type: ignore[arg-type]
        yield
        return
    try:
        yield
    finally:
        _set_policy(saved)  # type: ignore[arg-type]
