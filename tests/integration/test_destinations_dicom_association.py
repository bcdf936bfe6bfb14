"""The dicom destination keeps its association open for the next object (a series forwarded
slice after slice) and releases it when idle, when the next object needs other presentation
contexts, and on close. The peer is DCMTK's storescp, whose log counts the associations."""

from __future__ import annotations

import dataclasses
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from destinations_support import FAST, project_with, queue, wait_status
from dicomtools import copies_with_new_uids, dcmtk, free_port, sample, wait_for, wait_port

from intu_desktop.destinations import dicom as dicom_destination
from intu_desktop.destinations.base import DeliveryContext
from intu_desktop.destinations.dicom import DicomDestination


class StoreSCP:
    """`storescp -v`: every association it accepts and every release, in its log."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        self.out = folder / "received"
        self.out.mkdir(parents=True, exist_ok=True)
        self.log = folder / "storescp.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([dcmtk("storescp"), "-v", "-od", str(self.out), str(self.port)],
                                            stdout=log, stderr=subprocess.STDOUT)
        wait_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def count(self, line: str) -> int:
        return self.log.read_text(errors="replace").count(line)

    def files(self) -> int:
        return len(list(self.out.glob("*")))


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[StoreSCP]:
    scp = StoreSCP(tmp_path / "peer", free_port())
    scp.start()
    yield scp
    scp.stop()


def _delivery(path: Path, number: int) -> DeliveryContext:
    empty = {f.name: None for f in dataclasses.fields(DeliveryContext)}
    return DeliveryContext(**{**empty, "delivery_id": number, "attempt": 1, "storage_path": path})


# "Association Received" also counts wait_port's bare connections.
RECEIVED, RELEASED = "Association Acknowledged", "Association Release"


def test_one_association_per_burst_released_when_idle_or_unfit(peer: StoreSCP, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dicom_destination, "IDLE_RELEASE_S", 2.0)  # long enough to count the burst first
    destination = DicomDestination("pacs", {"host": "127.0.0.1", "port": peer.port,
                                            "called_ae_title": "STORESCP"}, tmp_path)
    ct = copies_with_new_uids(sample("CT_small.dcm"), tmp_path / "ct", 6)
    try:
        results = [destination.send(_delivery(path, n)) for n, path in enumerate(ct[:4])]
        assert all(r.ok for r in results), results
        wait_for(lambda: peer.files() == 4)
        assert peer.count(RECEIVED) == 1 and peer.count(RELEASED) == 0  # one for the burst, still open

        wait_for(lambda: peer.count(RELEASED) == 1, timeout=10)  # idle: released politely
        assert destination.send(_delivery(ct[4], 4)).ok
        assert peer.count(RECEIVED) == 2

        # Another SOP class needs other presentation contexts: the open association goes.
        assert destination.send(_delivery(sample("MR_small.dcm"), 5)).ok
        assert peer.count(RECEIVED) == 3 and peer.count(RELEASED) == 2

        # The peer restarts while the association waits: the next object still goes, on a
        # fresh association, at its first attempt.
        peer.stop()
        peer.start()
        assert destination.send(_delivery(sample("MR_small.dcm"), 6)).ok
        assert destination.send(_delivery(ct[5], 7)).ok
    finally:
        destination.close()
    wait_for(lambda: peer.count(RELEASED) >= 2 + 1, timeout=10)  # close() released the last one
    assert peer.files() == 8 - 1  # MR_small twice: one file, stored again


def test_close_while_idle_releases_at_once(peer: StoreSCP, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dicom_destination, "IDLE_RELEASE_S", 120.0)  # a release in time is close()'s doing
    destination = DicomDestination("pacs", {"host": "127.0.0.1", "port": peer.port}, tmp_path)
    assert destination.send(_delivery(sample("CT_small.dcm"), 1)).ok
    destination.close()
    wait_for(lambda: peer.count(RELEASED) == 1, timeout=10)
    # A closed destination opens nothing new.
    assert not destination.send(_delivery(sample("CT_small.dcm"), 2)).ok
    assert peer.count(RECEIVED) == 1


def test_an_idle_association_the_peer_dropped_costs_one_fresh_association(
        peer: StoreSCP, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The peer may drop the parked association just before it is used (its own idle
    time-out, a restart) and pynetdicom may not have noticed yet: the object goes on a
    fresh association at once, not back to the queue as a failed attempt."""
    destination = DicomDestination("pacs", {"host": "127.0.0.1", "port": peer.port}, tmp_path)
    ct = copies_with_new_uids(sample("CT_small.dcm"), tmp_path / "ct", 2)
    try:
        assert destination.send(_delivery(ct[0], 1)).ok
        peer.stop()
        peer.start()  # the parked association is dead now
        handed_out: list[object] = []

        def take_even_if_dead(self: DicomDestination, key: object) -> object:
            with self._lock:
                idle, self._idle = self._idle, None
            handed_out.append(idle)
            return idle[0] if idle is not None else None

        monkeypatch.setattr(DicomDestination, "_take_idle", take_even_if_dead)
        result = destination.send(_delivery(ct[1], 2))
        assert handed_out and handed_out[0] is not None  # the dead one was tried first
        assert result.ok, result
        assert peer.count(RECEIVED) == 2  # one before the restart, one fresh after it
    finally:
        destination.close()


