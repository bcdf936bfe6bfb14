"""Fixtures for the destination tests: an index, an event log, a running DeliveryService,
and a real HTTP peer that answers what the test scripts (helpers in dest_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dest_helpers import EventLog, ScriptedHttpServer

from intu_desktop.config.model import Project
from intu_desktop.destinations.service import DeliveryService
from intu_desktop.events import EventBus
from intu_desktop.index.db import Index


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    idx = Index(tmp_path / "index.sqlite3")
    yield idx
    idx.close()


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
def event_log(bus: EventBus) -> EventLog:
    log = EventLog()
    bus.subscribe(log)
    return log


@pytest.fixture
def start_service(index: Index, bus: EventBus, tmp_path: Path) -> Iterator[Callable[..., DeliveryService]]:
    started: list[DeliveryService] = []

    def start(project: Project, **kwargs: Any) -> DeliveryService:
        kwargs.setdefault("poll_interval_s", 0.2)
        service = DeliveryService(index, bus, project, tmp_path / "data", **kwargs)
        service.start()
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def http_peer() -> Iterator[ScriptedHttpServer]:
    server = ScriptedHttpServer()
    yield server
    server.close()
