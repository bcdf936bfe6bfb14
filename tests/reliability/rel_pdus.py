"""Raw DICOM upper-layer PDUs (PS3.8 §9.3) for hostile-peer tests.

Built by hand, not with pynetdicom, so a test can break exactly one rule at a time:
reserved bytes, item types, lengths, context ids, AE title bytes.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass, field

APPLICATION_CONTEXT = b"1.2.840.10008.3.1.1.1"
VERIFICATION = b"1.2.840.10008.1.1"
CT_IMAGE = b"1.2.840.10008.5.1.4.1.1.2"
IMPLICIT_LE = b"1.2.840.10008.1.2"
EXPLICIT_LE = b"1.2.840.10008.1.2.1"
IMPLEMENTATION_UID = b"1.2.826.0.1.3680043.9.3811.0.1"

PDU_NAMES = {1: "A-ASSOCIATE-RQ", 2: "A-ASSOCIATE-AC", 3: "A-ASSOCIATE-RJ", 4: "P-DATA-TF",
             5: "A-RELEASE-RQ", 6: "A-RELEASE-RP", 7: "A-ABORT"}


def item(item_type: int, value: bytes, reserved: int = 0) -> bytes:
    """A variable item or sub-item: type, reserved, 2-byte length, value (PS3.8 §9.3.2)."""
    return struct.pack(">BBH", item_type, reserved, len(value)) + value


def pdu(pdu_type: int, value: bytes, reserved: int = 0) -> bytes:
    return struct.pack(">BBL", pdu_type, reserved, len(value)) + value


def ae_field(title: bytes) -> bytes:
    return title[:16].ljust(16, b" ")


@dataclass
class Context:
    context_id: int
    abstract: bytes = VERIFICATION
    transfer_syntaxes: tuple[bytes, ...] = (IMPLICIT_LE,)

    def encode(self, reserved: int = 0) -> bytes:
        subs = item(0x30, self.abstract, reserved) + b"".join(item(0x40, ts, reserved) for ts in self.transfer_syntaxes)
        return item(0x20, bytes([self.context_id, reserved, reserved, reserved]) + subs, reserved)


@dataclass
class AssociateRQ:
    called: bytes = b"INTU_SCP"
    calling: bytes = b"CT_SCANNER_1"
    contexts: list[Context] = field(default_factory=lambda: [Context(1)])
    max_pdu: int = 16384
    extra_user_items: bytes = b""  # appended inside the user information item
    reserved: int = 0  # value for every reserved byte and field (PS3.8: not tested on receipt)

    def encode(self) -> bytes:
        r = self.reserved
        user = item(0x51, struct.pack(">L", self.max_pdu), r) + item(0x52, IMPLEMENTATION_UID, r)
        user += self.extra_user_items + item(0x55, b"HOSTILE_TEST", r)
        body = (
            struct.pack(">HH", 1, r * 0x0101) + ae_field(self.called) + ae_field(self.calling) + bytes([r]) * 32
            + item(0x10, APPLICATION_CONTEXT, r)
            + b"".join(cx.encode(r) for cx in self.contexts)
            + item(0x50, user, r)
        )
        return pdu(0x01, body, r)


def pdata(context_id: int, payload: bytes, *, command: bool, last: bool = True, pdv_length: int | None = None) -> bytes:
    """One P-DATA-TF with one PDV; `pdv_length` may lie about the PDV's size."""
    header = (1 if command else 0) | (2 if last else 0)
    value = bytes([context_id, header]) + payload
    length = len(value) if pdv_length is None else pdv_length
    return pdu(0x04, struct.pack(">L", length) + value)


def release_rq() -> bytes:
    return pdu(0x05, b"\x00" * 4)


@dataclass
class Reply:
    """What the listener sent before it closed the connection (or the read deadline passed)."""

    data: bytes
    closed: bool

    @property
    def pdu_types(self) -> list[int]:
        types, offset = [], 0
        while offset + 6 <= len(self.data):
            pdu_type, _r, length = struct.unpack(">BBL", self.data[offset:offset + 6])
            types.append(pdu_type)
            offset += 6 + length
        return types

    @property
    def names(self) -> list[str]:
        return [PDU_NAMES.get(t, hex(t)) for t in self.pdu_types]


