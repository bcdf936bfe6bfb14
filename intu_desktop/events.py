"""A small thread-safe event bus that the core publishes to and the GUI bridge subscribes to.

The core never imports Qt (STYLE 1): handlers run on the publishing thread, so a
subscriber that touches widgets must hop threads itself (the GUI's bridge does).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger(__name__)

# Event kinds published by the core. Payloads are plain dicts of JSON-friendly values.
LISTENER_STATE = "listener.state"  # channel_id, state (starting|listening|stopped|error), reason, port
ASSOCIATION_REQUESTED = "association.requested"
ASSOCIATION_ACCEPTED = "association.accepted"
ASSOCIATION_REJECTED = "association.rejected"
ASSOCIATION_RELEASED = "association.released"
ASSOCIATION_ABORTED = "association.aborted"
DIMSE_EXCHANGE = "association.dimse"  # one C-ECHO / C-STORE on an association
INSTANCE_STORED = "instance.stored"
INSTANCE_STORE_FAILED = "instance.store_failed"
PIPELINE_RUN = "pipeline.run"
DELIVERY_UPDATED = "delivery.updated"
DISK_SPACE = "disk.space"


@dataclass(frozen=True)
class Event:
    kind: str
    data: dict[str, Any]
    time: float = field(default_factory=time.time)


Subscriber = Callable[[Event], None]


class EventBus:
    """Publish/subscribe across threads. A failing subscriber is logged, never propagated."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: tuple[Subscriber, ...] = ()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers = (*self._subscribers, callback)

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = tuple(s for s in self._subscribers if s is not callback)

        return unsubscribe

    def publish(self, kind: str, **data: Any) -> None:
        event = Event(kind, data)
        for callback in self._subscribers:  # tuple snapshot: subscribing during publish is safe
            try:
                callback(event)
            except Exception:  # a broken view must not break the receiver
                log.exception("event subscriber failed for %s", kind)
