"""Issue 10 / RELIABILITY 4, 6, 7, 23: hostile bytes on the listener's port, with raw sockets.

Every case checks the listener's answer on the wire (PS3.8 §9.3), that the connection is
closed, that the event is logged with its reason in words, and that the listener still
answers. One test runs all of them while a real storescu transfer is in flight and the
process's memory is measured.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from dicomtools import copies_with_new_uids, dcmtk, echoscu, sample, wait_for
from rel_helpers import open_fds, rss_mb, storescu_in_background, threads_back_to
from rel_pdus import (
    CT_IMAGE,
    EXPLICIT_LE,
    AssociateRQ,
    Context,
    accepted_context_results,
    echo_command,
    item,
    pdata,
    pdu,
    read_pdu,
    read_until_closed,
    release_rq,
)

MAX_PDU = 16384
CAP = MAX_PDU + 64 * 1024  # the listener's read cap: advertised maximum plus slack for big requests
CHANNEL = f"max_pdu_length: {MAX_PDU}\nacse_timeout_ms: 1000\nnetwork_timeout_ms: 1000"


@dataclass(frozen=True)
class Case:
    payload: Callable[[], bytes]
    answer: str  # first PDU the listener sends back: "A-ABORT", "A-ASSOCIATE-AC", or "" (none)
    logged: str  # words the log must contain
    stall: bool = False  # keep the connection open after sending (a slow peer)
    or_silence: bool = False  # the listener may also just close (it aborts as it closes)


# Before any association: the listener reads an A-ASSOCIATE-RQ or garbage.
BEFORE_ASSOCIATION = {
    "http-request": Case(lambda: b"GET /wado HTTP/1.1\r\nHost: pacs\r\n\r\n", "A-ABORT", "HTTP request", stall=True),
    "tls-on-plain-port": Case(lambda: b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\xee" * 40, "A-ABORT",
                              "TLS handshake"),
    "garbage-bytes": Case(lambda: b"\xaa\x55" * 150, "A-ABORT", "not a DICOM PDU"),
    "pdu-length-0xffffffff": Case(lambda: b"\x01\x00\xff\xff\xff\xff", "A-ABORT", "4294967295 bytes", stall=True),
    "request-over-the-cap": Case(lambda: struct.pack(">BBL", 1, 0, CAP + 1) + b"\x00" * 1024, "A-ABORT",
                                 f"accepts at most {CAP}", stall=True),
    "request-cut-short-then-silence": Case(lambda: AssociateRQ().encode()[:40], "",
                                           "stopped sending in the middle of a PDU", stall=True),
    "even-context-id": Case(lambda: AssociateRQ(contexts=[Context(2)]).encode(), "A-ABORT", "context id 2 is even"),
    "context-id-zero": Case(lambda: AssociateRQ(contexts=[Context(0)]).encode(), "A-ABORT", "context id 0 is even"),
    "duplicate-context-ids": Case(lambda: AssociateRQ(contexts=[Context(1), Context(1, CT_IMAGE)]).encode(),
                                  "A-ABORT", "context id 1 is proposed twice"),
    "129-contexts": Case(lambda: AssociateRQ(contexts=[Context((2 * i + 1) % 256) for i in range(129)]).encode(),
                         "A-ABORT", "proposed twice"),
    "calling-ae-with-newline": Case(lambda: AssociateRQ(calling=b"CT\nFORGED LINE").encode(), "A-ABORT",
                                    r"'CT\nFORGED LINE' contains control characters"),
    "called-ae-with-escape": Case(lambda: AssociateRQ(called=b"INTU\x1b[31mSCP").encode(), "A-ABORT",
                                  "called AE title"),
    "item-longer-than-pdu": Case(lambda: AssociateRQ(extra_user_items=b"\x55\x00\xff\xff").encode(), "A-ABORT",
                                 "announces 65535 bytes"),
    # Tolerated (PS3.8 Annex D / PS3.7 D.3.3): answered as if the odd parts were not there.
    "unknown-user-info-sub-items": Case(
        lambda: AssociateRQ(extra_user_items=item(0x5F, b"future") + item(0xFE, b"x" * 300)).encode(),
        "A-ASSOCIATE-AC", "ignored an unrecognised sub-item of type 0xFE"),
    "non-zero-reserved-bytes": Case(lambda: AssociateRQ(reserved=0xFF).encode(), "A-ASSOCIATE-AC",
                                    "association requested by CT_SCANNER_1"),
}


def _associate(sock: socket.socket) -> None:
    sock.sendall(AssociateRQ(contexts=[Context(1), Context(3, CT_IMAGE, (EXPLICIT_LE,))], max_pdu=MAX_PDU).encode())
    pdu_type, body = read_pdu(sock)
    assert pdu_type == 0x02, f"association not accepted: PDU type {pdu_type}"
    assert accepted_context_results(body) == {1: 0, 3: 0}


# After an accepted association: P-DATA that lies about lengths, contexts and contents.
AFTER_ASSOCIATION = {
    "pdata-length-0xffffffff": Case(lambda: b"\x04\x00\xff\xff\xff\xff", "A-ABORT", "4294967295 bytes", stall=True),
    "pdata-over-the-cap": Case(lambda: pdu(0x04, b"\x00" * (CAP + 1)), "A-ABORT", f"accepts at most {CAP}"),
    "pdv-longer-than-pdu": Case(lambda: pdata(3, b"\x00" * 10, command=True, pdv_length=1000), "A-ABORT",
                                "protocol was violated"),
    "pdv-empty": Case(lambda: struct.pack(">BBLL", 4, 0, 4, 0), "A-ABORT", "protocol was violated"),
    "pdv-garbage-command": Case(lambda: pdata(3, b"\x00" * 10, command=True), "A-ABORT", "could not process"),
    "pdv-on-unaccepted-context": Case(lambda: pdata(5, echo_command(), command=True), "A-ABORT",
                                      "invalid or rejected context ID: 5", or_silence=True),
    "pdata-cut-short-then-silence": Case(lambda: struct.pack(">BBL", 4, 0, 1000) + b"\x00" * 10, "",
                                         "stopped sending in the middle of a PDU", stall=True),
}


def _run_case(port: int, case: Case, *, associate: bool) -> list[str]:
    """Send the case; return the PDU names the listener answered with before closing."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        if associate:
            _associate(sock)
        try:
            sock.sendall(case.payload())
            if case.answer == "A-ASSOCIATE-AC":
                pdu_type, _body = read_pdu(sock)
                if pdu_type != 0x02:
                    return [f"PDU type {pdu_type}"]
                sock.sendall(release_rq())
                return ["A-ASSOCIATE-AC", *read_until_closed(sock, deadline_s=15).names]
            if not case.stall:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the listener aborted and closed before reading everything
        reply = read_until_closed(sock, deadline_s=15)
    assert reply.closed, f"the listener kept the connection open; it sent {reply.names}"
    return reply.names


