"""The delivery service: worker threads that drain the durable queue with retry and backoff.

Each destination is a queue of its own, drained first in, first out by at most one worker
at a time: a FHIR server never sees two conditional updates of one study race each other,
and a PACS receives a series in order. Only a queue's head (its oldest pending row) is
ever attempted. When it fails in a way worth retrying, its `next_attempt_at` moves out by
the backoff and the whole queue waits behind it: the rows behind spend no attempts, and a
server that is down for an hour costs one row's attempts, not every row's. The schedule
lives in the index, so a restart resumes it as it was.

In memory, per destination: which one is in flight, and a hold with the count of
consecutive failures, so that the backoff goes on growing when a head is dead-lettered and
the next row takes its place (and so a peer's Retry-After is honoured).
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from intu_desktop import events
from intu_desktop.config.model import DestinationConfig, RetryConfig
from intu_desktop.destinations import deliveries as queue_db
from intu_desktop.destinations.backoff import delay_seconds
from intu_desktop.destinations.base import DeliveryContext, DeliveryResult, Destination
from intu_desktop.destinations.factory import build_destination
from intu_desktop.destinations.secrets import SecretMasker
from intu_desktop.destinations.settings import SettingsError
from intu_desktop.events import EventBus
from intu_desktop.index.db import Index
from intu_desktop.receive_priority import NEVER, ReceivePriority
from intu_desktop.thread_policy import make_background

log = logging.getLogger(__name__)

# How often an idle worker looks at the queue anyway: rows requeued by another process
# (`intu-desktop retry` while the app runs) are noticed within this time.
POLL_INTERVAL_S = 5.0


class DeliveryService:
    def __init__(
        self, index: Index, bus: EventBus, project: Any, data_dir: Path, *, workers: int = 2,
        clock: Callable[[], float] = time.time, rng: random.Random | None = None,
        poll_interval_s: float = POLL_INTERVAL_S, stop_timeout_s: float = 2.0,
        priority: ReceivePriority = NEVER,
    ) -> None:
        self.index = index
        self.bus = bus
        self.project = project
        self.data_dir = Path(data_dir)
        self._workers = max(1, workers)
        self._clock = clock
        self._rng = rng or random.Random()
        self._poll_interval_s = poll_interval_s
        self._stop_timeout_s = stop_timeout_s
        self._cond = threading.Condition()
        self._generation = 0  # bumped by every wake-up: a worker never sleeps through one
        self._inflight: dict[str, int] = {}  # destination name -> delivery id being attempted
        self._holds: dict[str, float] = {}  # destination name -> held until (clock time)
        self._failures: dict[str, int] = {}  # destination name -> consecutive transient failures
        self._pending: set[str] = set()  # destinations that may have pending rows
        self._enqueued: set[str] = set()  # destinations queued to, not yet announced by wake()
        self._pending_checked = 0.0  # when _pending was last read from the index (monotonic)
        self._destinations: dict[tuple[str, str], Destination] = {}
        # Replaced by set_project during an attempt, by name: closed when that attempt ends.
        self._retired: dict[str, list[Destination]] = {}
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._priority = priority

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        with self._cond:
            if self._threads:
                return
            self._stopping = False
        pending = queue_db.counts(self.index)[queue_db.PENDING]
        if pending:
            log.info("delivery queue: %d pending deliveries to resume", pending)
        for number in range(self._workers):
            thread = threading.Thread(target=self._work, name=f"delivery-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Attempts in flight may finish for a moment; then their connections are broken and
        they stay pending (an unfinished attempt is never recorded, so never lost)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = time.monotonic() + self._stop_timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in self._threads):
            self._close_destinations()  # breaks a blocked send; its row stays pending
            for thread in self._threads:
                thread.join(1.0)
        still = [t.name for t in self._threads if t.is_alive()]
        if still:
            log.warning("delivery workers still busy at shutdown: %s (their rows stay pending)", ", ".join(still))
        self._threads.clear()
        self._close_destinations()

    def set_project(self, project: Any) -> None:
        """Use a reloaded configuration from the next attempt on. Destinations are rebuilt;
        an attempt in flight finishes with the old settings. The old destinations are
        closed (a dicom destination keeps its association between attempts): at once when
        idle, as soon as its attempt ends when one was in flight."""
        with self._cond:
            self.project = project
            idle = []
            for (_channel, name), destination in self._destinations.items():
                if name in self._inflight:
                    self._retired.setdefault(name, []).append(destination)
                else:
                    idle.append(destination)
            self._destinations.clear()
        for destination in idle:
            self._close(destination)
        self.wake()

    # -- queue -----------------------------------------------------------------------------
    def enqueue(self, conn: sqlite3.Connection, run_id: int, instance_id: int, channel: Any) -> list[int]:
        """One pending row per destination of `channel`, inside the caller's transaction.
        Call wake() after the commit."""
        destinations = list(getattr(channel, "destinations", []) or [])
        ids = queue_db.insert_deliveries(conn, run_id, instance_id, channel.id, destinations, self._clock())
        with self._cond:
            # Not yet committed: the workers learn of these queues at wake(), after the commit.
            self._enqueued.update(d.name for d in destinations)
        return ids

    def wake(self) -> None:
        with self._cond:
            self._pending |= self._enqueued
            self._enqueued.clear()
            self._generation += 1
            self._cond.notify_all()

    def retry(self, delivery_id: int) -> bool:
        """A dead letter back to the queue (attempts reset); False if it is not a dead letter."""
        return self._requeue(delivery_id=delivery_id) > 0

    def retry_all_failed(self, channel_id: str | None = None) -> int:
        return self._requeue(channel_id=channel_id)

    def _requeue(self, *, delivery_id: int | None = None, channel_id: str | None = None) -> int:
        now = self._clock()
        rows = self.index.write(
            lambda conn: queue_db.requeue_failed(conn, now, delivery_id=delivery_id, channel_id=channel_id)
        )
        with self._cond:
            for row in rows:
                # The user says the peer is fixed: try now, not at the end of a hold.
                self._pending.add(row["destination"])
                self._holds.pop(row["destination"], None)
                self._failures.pop(row["destination"], None)
        for row in rows:
            log.info("delivery %d to %s queued again by the user", row["id"], row["destination"])
            self._publish(row["id"], row["instance_id"], row["channel_id"], row["destination"],
                          queue_db.PENDING, 0, row["last_error"], "", now, 0.0)
        self.wake()
        return len(rows)

    # -- workers ---------------------------------------------------------------------------
    def _work(self) -> None:
        make_background()
        while True:
            with self._cond:
                if self._stopping:
                    return
                generation = self._generation
                claimed, wait = self._claim()
                if claimed is None:
                    if self._generation == generation and not self._stopping:
                        self._cond.wait(wait)
                    continue
            delivery_id, destination = claimed
            started = time.monotonic()
            try:
                self._attempt(delivery_id)
            except Exception:  # a bug must not kill the worker; the row stays pending
                log.exception("delivery %d: unexpected error", delivery_id)
            finally:
                with self._cond:
                    self._inflight.pop(destination, None)
                    retired = self._retired.pop(destination, [])
                    self._generation += 1
                    self._cond.notify_all()  # this destination's next row may go now
                for old in retired:  # a reloaded configuration replaced it meanwhile
                    self._close(old)
            self._priority.give_way(time.monotonic() - started, lambda: self._stopping)

    def _claim(self) -> tuple[tuple[int, str] | None, float]:
        """Under the lock: the oldest due queue head of an idle destination, marked in flight;
        or None and how long to wait before looking again.

        A head is read after the previous attempt of its destination was committed (that
        attempt leaves `_inflight` only after its write), so a row is never sent twice.
        """
        now = self._clock()
        if time.monotonic() - self._pending_checked >= self._poll_interval_s:
            # Rows requeued by another process (`intu-desktop retry`), and the start.
            self._pending |= queue_db.pending_destinations(self.index)
            self._pending_checked = time.monotonic()
        self._holds = {name: until for name, until in self._holds.items() if until > now}
        wake_at = [*self._holds.values()]
        best: Any = None
        for name in sorted(self._pending - set(self._inflight) - set(self._holds)):
            head = queue_db.queue_head(self.index, name)
            if head is None:
                self._pending.discard(name)
            elif float(head["next_attempt_at"]) > now:
                wake_at.append(float(head["next_attempt_at"]))
            elif best is None or int(head["id"]) < int(best["id"]):
                best = head  # the oldest due head first: fair across destinations
        if best is not None:
            self._inflight[best["destination"]] = int(best["id"])
            return (int(best["id"]), str(best["destination"])), 0.0
        wait = min(wake_at, default=now + self._poll_interval_s) - now
        return None, min(self._poll_interval_s, max(0.005, wait))

    # -- one attempt -------------------------------------------------------------------------
    def _attempt(self, delivery_id: int) -> None:
        row = queue_db.load_for_attempt(self.index, delivery_id)
        if row is None or row["status"] != queue_db.PENDING:
            return
        config = self._config(row["channel_id"], row["destination"])
        retry = config.retry if config is not None else RetryConfig()
        destination: Destination | None = None
        if config is None:
            result = DeliveryResult.permanent(
                f"destination {row['destination']!r} is no longer in the configuration of channel "
                f"{row['channel_id']!r}")
        else:
            try:
                destination = self._destination(row["channel_id"], config)
            except SettingsError as exc:
                result = DeliveryResult.permanent(f"configuration: {exc}")
                destination = None
            else:
                result = self._send(destination, _context(row))
        masker = destination.masker if destination is not None else (
            SecretMasker.from_options(config.options) if config is not None else SecretMasker())
        result = DeliveryResult(result.ok, result.retryable, masker.mask(result.response),
                                masker.mask(result.error), result.retry_after)
        with self._cond:
            stopping = self._stopping
        if stopping and not result.ok:
            # Most likely our own shutdown broke the attempt: leave the row as it was.
            log.info("delivery %d to %s interrupted by shutdown; it stays pending", delivery_id, row["destination"])
            return
        self._record(row, result, retry)

    def _send(self, destination: Destination, context: DeliveryContext) -> DeliveryResult:
        try:
            return destination.send(context)
        except Exception as exc:  # a destination bug: retried within max_attempts, and logged
            log.exception("delivery %d to %s: the %s destination failed unexpectedly",
                          context.delivery_id, context.destination, destination.type)
            return DeliveryResult.transient(f"internal error: {type(exc).__name__}")

    def _record(self, row: sqlite3.Row, result: DeliveryResult, retry: RetryConfig) -> None:
        now = self._clock()
        name = row["destination"]
        attempts = int(row["attempts"]) + 1
        next_at = float(row["next_attempt_at"])
        error = result.error
        with self._cond:
            if result.ok or not result.retryable:
                # The peer answered: whatever this row's fate, the destination is reachable.
                self._failures.pop(name, None)
                self._holds.pop(name, None)
                status = queue_db.DELIVERED if result.ok else queue_db.FAILED
            else:
                failures = max(self._failures.get(name, 0), attempts - 1) + 1
                self._failures[name] = failures
                # One wait for the row and its destination: the head is due again when the
                # hold ends, and the rows behind it wait with it.
                wait = max(delay_seconds(retry, failures, self._rng), result.retry_after or 0.0)
                self._holds[name] = now + wait
                if attempts >= retry.max_attempts:
                    status = queue_db.FAILED
                    error = f"gave up after {attempts} attempt{'s' if attempts != 1 else ''}: {error}"
                else:
                    status = queue_db.PENDING
                    next_at = now + wait
        try:
            changed = self.index.write(lambda conn: queue_db.record_attempt(
                conn, int(row["id"]), status=status, attempts=attempts, next_attempt_at=next_at,
                last_error=error, last_response=result.response, now=now))
        except (RuntimeError, sqlite3.Error) as exc:  # the index closed under us (shutdown)
            log.info("delivery %d: outcome not recorded (%s); it stays pending", row["id"], exc)
            return
        if not changed:
            return
        self._log(row, status, attempts, result, next_at - now)
        self._publish(int(row["id"]), int(row["instance_id"]), row["channel_id"], name, status, attempts,
                      error, result.response, next_at, next_at - now if status == queue_db.PENDING else None)

    def _log(self, row: sqlite3.Row, status: str, attempts: int, result: DeliveryResult, wait: float) -> None:
        # UIDs and status lines only: an error text may quote the peer, which may quote
        # patient data (RELIABILITY 29); the full text is in the index for the GUI.
        what = f"delivery {row['id']} of {row['sop_uid']} to {row['destination']} ({row['destination_type']})"
        said = result.response or result.error
        if status == queue_db.DELIVERED:
            log.info("%s: delivered: %s", what, said[:200])
        elif status == queue_db.FAILED:
            log.warning("%s: failed after %d attempt(s), dead letter: %s", what, attempts, said[:200])
        else:
            log.info("%s: attempt %d failed, retry in %.1f s: %s", what, attempts, wait, said[:200])

    def _publish(self, delivery_id: int, instance_id: int, channel_id: str, destination: str, status: str,
                 attempts: int, error: str, response: str, next_attempt_at: float,
                 retry_in: float | None = None) -> None:
        # retry_in: seconds until the next attempt of a pending row (None otherwise).
        self.bus.publish(
            events.DELIVERY_UPDATED, delivery_id=delivery_id, instance_id=instance_id, channel_id=channel_id,
            destination=destination, status=status, attempts=attempts, error=error, response=response,
            next_attempt_at=next_attempt_at, retry_in=retry_in,
        )

    # -- configuration -------------------------------------------------------------------------
    def _config(self, channel_id: str, name: str) -> DestinationConfig | None:
        """A channel's own (possibly overridden or inline) destination first, then intu.yaml's."""
        project = self.project
        for channel in getattr(project, "channels", []) or []:
            if channel.id == channel_id:
                for dest in getattr(channel, "destinations", []) or []:
                    if dest.name == name:
                        return dest
        named = getattr(project, "destinations", {}) or {}
        found = named.get(name)
        return found if isinstance(found, DestinationConfig) else None

    def _destination(self, channel_id: str, config: DestinationConfig) -> Destination:
        key = (channel_id, config.name)
        with self._cond:
            existing = self._destinations.get(key)
        if existing is not None:
            return existing
        built = build_destination(config, self._base_dir(config))  # outside the lock: may read files
        with self._cond:
            if self._config(channel_id, config.name) is not config:
                # set_project came while this was built (or before: `config` is the attempt's,
                # read earlier). This attempt uses it, like any attempt in flight during a
                # reload; it is closed when the attempt ends and never kept for the next one.
                self._retired.setdefault(config.name, []).append(built)
                return built
            self._destinations.setdefault(key, built)
            return self._destinations[key]

    def _base_dir(self, config: DestinationConfig) -> Path:
        root = getattr(self.project, "root", None)
        if root:
            return Path(root)
        if config.source and str(config.source) not in ("", "."):
            return Path(config.source).parent
        return self.data_dir

    def _close_destinations(self) -> None:
        with self._cond:
            built = list(self._destinations.values()) + [d for ds in self._retired.values() for d in ds]
            self._destinations.clear()
            self._retired = {}
        for destination in built:
            self._close(destination)

    @staticmethod
    def _close(destination: Destination) -> None:
        try:
            destination.close()
        except Exception:
            log.exception("closing destination %s failed", destination.name)


def _context(row: sqlite3.Row) -> DeliveryContext:
    return DeliveryContext(
        delivery_id=int(row["id"]),
        attempt=int(row["attempts"]) + 1,
        channel_id=row["channel_id"],
        destination=row["destination"],
        message_id=row["message_id"],
        run_id=int(row["run_id"]),
        instance_id=int(row["instance_id"]),
        body=row["output_body"],
        content_type=row["output_content_type"] or "",
        sop_instance_uid=row["sop_uid"],
        sop_class_uid=row["sop_class_uid"],
        study_instance_uid=row["study_uid"],
        series_instance_uid=row["series_uid"],
        storage_path=Path(row["storage_path"]),
        transfer_syntax=row["transfer_syntax"],
        created_at=float(row["run_started_at"]),
    )


def cli_retry(argv: list[str]) -> int:
    """`intu-desktop retry [--data-dir D] (--id N | --all) [--channel C]`."""
    from intu_desktop.destinations.cli import run_retry

    return run_retry(argv)
