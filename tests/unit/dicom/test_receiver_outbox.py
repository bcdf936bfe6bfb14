"""The receiver process's messages to its parent: queued messages share one write (and the
burst-taking it shares with the index writer)."""

from __future__ import annotations

import queue
import threading

from intu_desktop.batches import take_burst
from intu_desktop.dicom.receiver_process import _Outbox


class _Pipe:
    """A Connection stand-in whose first send waits until the test lets it go."""

    def __init__(self) -> None:
        self.sent: list[tuple[object, ...]] = []
        self.first = threading.Event()
        self.release = threading.Event()

    def send(self, message: tuple[object, ...]) -> None:
        if not self.first.is_set():
            self.first.set()
            self.release.wait(10)
        self.sent.append(message)


def test_messages_queued_meanwhile_go_in_one_write_in_their_order() -> None:
    pipe = _Pipe()
    outbox = _Outbox(pipe)
    outbox.put(("event", "first", {}))
    assert pipe.first.wait(10)  # the thread is writing the first message
    for message in (("event", "stored", {}), ("ingest", 7), ("log", {"msg": "stored"})):
        outbox.put(message)
    pipe.release.set()
    outbox.close()
    assert pipe.sent == [
        ("event", "first", {}),
        ("batch", [("event", "stored", {}), ("ingest", 7), ("log", {"msg": "stored"})]),
    ]


def test_a_burst_stops_at_its_limit_and_at_the_stop_sentinel() -> None:
    source: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    for n in (2, 3, 4, None, 5):
        source.put(n)
    assert take_burst(source, 1, 3) == ([1, 2, 3], False)
    assert take_burst(source, 9, 10) == ([9, 4], True)  # the sentinel is not in the list
    assert take_burst(source, 0, 10) == ([0, 5], False)  # empty: stops without waiting
