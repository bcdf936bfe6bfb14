"""A burst taken from a queue at once (issue 9): one transaction, one pipe write, one wake-up
for what gathered while the consumer was busy."""

from __future__ import annotations

import queue
from typing import Any, TypeVar

T = TypeVar("T")


def take_burst(source: Any, first: T, limit: int) -> tuple[list[T], bool]:
    """`first` and whatever else `source` (a queue) holds now, at most `limit` items, in
    order. The flag is True when the stop sentinel `None` came: it is not in the list."""
    batch = [first]
    while len(batch) < limit:
        try:
            item = source.get_nowait()
        except queue.Empty:
            return batch, False
        if item is None:
            return batch, True
        batch.append(item)
    return batch, False