def _check_answer(case: Case, names: list[str]) -> None:
    first = names[0] if names else ""
    assert first == case.answer or (case.or_silence and first == ""), names


@pytest.fixture
def hostile_receiver(receiver, caplog: pytest.LogCaptureFixture):  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO)
    return receiver(CHANNEL)


@pytest.mark.parametrize("name", list(BEFORE_ASSOCIATION))
def test_before_association(hostile_receiver, caplog: pytest.LogCaptureFixture, name: str) -> None:
    case = BEFORE_ASSOCIATION[name]
    names = _run_case(hostile_receiver.port, case, associate=False)
    _check_answer(case, names)
    wait_for(lambda: case.logged in caplog.text, timeout=10)
    # A title with a newline must not forge a log line, in our log or in pynetdicom's.
    assert not any("\nFORGED" in r.getMessage() or "\x1b" in r.getMessage() for r in caplog.records)
    assert echoscu(hostile_receiver.port).returncode == 0


@pytest.mark.parametrize("name", list(AFTER_ASSOCIATION))
def test_after_association(hostile_receiver, caplog: pytest.LogCaptureFixture, name: str) -> None:
    case = AFTER_ASSOCIATION[name]
    names = _run_case(hostile_receiver.port, case, associate=True)
    _check_answer(case, names)
    wait_for(lambda: case.logged in caplog.text, timeout=10)
    assert echoscu(hostile_receiver.port).returncode == 0


def test_unknown_items_do_not_change_the_answer(hostile_receiver) -> None:
    """Every proposed context gets its answer although unknown items surround it (PS3.7 D.3.3)."""
    odd = AssociateRQ(contexts=[Context(1), Context(3, CT_IMAGE, (EXPLICIT_LE,))], reserved=0x5A,
                      extra_user_items=item(0x5F, b"?") + item(0x59, b"\x00\x00"))
    raw = bytearray(odd.encode())
    raw += item(0x77, b"unknown top-level item")  # after the user information item
    raw[2:6] = struct.pack(">L", len(raw) - 6)
    with socket.create_connection(("127.0.0.1", hostile_receiver.port), timeout=10) as sock:
        sock.sendall(bytes(raw))
        pdu_type, body = read_pdu(sock)
        assert pdu_type == 0x02
        assert accepted_context_results(body) == {1: 0, 3: 0}


@pytest.mark.slow
def test_all_at_once_with_a_transfer_in_flight(hostile_receiver, tmp_path: Path) -> None:
    """Three rounds of every hostile case while storescu sends 150 objects: the transfer
    succeeds, every object is stored once, and the process's memory stays bounded."""
    objects = copies_with_new_uids(sample("CT_small.dcm"), tmp_path / "objects", 150)
    port = hostile_receiver.port
    _run_case(port, BEFORE_ASSOCIATION["non-zero-reserved-bytes"], associate=False)  # warm up
    baseline, threads, fds = rss_mb(), threading.active_count(), open_fds()
    transfer = storescu_in_background([dcmtk("storescu"), "-aet", "CT_SCANNER_1", "-aec", "INTU_SCP",
                                       "127.0.0.1", str(port), *map(str, objects)])
    for _round in range(3):
        for case in BEFORE_ASSOCIATION.values():
            _run_case(port, case, associate=False)
        for case in AFTER_ASSOCIATION.values():
            _run_case(port, case, associate=True)
    assert transfer.wait() == 0, transfer.output
    assert hostile_receiver.count() == 150
    growth = rss_mb() - baseline
    # 0xFFFFFFFF-byte headers were announced 6 times: any allocation of that size would show.
    assert growth < 100, f"resident memory grew by {growth:.0f} MB"
    # Refused and aborted connections leave no thread or descriptor behind.
    assert threads_back_to(threads) <= threads + 2, [t.name for t in threading.enumerate()]
    assert wait_for(lambda: open_fds() <= fds + 2, timeout=20)
    assert echoscu(port).returncode == 0
