"""ReceivePriority: background work pauses while objects arrive, never stops, ends a pause early."""

from __future__ import annotations

import pytest

from intu_desktop.receive_priority import NEVER, SLICE_S, ReceivePriority


class FakeTime:
    """A clock that only moves when the code under test sleeps (or the test moves it)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.on_sleep = lambda: None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.on_sleep()


def make(fake: FakeTime, **kwargs: float) -> ReceivePriority:
    return ReceivePriority(clock=fake.clock, sleep=fake.sleep, **kwargs)


def test_no_pause_when_nothing_arrived() -> None:
    fake = FakeTime()
    priority = make(fake)
    assert not priority.receiving()
    assert priority.give_way(0.5) == 0.0
    assert fake.sleeps == []


def test_while_receiving_a_worker_is_busy_at_most_its_share() -> None:
    fake = FakeTime()
    priority = make(fake, share=0.1, quiet_s=10.0)
    priority.note_receive()
    assert priority.receiving()
    paused = priority.give_way(0.01)
    # busy 10 ms at a 10 % share: 90 ms of pause, slept in short slices
    assert paused == pytest.approx(0.09)
    assert max(fake.sleeps) <= SLICE_S + 1e-9 and len(fake.sleeps) > 1
    assert priority.paused_s == pytest.approx(0.09)


def test_a_pause_ends_as_soon_as_receiving_goes_quiet() -> None:
    fake = FakeTime()
    priority = make(fake, share=0.01, quiet_s=0.05, max_pause_s=5.0)
    priority.note_receive()
    paused = priority.give_way(1.0)  # would be 5 s (capped) if the sender kept sending
    assert paused < 0.05 + SLICE_S + 1e-9


def test_a_pause_lasts_while_objects_keep_arriving_up_to_the_cap() -> None:
    fake = FakeTime()
    priority = make(fake, share=0.01, quiet_s=0.05, max_pause_s=0.5)
    fake.on_sleep = priority.note_receive  # a modality sending all the time
    priority.note_receive()
    assert priority.give_way(10.0) == pytest.approx(0.5)


def test_stopping_ends_the_pause_at_once() -> None:
    fake = FakeTime()
    priority = make(fake, quiet_s=60.0)
    priority.note_receive()
    assert priority.give_way(1.0, stopping=lambda: True) == 0.0
    assert fake.sleeps == []


def test_never_pauses_with_a_full_share() -> None:
    NEVER.note_receive()
    assert NEVER.give_way(5.0) == 0.0


@pytest.mark.parametrize("share", [0.0, -0.1, 1.5])
def test_share_must_be_a_fraction(share: float) -> None:
    with pytest.raises(ValueError):
        ReceivePriority(share=share)
