"""The durable queue: delivery, retry with backoff, dead letters, manual retry, restarts,
per-destination order, secrets and PHI kept out of logs. The peer is a real HTTP server."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from pathlib import Path

import pytest
from dest_helpers import (
    FAST_RETRY,
    ScriptedHttpServer,
    add_run,
    delivery,
    dest,
    enqueue,
    make_project,
    wait_status,
    wait_until,
)

from intu_desktop.config.model import RetryConfig
from intu_desktop.destinations.cli import run_retry
from intu_desktop.destinations.service import DeliveryService, cli_retry
from intu_desktop.events import DELIVERY_UPDATED, EventBus
from intu_desktop.index.db import Index


def _http(peer: ScriptedHttpServer, name: str = "api", retry: RetryConfig = FAST_RETRY, **options: object):
    return dest(name, "http", {"url": peer.url + "/in", **options}, retry)


def test_delivered_once_with_the_answer_recorded(index: Index, start_service, http_peer, event_log) -> None:
    project = make_project([_http(http_peer)])
    service = start_service(project)
    (delivery_id,) = enqueue(index, service, project, body='{"n": 1}')
    (row,) = wait_status(index, [delivery_id], "delivered")
    assert row["attempts"] == 1 and row["last_response"] == "HTTP 200 OK" and row["last_error"] == ""
    assert row["destination"] == "api" and row["destination_type"] == "http"
    assert len(http_peer.received) == 1
    (event,) = event_log.of(delivery_id)
    assert event["status"] == "delivered" and event["attempts"] == 1 and event["destination"] == "api"
    assert event_log.events[-1].kind == DELIVERY_UPDATED


def test_server_errors_are_retried_with_backoff(index: Index, start_service, http_peer, event_log) -> None:
    http_peer.answer((500, {"e": 1}), (503, {"e": 2}))
    project = make_project([_http(http_peer, retry=RetryConfig(max_attempts=5, backoff="exponential",
                                                               initial_delay_ms=50, max_delay_ms=1000,
                                                               jitter=False))])
    service = start_service(project)
    (delivery_id,) = enqueue(index, service, project)
    (row,) = wait_status(index, [delivery_id], "delivered")
    assert row["attempts"] == 3 and len(http_peer.received) == 3
    events = event_log.of(delivery_id)
    assert [(e["status"], e["attempts"]) for e in events] == [("pending", 1), ("pending", 2), ("delivered", 3)]
    # Exponential: 50 ms after the first failure, 100 ms after the second.
    assert [round(e["retry_in"], 3) for e in events[:2]] == [0.05, 0.1]
    assert events[1]["error"].startswith("HTTP 503 Service Unavailable")


def test_client_error_is_a_dead_letter_at_once_and_manual_retry_delivers(
        index: Index, start_service, http_peer, event_log) -> None:
    http_peer.answer((422, {"issue": "subject is required"}))
    project = make_project([_http(http_peer)])
    service = start_service(project)
    (delivery_id,) = enqueue(index, service, project)
    (row,) = wait_status(index, [delivery_id], "failed")
    assert row["attempts"] == 1 and "subject is required" in row["last_error"]
    assert row["last_response"] == "HTTP 422 Unprocessable Entity"
    assert len(http_peer.received) == 1

    assert service.retry(delivery_id) is True  # the server is fixed: it answers 200 now
    (row,) = wait_status(index, [delivery_id], "delivered")
    assert row["attempts"] == 1 and len(http_peer.received) == 2
    assert [e["status"] for e in event_log.of(delivery_id)] == ["failed", "pending", "delivered"]
    assert service.retry(delivery_id) is False  # delivered rows are not dead letters


def test_gives_up_after_max_attempts(index: Index, start_service, http_peer) -> None:
    http_peer.answer(*[(503, {})] * 3)
    project = make_project([_http(http_peer)])  # FAST_RETRY: 3 attempts
    service = start_service(project)
    (delivery_id,) = enqueue(index, service, project)
    (row,) = wait_status(index, [delivery_id], "failed")
    assert row["attempts"] == 3 and row["last_error"].startswith("gave up after 3 attempts: HTTP 503")


def test_rows_wait_behind_a_failing_one_in_order(index: Index, start_service, http_peer) -> None:
    http_peer.answer((503, {}), (503, {}))
    project = make_project([_http(http_peer, retry=RetryConfig(max_attempts=5, initial_delay_ms=20,
                                                               max_delay_ms=100, jitter=False))])
    service = start_service(project, workers=3)
    ids = [enqueue(index, service, project, body=json.dumps({"n": n}))[0] for n in range(5)]
    rows = wait_status(index, ids, "delivered")
    order = [json.loads(r.body)["n"] for r in http_peer.received]
    # The first row probes until the server is back; the others never jump ahead of it.
    assert order == [0, 0, 0, 1, 2, 3, 4]
    assert [r["attempts"] for r in rows] == [3, 1, 1, 1, 1]


def test_destinations_are_independent(index: Index, start_service, http_peer, tmp_path: Path) -> None:
    http_peer.release.clear()  # the HTTP peer hangs
    project = make_project([_http(http_peer, timeout_ms=30000),
                            dest("files", "file", {"directory": str(tmp_path / "out")})])
    service = start_service(project)
    slow, fast = enqueue(index, service, project)
    wait_status(index, [fast], "delivered")
    assert delivery(index, slow)["status"] == "pending"
    http_peer.release.set()
    wait_status(index, [slow], "delivered")


def test_pending_rows_resume_after_restart(index: Index, bus: EventBus, http_peer, tmp_path: Path) -> None:
    project = make_project([_http(http_peer)])
    first = DeliveryService(index, bus, project, tmp_path, stop_timeout_s=0.5)
    ids = [enqueue(index, first, project)[0] for _ in range(3)]  # queued, never started
    http_peer.release.clear()
    first.start()
    wait_until(lambda: http_peer.received)  # an attempt is in flight ...
    first.stop()  # ... and is broken off: not recorded, so still pending
    assert [delivery(index, i)["status"] for i in ids] == ["pending"] * 3
    assert delivery(index, ids[0])["attempts"] == 0
    http_peer.release.set()
    second = DeliveryService(index, bus, project, tmp_path)
    second.start()
    try:
        rows = wait_status(index, ids, "delivered")
    finally:
        second.stop()
    assert [r["attempts"] for r in rows] == [1, 1, 1]


def test_destination_removed_from_configuration_fails_with_reason(index: Index, start_service, http_peer) -> None:
    queued_with = make_project([_http(http_peer)])
    service = start_service(make_project([]))
    (delivery_id,) = enqueue(index, service, queued_with)
    (row,) = wait_status(index, [delivery_id], "failed")
    assert row["last_error"] == "destination 'api' is no longer in the configuration of channel 'test-channel'"


def test_named_destinations_resolve_from_the_project(index: Index, start_service, http_peer) -> None:
    named = _http(http_peer, name="shared-api")
    project = make_project([named], named={"shared-api": named})
    service = start_service(make_project([], named={"shared-api": named}))
    (delivery_id,) = enqueue(index, service, project)
    wait_status(index, [delivery_id], "delivered")


def test_unsupported_type_is_a_dead_letter(index: Index, start_service) -> None:
    project = make_project([dest("bus", "kafka", {"topic": "t"})])
    service = start_service(project)
    (delivery_id,) = enqueue(index, service, project)
    (row,) = wait_status(index, [delivery_id], "failed")
    assert "type 'kafka' is not supported" in row["last_error"]


def test_secrets_and_patient_data_never_reach_logs(index: Index, start_service, http_peer,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    # A server that echoes what it got: our token and the patient's name.
    http_peer.answer((400, "rejected Canary^Patient; got Authorization: Bearer tok-SECRET-123; token tok-SECRET-123"))
    project = make_project([_http(http_peer, auth={"type": "bearer", "token": "tok-SECRET-123"})])
    caplog.set_level(logging.DEBUG, logger="intu_desktop")
    service = start_service(project)
    (delivery_id,) = enqueue(index, service, project, body='{"patient": "Canary^Patient"}')
    (row,) = wait_status(index, [delivery_id], "failed")
    assert "tok-SECRET-123" not in row["last_error"] + row["last_response"]
    assert "Canary^Patient" in row["last_error"]  # the record keeps the server's words ...
    # The log line may follow the status update by a moment: wait for it, then check it.
    deadline = time.monotonic() + 10
    while row["last_response"] not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.02)
    assert row["last_response"] in caplog.text
    assert "tok-SECRET-123" not in caplog.text
    assert "Canary" not in caplog.text  # ... the log does not


def test_retry_all_failed_by_channel(index: Index, start_service, http_peer) -> None:
    http_peer.answer((400, {}), (400, {}))
    project = make_project([_http(http_peer)])
    service = start_service(project)
    ids = [enqueue(index, service, project)[0] for _ in range(2)]
    wait_status(index, ids, "failed")
    assert service.retry_all_failed(channel_id="another-channel") == 0
    assert service.retry_all_failed(channel_id="test-channel") == 2
    wait_status(index, ids, "delivered")


def test_cli_retry(index: Index, start_service, http_peer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    http_peer.answer((400, {}), (400, {}), (400, {}))
    project = make_project([_http(http_peer)])
    service = start_service(project)
    ids = [enqueue(index, service, project)[0] for _ in range(3)]
    wait_status(index, ids, "failed")
    service.stop()

    assert cli_retry(["--data-dir", str(tmp_path), "--id", str(ids[0])]) == 0
    assert "1 delivery queued again" in capsys.readouterr().out
    assert delivery(index, ids[0])["status"] == "pending" and delivery(index, ids[0])["attempts"] == 0
    assert run_retry(["--data-dir", str(tmp_path), "--id", str(ids[0])]) == 1  # pending, not failed
    assert "is pending, not failed" in capsys.readouterr().err
    assert run_retry(["--data-dir", str(tmp_path), "--id", "999"]) == 1
    assert run_retry(["--data-dir", str(tmp_path), "--all", "--channel", "test-channel"]) == 0
    assert "2 deliveries queued again" in capsys.readouterr().out
    assert {delivery(index, i)["status"] for i in ids} == {"pending"}
    assert run_retry(["--data-dir", str(tmp_path / "nothing-here"), "--all"]) == 1


def test_enqueue_is_part_of_the_callers_transaction(index: Index, start_service, http_peer) -> None:
    project = make_project([_http(http_peer), _http(http_peer, name="second")])
    service = start_service(project)
    run_id, instance_id = add_run(index)

    def run_then_fail(conn):  # type: ignore[no-untyped-def]
        service.enqueue(conn, run_id, instance_id, project.channels[0])
        raise RuntimeError("the pipeline's transaction fails after queueing")

    with pytest.raises(RuntimeError):
        index.write(run_then_fail)
    assert index.query("SELECT COUNT(*) FROM deliveries")[0][0] == 0


def test_stop_is_prompt_with_an_attempt_hanging(index: Index, bus: EventBus, tmp_path: Path) -> None:
    # A peer that accepts connections and never answers.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        url = f"http://127.0.0.1:{server.getsockname()[1]}/x"
        project = make_project([dest("hang", "http", {"url": url, "timeout_ms": 60000})])
        service = DeliveryService(index, bus, project, tmp_path, stop_timeout_s=0.2)
        (delivery_id,) = enqueue(index, service, project)
        service.start()
        conn, _ = server.accept()  # the attempt is in flight
        with conn:
            service.stop()
            assert not [t for t in service._threads if t.is_alive()]
    assert delivery(index, delivery_id)["status"] == "pending"


def test_reloaded_configuration_applies_to_the_next_attempt(index: Index, start_service, http_peer) -> None:
    http_peer.answer((400, {}))
    before = make_project([_http(http_peer)])
    service = start_service(before)
    (delivery_id,) = enqueue(index, service, before)
    wait_status(index, [delivery_id], "failed")
    after = make_project([_http(http_peer, headers={"X-Fixed": "yes"})])
    service.set_project(after)
    assert service.retry(delivery_id)
    wait_status(index, [delivery_id], "delivered")
    assert http_peer.received[-1].headers["X-Fixed"] == "yes"


def test_a_destination_built_across_a_reload_serves_that_attempt_only(index: Index, start_service, http_peer,
                                                                        monkeypatch) -> None:
    """set_project while an attempt builds its destination: the old settings serve that attempt,
    the next one builds from the new configuration, and the old destination is closed."""
    from intu_desktop.destinations import service as service_module

    building, release = threading.Event(), threading.Event()
    closed: list[object] = []
    real_build = service_module.build_destination

    def slow_build(config, base_dir):  # type: ignore[no-untyped-def]
        built = real_build(config, base_dir)
        real_close = built.close
        built.close = lambda: (closed.append(built), real_close())[1]  # type: ignore[method-assign]
        if not release.is_set():
            building.set()
            release.wait(10)
        return built

    monkeypatch.setattr(service_module, "build_destination", slow_build)
    before = make_project([_http(http_peer)])
    service = start_service(before)
    (first,) = enqueue(index, service, before)
    assert building.wait(10)  # the first attempt is building its destination
    after = make_project([_http(http_peer, headers={"X-Fixed": "yes"})])
    service.set_project(after)
    release.set()
    wait_status(index, [first], "delivered")
    assert "X-Fixed" not in http_peer.received[-1].headers  # that attempt kept the old settings
    wait_until(lambda: len(closed) == 1)  # closed once its attempt ended
    (second,) = enqueue(index, service, after)
    wait_status(index, [second], "delivered")
    assert http_peer.received[-1].headers["X-Fixed"] == "yes"  # not the destination built before
    assert closed[0] not in service._destinations.values()


def test_each_attempt_gives_way_to_receiving_and_stop_ends_a_pause(index: Index, bus: EventBus, http_peer,
                                                                   tmp_path: Path) -> None:
    from intu_desktop.receive_priority import ReceivePriority

    # Objects arriving all the time, and a pause of up to a minute after every attempt.
    priority = ReceivePriority(share=0.001, quiet_s=600.0, max_pause_s=60.0)
    priority.note_receive()
    project = make_project([_http(http_peer)])
    service = DeliveryService(index, bus, project, tmp_path, priority=priority)
    ids = enqueue(index, service, project, body='{"n": 1}')
    service.start()
    wait_status(index, ids, "delivered")
    time.sleep(0.2)  # the worker is now in its pause (it began right after the attempt)
    service.stop()  # which must end at the stop, not after a minute
    assert not [t for t in service._threads if t.is_alive()]
    assert priority.paused_s > 0
    assert len(http_peer.received) == 1
