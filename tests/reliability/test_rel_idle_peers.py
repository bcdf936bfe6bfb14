"""RELIABILITY 5 and 27, issue 10 "slow and idle peers": ARTIM, idle sockets, slow starters.

The association limit's transient reject is proven in
tests/integration/test_receiver_association.py::test_association_limit_is_a_transient_reject.
"""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import pytest
from dicomtools import copies_with_new_uids, echoscu, sample, storescu, wait_for
from rel_helpers import client_tls_args, open_fds, rss_mb, threads_back_to, tls_extra
from rel_pdus import AssociateRQ, read_until_closed

IDLE = 200


def test_a_silent_connection_is_closed_after_the_acse_timeout(receiver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    rx = receiver("acse_timeout_ms: 1000")  # the default (30 s) would outlast the deadline below
    with socket.create_connection(("127.0.0.1", rx.port)) as sock:
        reply = read_until_closed(sock, deadline_s=10)
    assert reply.closed and reply.data == b""
    wait_for(lambda: "closed before any association request" in caplog.text)


def test_a_request_that_stops_halfway_is_closed_after_the_acse_timeout(receiver,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    """pynetdicom alone would wait in recv() for ever: its timers only run between PDUs."""
    caplog.set_level(logging.INFO)
    rx = receiver("acse_timeout_ms: 1000")
    with socket.create_connection(("127.0.0.1", rx.port)) as sock:
        sock.sendall(AssociateRQ().encode()[:50])
        reply = read_until_closed(sock, deadline_s=10)
    assert reply.closed
    wait_for(lambda: "stopped sending in the middle of a PDU for 1 s (ACSE timeout)" in caplog.text)


def test_a_silent_peer_on_a_tls_port_is_dropped_after_the_handshake_deadline(
        receiver, pki: dict[str, Path], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    rx = receiver(tls_extra(pki) + "acse_timeout_ms: 1000")
    with socket.create_connection(("127.0.0.1", rx.port)) as sock:
        reply = read_until_closed(sock, deadline_s=10)
    assert reply.closed
    wait_for(lambda: "TLS handshake timed out" in caplog.text)


def _idle_sockets(port: int, count: int) -> list[socket.socket]:
    """Half of them say nothing; the other half send the first bytes of a PDU and stall."""
    socks = []
    for n in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        if n % 2:
            sock.sendall(b"\x01\x00")
        socks.append(sock)
    return socks


def _hold_idle_sockets_and_send(rx, tmp_path: Path, extra: list[str]) -> None:  # type: ignore[no-untyped-def]
    objects = copies_with_new_uids(sample("CT_small.dcm"), tmp_path / "objects", 5)
    assert echoscu(rx.port, extra=extra).returncode == 0  # warm up before measuring
    threads, fds, rss = threading.active_count(), open_fds(), rss_mb()
    idle = _idle_sockets(rx.port, IDLE)
    try:
        # max_associations is 2: idle connections must not count as associations.
        result = storescu(rx.port, objects, extra=extra, timeout=60)
        assert result.returncode == 0, result.stderr
        assert rx.count() == 5
        growth = rss_mb() - rss
        assert growth < 100, f"{IDLE} idle sockets cost {growth:.0f} MB"
    finally:
        for sock in idle:
            sock.close()
    # Every thread and descriptor of the idle connections goes away with them.
    assert threads_back_to(threads) <= threads + 2
    assert wait_for(lambda: open_fds() <= fds + 2, timeout=20)


@pytest.mark.slow
def test_200_idle_sockets_do_not_stop_a_modality_on_a_plain_port(receiver, tmp_path: Path) -> None:
    rx = receiver("max_associations: 2")  # the default ACSE timeout (30 s) keeps them all open
    _hold_idle_sockets_and_send(rx, tmp_path, [])


@pytest.mark.slow
def test_200_idle_sockets_do_not_stop_a_modality_on_a_tls_port(receiver, tmp_path: Path,
                                                               pki: dict[str, Path]) -> None:
    rx = receiver(tls_extra(pki) + "max_associations: 2")
    _hold_idle_sockets_and_send(rx, tmp_path, client_tls_args(pki))
