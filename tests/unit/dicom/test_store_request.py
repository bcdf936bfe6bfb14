"""store_request.parse_store_command and the primitive it builds, against pynetdicom's own
decoding of the same command sets (the fast path must read exactly what pynetdicom reads,
and leave to pynetdicom whatever it does not know)."""

from __future__ import annotations

import struct
from io import BytesIO

import pytest
from pynetdicom.dimse_messages import C_ECHO_RQ, C_STORE_RQ
from pynetdicom.dimse_primitives import C_ECHO, C_STORE
from pynetdicom.dsutils import decode

from intu_desktop.dicom.store_request import _primitive, parse_store_command

CT = "1.2.840.10008.5.1.4.1.1.2"
SOP = "1.2.826.0.1.3680043.8.498.1234567890123456789012345678901"  # odd length: padded with a NUL


def _command(**fields: object) -> bytes:
    """A C-STORE-RQ command set as pynetdicom encodes it."""
    primitive = C_STORE()
    primitive.MessageID = 7
    primitive.AffectedSOPClassUID = CT
    primitive.AffectedSOPInstanceUID = SOP
    primitive.Priority = 2
    for name, value in fields.items():
        setattr(primitive, name, value)
    primitive.DataSet = BytesIO(b"\x00" * 8)
    message = C_STORE_RQ()
    message.primitive_to_message(primitive)
    pdata = next(iter(message.encode_msg(1, 1 << 20)))
    return bytes(pdata.presentation_data_value_list[0][1][1:])


def _element(element: int, value: bytes) -> bytes:
    return struct.pack("<HHL", 0x0000, element, len(value)) + value


@pytest.mark.parametrize("fields", [{}, {"MoveOriginatorMessageID": 3}], ids=["plain", "move-originator-id"])
def test_the_values_and_the_primitive_are_pynetdicoms(fields: dict[str, object]) -> None:
    command = _command(**fields)
    values = parse_store_command(command)
    assert values is not None
    theirs = decode(BytesIO(command), True, True)
    for name, value in values.items():
        assert value == theirs[name].value, name
    ours = _primitive(values, 3)
    assert ours is not None and ours._context_id == 3
    for name in ("MessageID", "AffectedSOPClassUID", "AffectedSOPInstanceUID", "Priority",
                 "MoveOriginatorApplicationEntityTitle", "MoveOriginatorMessageID"):
        expected = theirs[name].value if name in theirs else None
        assert getattr(ours, name) == expected, name
    assert ours.AffectedSOPInstanceUID == SOP  # the padding NUL is not part of the UID


def _echo() -> bytes:
    primitive = C_ECHO()
    primitive.MessageID = 1
    primitive.AffectedSOPClassUID = "1.2.840.10008.1.1"
    message = C_ECHO_RQ()
    message.primitive_to_message(primitive)
    return bytes(next(iter(message.encode_msg(1, 16384))).presentation_data_value_list[0][1][1:])


def _with(command: bytes, element: int, value: bytes | None) -> bytes:
    """The command set with one element's value replaced (None: removed)."""
    out, pos = b"", 0
    while pos < len(command):
        _group, elem, length = struct.unpack_from("<HHL", command, pos)
        raw = command[pos:pos + 8 + length]
        if elem == element:
            raw = b"" if value is None else _element(element, value)
        out += raw
        pos += 8 + length
    return out


LEFT_TO_PYNETDICOM = {
    "c-echo": _echo,
    "move-originator-ae-title": lambda: _command(MoveOriginatorApplicationEntityTitle="PACS"),
    "no-data-set": lambda: _with(_command(), 0x0800, b"\x01\x01"),
    "repeated-element": lambda: _command() + _element(0x0110, b"\x08\x00"),
    "two-message-ids": lambda: _with(_command(), 0x0110, b"\x07\x00\x08\x00"),
    "unknown-element": lambda: _command() + _element(0x5555, b"\x00\x00"),
    "other-group": lambda: _command() + struct.pack("<HHL", 0x0008, 0x0018, 2) + b"1\x00",
    "cut-short": lambda: _command()[:-3],
    "no-priority": lambda: _with(_command(), 0x0700, None),
}


@pytest.mark.parametrize("name", list(LEFT_TO_PYNETDICOM))
def test_anything_unusual_is_left_to_pynetdicom(name: str) -> None:
    command = LEFT_TO_PYNETDICOM[name]()
    assert parse_store_command(command) is None


def test_a_value_pynetdicom_refuses_leaves_the_request_to_pynetdicom() -> None:
    values = parse_store_command(_command())
    assert values is not None
    for name, value in (("MessageID", 70000), ("Priority", 5), ("AffectedSOPInstanceUID", "1." * 35),
                        ("AffectedSOPClassUID", "")):
        assert _primitive({**values, name: value}, 1) is None, name