def read_until_closed(sock: socket.socket, deadline_s: float) -> Reply:
    """Read everything until the peer closes, or until the deadline (closed=False)."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + deadline_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return Reply(b"".join(chunks), False)
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except TimeoutError:
            return Reply(b"".join(chunks), False)
        except (ConnectionResetError, BrokenPipeError):
            return Reply(b"".join(chunks), True)
        if not data:
            return Reply(b"".join(chunks), True)
        chunks.append(data)


def read_pdu(sock: socket.socket, timeout: float = 10.0) -> tuple[int, bytes]:
    sock.settimeout(timeout)
    header = _read_exact(sock, 6)
    pdu_type, _r, length = struct.unpack(">BBL", header)
    return pdu_type, _read_exact(sock, length)


def _read_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def send_and_collect(port: int, payload: bytes, *, deadline_s: float = 10.0, linger: bool = False) -> Reply:
    """Connect, send `payload`, and collect the answer until the listener closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(payload)
        except (ConnectionResetError, BrokenPipeError):
            return Reply(b"", True)
        return read_until_closed(sock, deadline_s)


def accepted_context_results(ac_body: bytes) -> dict[int, int]:
    """context id -> result from an A-ASSOCIATE-AC body (PS3.8 §9.3.3.2)."""
    results: dict[int, int] = {}
    offset = 68  # protocol version, reserved, AE fields, 32 reserved bytes
    while offset + 4 <= len(ac_body):
        item_type, _r, length = struct.unpack(">BBH", ac_body[offset:offset + 4])
        value = ac_body[offset + 4:offset + 4 + length]
        if item_type == 0x21:
            results[value[0]] = value[2]
        offset += 4 + length
    return results


def echo_command(message_id: int = 1) -> bytes:
    """An encoded C-ECHO-RQ command set (PS3.7 §9.3.5), ready for a PDV."""
    from pynetdicom.dimse_messages import C_ECHO_RQ
    from pynetdicom.dimse_primitives import C_ECHO

    primitive = C_ECHO()
    primitive.MessageID = message_id
    primitive.AffectedSOPClassUID = VERIFICATION.decode()
    message = C_ECHO_RQ()
    message.primitive_to_message(primitive)
    pdata_tf = next(iter(message.encode_msg(1, 16384)))
    return bytes(pdata_tf.presentation_data_value_list[0][1][1:])


def raw_echo(port: int, command: bytes) -> None:
    """One whole association by hand: request, C-ECHO, release (a client with no threads)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(AssociateRQ().encode())
        assert read_pdu(sock)[0] == 0x02
        sock.sendall(pdata(1, command, command=True))
        pdu_type, body = read_pdu(sock)
        assert pdu_type == 0x04 and body[5] & 0x01, "no C-ECHO response"
        sock.sendall(release_rq())
        assert read_pdu(sock)[0] == 0x06


def context_answers(ac_body: bytes) -> dict[int, tuple[int, list[bytes]]]:
    """context id -> (result, transfer syntaxes) from an A-ASSOCIATE-AC body (PS3.8 §9.3.3.2)."""
    answers: dict[int, tuple[int, list[bytes]]] = {}
    offset = 68
    while offset + 4 <= len(ac_body):
        item_type, _r, length = struct.unpack(">BBH", ac_body[offset:offset + 4])
        value = ac_body[offset + 4:offset + 4 + length]
        if item_type == 0x21:
            syntaxes, sub = [], 4
            while sub + 4 <= len(value):
                sub_type, _r, sub_len = struct.unpack(">BBH", value[sub:sub + 4])
                if sub_type == 0x40:
                    syntaxes.append(value[sub + 4:sub + 4 + sub_len].rstrip(b"\x00"))
                sub += 4 + sub_len
            answers[value[0]] = (value[2], syntaxes)
        offset += 4 + length
    return answers