def _service_with_a_kept_association(peer: StoreSCP, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from intu_desktop.config.model import DestinationConfig
    from intu_desktop.destinations.service import DeliveryService
    from intu_desktop.events import EventBus
    from intu_desktop.index.db import Index

    # Far beyond the test's waits: a release seen in time is set_project's doing, not the timer's.
    monkeypatch.setattr(dicom_destination, "IDLE_RELEASE_S", 120.0)
    index = Index(tmp_path / "index.sqlite3")
    project = project_with(DestinationConfig(name="pacs", type="dicom", retry=FAST, options={
        "host": "127.0.0.1", "port": peer.port, "called_ae_title": "STORESCP"}))
    service = DeliveryService(index, EventBus(), project, tmp_path, poll_interval_s=0.2)
    service.start()

    def send_one() -> list[int]:
        return queue(index, service, project, body="{}", storage_path=sample("CT_small.dcm"))

    return index, project, service, send_one


def test_a_reloaded_configuration_releases_the_kept_association(peer: StoreSCP, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """set_project rebuilds the destinations: the old one's kept association is released at
    once (not left to its idle timer, nor dropped without a release at exit)."""
    index, project, service, send_one = _service_with_a_kept_association(peer, tmp_path, monkeypatch)
    try:
        wait_status(index, send_one(), "delivered")
        assert peer.count(RECEIVED) == 1 and peer.count(RELEASED) == 0  # kept for the next one
        service.set_project(project)
        wait_for(lambda: peer.count(RELEASED) == 1, timeout=10)
    finally:
        service.stop()
        index.close()


def test_a_configuration_reloaded_during_an_attempt_releases_the_old_association_when_it_ends(
        peer: StoreSCP, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The attempt in flight finishes with the old destination; then that one is closed,
    not kept until stop() or its idle timer."""
    import threading

    gate = threading.Event()
    in_flight = threading.Event()
    real_send = DicomDestination.send

    def send_then_hold(self: DicomDestination, context: DeliveryContext):  # type: ignore[no-untyped-def]
        result = real_send(self, context)  # stored; the association is kept for the next one
        in_flight.set()
        assert gate.wait(30)
        return result

    monkeypatch.setattr(DicomDestination, "send", send_then_hold)
    index, project, service, send_one = _service_with_a_kept_association(peer, tmp_path, monkeypatch)
    try:
        ids = send_one()
        assert in_flight.wait(30)
        service.set_project(project)
        time.sleep(0.5)
        assert peer.count(RECEIVED) == 1 and peer.count(RELEASED) == 0  # still its attempt's
        gate.set()
        wait_status(index, ids, "delivered")
        wait_for(lambda: peer.count(RELEASED) == 1, timeout=10)
    finally:
        gate.set()
        service.stop()
        index.close()
