"""Backoff delays from intu's retry block."""

from __future__ import annotations

import random

import pytest

from intu_desktop.config.model import RetryConfig
from intu_desktop.destinations.backoff import delay_seconds


def _retry(backoff: str, jitter: bool = False) -> RetryConfig:
    return RetryConfig(max_attempts=10, backoff=backoff, initial_delay_ms=1000, max_delay_ms=5000, jitter=jitter)


@pytest.mark.parametrize(("backoff", "expected"), [
    ("constant", [1, 1, 1, 1, 1]),
    ("linear", [1, 2, 3, 4, 5]),
    ("exponential", [1, 2, 4, 5, 5]),  # capped at max_delay_ms
])
def test_delays_follow_the_retry_block(backoff: str, expected: list[float]) -> None:
    assert [delay_seconds(_retry(backoff), n) for n in range(1, 6)] == expected


def test_jitter_stays_between_half_and_full_delay() -> None:
    rng = random.Random(7)
    for n in range(1, 8):
        full = delay_seconds(_retry("exponential"), n)
        jittered = delay_seconds(_retry("exponential", jitter=True), n, rng)
        assert full / 2 <= jittered <= full


def test_huge_failure_counts_do_not_overflow() -> None:
    assert delay_seconds(_retry("exponential"), 10_000) == 5


def test_zero_initial_delay_retries_at_once() -> None:
    retry = RetryConfig(initial_delay_ms=0, max_delay_ms=0, jitter=True)
    assert delay_seconds(retry, 3) == 0
