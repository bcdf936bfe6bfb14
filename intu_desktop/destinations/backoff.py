"""How long to wait before the next attempt, from intu's `retry:` block."""

from __future__ import annotations

import random

from intu_desktop.config.model import RetryConfig


def delay_seconds(retry: RetryConfig, failures: int, rng: random.Random | None = None) -> float:
    """The wait after the `failures`-th consecutive failure (1 for the first).

    constant: initial; linear: initial * n; exponential: initial * 2^(n-1); all capped at
    max_delay_ms. Jitter picks uniformly between half the delay and the delay ("equal
    jitter"), so queues that failed together do not retry in lockstep.
    """
    n = max(1, int(failures))
    initial = max(0.0, float(retry.initial_delay_ms)) / 1000.0
    cap = max(0.0, float(retry.max_delay_ms)) / 1000.0
    if retry.backoff == "constant":
        delay = initial
    elif retry.backoff == "linear":
        delay = initial * n
    else:
        delay = initial * (2.0 ** min(n - 1, 62))  # the exponent is capped: no float overflow
    if cap > 0:
        delay = min(delay, cap)
    if retry.jitter and delay > 0:
        delay = (rng or random).uniform(delay / 2.0, delay)
    return delay
