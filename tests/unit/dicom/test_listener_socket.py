"""ListenerSocket's reads (issue 9): one recv takes whatever has arrived, and the PDU
header, body and the next header are handed out from it byte for byte as before."""

from __future__ import annotations

import queue
import socket
import struct
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from intu_desktop.dicom.transport import READ_AHEAD, ListenerSocket


class _Counting:
    """A real TCP socket that counts the reads made on it."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.reads = 0

    def recv_into(self, *args: Any) -> int:
        self.reads += 1
        return self._sock.recv_into(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


@pytest.fixture
def pair() -> Iterator[tuple[ListenerSocket, _Counting, socket.socket]]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        peer = socket.create_connection(server.getsockname())
        accepted, _ = server.accept()
    counting = _Counting(accepted)
    assoc = SimpleNamespace(dul=SimpleNamespace(event_queue=queue.Queue()), _intu_bytes=[0])
    listener = ListenerSocket(assoc, client_socket=counting)  # type: ignore[arg-type]
    yield listener, counting, peer
    peer.close()
    accepted.close()


def _pdu(body: bytes) -> bytes:
    return struct.pack(">BBL", 0x04, 0, len(body)) + body


def _arrived(listener: ListenerSocket, peer: socket.socket, data: bytes) -> None:
    """Send `data` (small enough for the socket buffers of any kernel) and let it all arrive."""
    assert len(data) <= 64 * 1024
    peer.sendall(data)
    deadline = time.monotonic() + 10
    while not listener.ready and time.monotonic() < deadline:  # the bytes are in the kernel's buffer
        time.sleep(0.01)
    time.sleep(0.05)


def test_a_pdu_and_the_next_header_come_in_one_read(pair) -> None:
    listener, counting, peer = pair
    first, second = bytes(range(256)) * 160, b"second body"
    _arrived(listener, peer, _pdu(first) + _pdu(second))

    header = listener.recv(6)
    assert bytes(header) == _pdu(first)[:6]
    assert bytes(listener.recv_reused(len(first))) == first
    assert bytes(listener.recv(6)) == _pdu(second)[:6]
    assert bytes(listener.recv(len(second))) == second
    assert counting.reads == 1
    assert listener.buffered == 0
    assert listener.assoc._intu_bytes == [len(first) + len(second) + 12]


def test_read_ahead_bytes_make_the_socket_ready_without_new_data(pair) -> None:
    listener, _counting, peer = pair
    _arrived(listener, peer, _pdu(b"ab") + _pdu(b"cd"))
    listener.recv(6)
    listener.recv(2)
    # Nothing new on the wire, but the next PDU was read ahead: the DUL must not wait on select().
    assert listener.buffered == 8
    assert listener.ready
    assert bytes(listener.recv(6)) + bytes(listener.recv(2)) == _pdu(b"cd")
    assert listener.buffered == 0 and not listener.ready


def test_a_pdu_arriving_in_pieces_is_assembled(pair) -> None:
    listener, _counting, peer = pair
    body = bytes(range(256)) * 4000  # ~1 MB: more than one read, and more than READ_AHEAD
    whole = _pdu(body) + _pdu(b"tail")

    def send() -> None:
        for at in range(0, len(whole), 7919):
            peer.sendall(whole[at:at + 7919])
            time.sleep(0.0005)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        (length,) = struct.unpack(">L", bytes(listener.recv(6))[2:])
        assert bytes(listener.recv_reused(length)) == body
        assert bytes(listener.recv(6)) + bytes(listener.recv(4)) == _pdu(b"tail")
    finally:
        sender.join(10)


def test_a_view_handed_out_keeps_its_bytes_when_the_buffer_grows(pair) -> None:
    listener, _counting, peer = pair
    small, large = b"s" * 1000, b"L" * (3 * READ_AHEAD)
    sender = threading.Thread(target=peer.sendall, args=(small + large,))  # more than a socket buffer
    sender.start()
    try:
        view = listener.recv_reused(len(small))
        assert bytes(listener.recv_reused(len(large))) == large  # a larger buffer than the first
    finally:
        sender.join(10)
    assert bytes(view) == small


def test_unread_bytes_move_to_the_front_when_the_buffer_runs_out_of_room(pair) -> None:
    listener, _counting, peer = pair
    chunk = bytes(range(251)) * 1000
    sent = chunk * 12
    sender = threading.Thread(target=peer.sendall, args=(sent,))
    sender.start()
    received = bytearray()
    try:
        while len(received) < len(sent):  # odd sizes: every read leaves a partial one behind
            received += listener.recv(min(100_003, len(sent) - len(received)))
    finally:
        sender.join(10)
    assert received == sent


def test_the_peer_closing_mid_pdu_gives_the_bytes_that_came(pair) -> None:
    listener, _counting, peer = pair
    peer.sendall(_pdu(b"x" * 100)[:50])
    peer.close()
    assert bytes(listener.recv(6)) == _pdu(b"x" * 100)[:6]
    assert bytes(listener.recv_reused(100)) == b"x" * 44
    assert bytes(listener.recv(6)) == b""


def test_the_dul_does_not_wait_on_select_while_bytes_are_read_ahead(pair, monkeypatch) -> None:
    from intu_desktop.dicom import reactor

    listener, _counting, peer = pair
    _arrived(listener, peer, _pdu(b"ab") + _pdu(b"cd"))
    listener.recv(6)
    listener.recv(2)
    selects: list[object] = []
    monkeypatch.setattr(reactor.select, "select", lambda *args: (selects.append(args), ([], [], []))[1])
    dul = SimpleNamespace(to_provider_queue=queue.Queue(), socket=listener, _wake_r=None)
    reactor.ListenerDUL._wait_for_data(dul)  # type: ignore[arg-type]
    assert selects == []  # the next PDU is already here
    listener.recv(6)
    listener.recv(2)
    reactor.ListenerDUL._wait_for_data(dul)  # type: ignore[arg-type]
    assert len(selects) == 1  # nothing read ahead: wait for the peer
