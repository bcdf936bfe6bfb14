"""Issue 9 / RELIABILITY 10, 17: C-STORE requests taken without pynetdicom's per-PDU objects
(dicom/store_request.py), and the folder sync that runs beside the index statements.

The fast path must store exactly what pynetdicom's path stores, leave to pynetdicom what it
does not know, and turn a broken message structure into an A-ABORT that says why.
"""

from __future__ import annotations

import errno
import logging
import socket
import struct
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from dicomtools import copies_with_new_uids, echoscu, sample, storescu, wait_for
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_messages import C_STORE_RQ
from pynetdicom.dimse_primitives import C_STORE
from rel_pdus import (
    CT_IMAGE,
    EXPLICIT_LE,
    AssociateRQ,
    Context,
    pdu,
    read_pdu,
    read_until_closed,
    release_rq,
)

from intu_desktop.dicom.storage import InstanceStore, StoreFull
from intu_desktop.dicom.store_request import StoreRequestReceiver

CT = CT_IMAGE.decode()


def _stored(receiver) -> list[Path]:  # type: ignore[no-untyped-def]
    return sorted((receiver.data / "store").rglob("*.dcm"))


def _data_set(path: Path) -> bytes:
    """The data set, encoded again, without trailing padding (storescu drops it)."""
    ds = pydicom.dcmread(path)
    if 0xFFFCFFFC in ds:
        del ds[0xFFFCFFFC]
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_dataset(fp, ds)
    return fp.getvalue()


def _after_meta(path: Path) -> bytes:
    raw = path.read_bytes()
    group_length = struct.unpack_from("<L", raw, 132 + 8)[0]
    return raw[132 + 12 + group_length:]


def test_a_storescu_transfer_never_reaches_pynetdicoms_dimse_decoding(receiver, monkeypatch, tmp_path: Path) -> None:
    decoded: list[object] = []
    original = DIMSEServiceProvider.receive_primitive
    monkeypatch.setattr(DIMSEServiceProvider, "receive_primitive",
                        lambda self, primitive: (decoded.append(primitive), original(self, primitive))[1])
    rx = receiver()
    objects = copies_with_new_uids(sample("CT_small.dcm"), tmp_path / "objects", 3)
    assert storescu(rx.port, objects).returncode == 0
    assert rx.count() == 3
    assert decoded == []  # every P-DATA of the three C-STOREs went through the fast path
    assert echoscu(rx.port).returncode == 0
    assert len(decoded) == 1  # a C-ECHO is pynetdicom's
    for source in objects:
        ds = pydicom.dcmread(source)
        stored = next(p for p in _stored(rx) if p.stem == ds.SOPInstanceUID)
        assert _data_set(stored) == _data_set(source)


def test_the_file_is_byte_for_byte_the_one_pynetdicoms_path_writes(receiver, monkeypatch) -> None:
    fast = receiver(name="fast")
    assert storescu(fast.port, [sample("CT_small.dcm")]).returncode == 0
    monkeypatch.setattr(StoreRequestReceiver, "usable", lambda self: False)
    slow = receiver(name="slow")
    assert storescu(slow.port, [sample("CT_small.dcm")]).returncode == 0
    [a], [b] = _stored(fast), _stored(slow)
    assert a.read_bytes() == b.read_bytes()


# -- raw PDUs: fragments the way other modalities cut them ------------------------------
SOP = "1.2.826.0.1.3680043.8.498.777"


def _command(sop: str = SOP, message_id: int = 1, **fields: object) -> bytes:
    primitive = C_STORE()
    primitive.MessageID = message_id
    primitive.AffectedSOPClassUID = CT
    primitive.AffectedSOPInstanceUID = sop
    primitive.Priority = 0
    for name, value in fields.items():
        setattr(primitive, name, value)
    primitive.DataSet = BytesIO(b"\x00")
    message = C_STORE_RQ()
    message.primitive_to_message(primitive)
    return bytes(next(iter(message.encode_msg(1, 1 << 20))).presentation_data_value_list[0][1][1:])


def _dataset(sop: str = SOP) -> bytes:
    ds = pydicom.dcmread(sample("CT_small.dcm"))
    ds.SOPInstanceUID = sop
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_dataset(fp, ds)
    return fp.getvalue()


def _pdv(context_id: int, payload: bytes, *, command: bool, last: bool) -> bytes:
    value = bytes([context_id, (1 if command else 0) | (2 if last else 0)]) + payload
    return struct.pack(">L", len(value)) + value


def _associated(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(AssociateRQ(contexts=[Context(1), Context(3, CT_IMAGE, (EXPLICIT_LE,))], max_pdu=1 << 20).encode())
    assert read_pdu(sock)[0] == 0x02
    return sock


def _status(body: bytes) -> int:
    """The Status (0000,0900) of a C-STORE-RSP in one PDV (implicit VR little endian)."""
    command, pos = body[6 + 6:], 0
    while pos < len(command):
        _group, element, length = struct.unpack_from("<HHL", command, pos)
        if element == 0x0900:
            return int(struct.unpack_from("<H", command, pos + 8)[0])
        pos += 8 + length
    raise AssertionError("no status in the response")


def _store_and_release(sock: socket.socket, pdus: list[bytes]) -> int:
    for one in pdus:
        sock.sendall(one)
    pdu_type, body = read_pdu(sock)
    assert pdu_type == 0x04, f"PDU type {pdu_type}"
    sock.sendall(release_rq())
    assert read_pdu(sock)[0] == 0x06
    return _status(bytes(struct.pack(">BBL", 4, 0, len(body)) + body))


def test_fragments_cut_anywhere_are_stored(receiver) -> None:
    rx = receiver()
    command, data = _command(), _dataset()
    third = len(data) // 3
    with _associated(rx.port) as sock:
        status = _store_and_release(sock, [
            pdu(0x04, _pdv(3, command[:10], command=True, last=False)),  # the command in two PDUs
            pdu(0x04, _pdv(3, command[10:], command=True, last=True)
                + _pdv(3, data[:third], command=False, last=False)  # and data in the same PDU
                + _pdv(3, data[third:2 * third], command=False, last=False)),
            pdu(0x04, _pdv(3, data[2 * third:], command=False, last=True)),
        ])
    assert status == 0x0000
    [stored] = _stored(rx)
    assert stored.name == f"{SOP}.dcm"
    assert _after_meta(stored) == data


def test_two_requests_in_one_pdu_are_both_answered(receiver) -> None:
    rx = receiver()
    second = SOP + ".2"
    with _associated(rx.port) as sock:
        sock.sendall(pdu(0x04, _pdv(3, _command(), command=True, last=True) + _pdv(3, _dataset(), command=False, last=True)
                         + _pdv(3, _command(second, 2), command=True, last=True)
                         + _pdv(3, _dataset(second), command=False, last=True)))
        for _ in range(2):
            pdu_type, body = read_pdu(sock)
            assert pdu_type == 0x04 and _status(struct.pack(">BBL", 4, 0, len(body)) + body) == 0
        sock.sendall(release_rq())
        assert read_pdu(sock)[0] == 0x06
    assert sorted(p.name for p in _stored(rx)) == sorted([f"{SOP}.dcm", f"{second}.dcm"])


def test_a_command_pynetdicom_must_decode_is_still_stored(receiver) -> None:
    """A C-STORE from a C-MOVE carries the Move Originator AE Title: pynetdicom's path."""
    rx = receiver()
    with _associated(rx.port) as sock:
        status = _store_and_release(sock, [
            pdu(0x04, _pdv(3, _command(MoveOriginatorApplicationEntityTitle="PACS", MoveOriginatorMessageID=9),
                           command=True, last=True)),
            pdu(0x04, _pdv(3, _dataset(), command=False, last=True)),
        ])
    assert status == 0x0000
    assert [p.name for p in _stored(rx)] == [f"{SOP}.dcm"]


BROKEN = {
    "command-inside-a-data-set": lambda: [
        pdu(0x04, _pdv(3, _command(), command=True, last=True) + _pdv(3, _dataset()[:100], command=False, last=False)),
        pdu(0x04, _pdv(3, _command(), command=True, last=True)),
    ],
    "data-before-the-command-ends": lambda: [
        pdu(0x04, _pdv(3, _command()[:10], command=True, last=False) + _pdv(3, b"\x00" * 8, command=False, last=True)),
    ],
    "lengths-that-do-not-add-up-mid-data-set": lambda: [
        pdu(0x04, _pdv(3, _command(), command=True, last=True) + _pdv(3, _dataset()[:100], command=False, last=False)),
        pdu(0x04, struct.pack(">L", 5000) + b"\x03\x00" + b"\x00" * 10),
    ],
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_message_structure_is_aborted_with_its_reason(receiver, caplog: pytest.LogCaptureFixture,
                                                              name: str) -> None:
    caplog.set_level(logging.INFO)
    rx = receiver()
    with _associated(rx.port) as sock:
        for one in BROKEN[name]():
            sock.sendall(one)
        reply = read_until_closed(sock, deadline_s=15)
    assert reply.closed and reply.names[:1] == ["A-ABORT"], reply.names
    wait_for(lambda: "broke the DICOM message structure" in caplog.text, timeout=10)
    # The partial data set is gone with the association; the listener still answers.
    assert wait_for(lambda: not [p for p in (rx.data / "tmp").iterdir() if p.stat().st_size > 0], timeout=10)
    assert _stored(rx) == []
    assert echoscu(rx.port).returncode == 0


def test_the_next_objects_file_is_made_ahead_and_goes_with_its_association(receiver) -> None:
    rx = receiver()
    tmp = rx.data / "tmp"
    with _associated(rx.port) as sock:
        sock.sendall(pdu(0x04, _pdv(3, _command(), command=True, last=True) + _pdv(3, _dataset(), command=False, last=True)))
        assert read_pdu(sock)[0] == 0x04
        # Answered: the next object's file is made (after the response), empty.
        assert wait_for(lambda: len(list(tmp.iterdir())) == 1, timeout=10)
        [spare] = list(tmp.iterdir())
        assert spare.name.startswith("rx-") and spare.stat().st_size == 0
        second = SOP + ".2"
        sock.sendall(pdu(0x04, _pdv(3, _command(second, 2), command=True, last=True)
                         + _pdv(3, _dataset(second), command=False, last=True)))
        assert read_pdu(sock)[0] == 0x04
        assert not spare.exists()  # it became the second object, stored under its own name
        sock.sendall(release_rq())
        assert read_pdu(sock)[0] == 0x06
    assert wait_for(lambda: not list(tmp.iterdir()), timeout=10)  # the unused one went with the association
    assert sorted(p.name for p in _stored(rx)) == sorted([f"{SOP}.dcm", f"{second}.dcm"])


def test_a_folder_that_cannot_reach_the_disk_leaves_no_row_and_no_file(receiver, monkeypatch) -> None:
    """The index commits only after the folder sync, and not at all when it fails."""
    def full(self: InstanceStore, folder: Path) -> None:
        raise StoreFull(errno.ENOSPC, "cannot write to the store: No space left on device")

    rx = receiver()
    monkeypatch.setattr(InstanceStore, "sync_folder", full)
    refused = storescu(rx.port, [sample("CT_small.dcm")], extra=["-v"])
    assert "Refused: OutOfResources" in refused.stderr, refused.stderr  # 0xA700
    assert rx.count() == 0
    assert _stored(rx) == []
    monkeypatch.undo()
    assert storescu(rx.port, [sample("CT_small.dcm")]).returncode == 0
    assert rx.count() == 1


def test_bookkeeping_runs_after_the_response_is_on_its_way(receiver, monkeypatch) -> None:
    """Events, the log line, the pipeline hand-over and the next object's temporary file
    overlap the modality's next object."""
    from intu_desktop.dicom import scp
    from intu_desktop.dicom.scp import ChannelListener
    from intu_desktop.dicom.transport import ListenerSocket

    order: list[str] = []
    send, after_store, prepare = ListenerSocket.send, ChannelListener._after_store, scp.prepare_next_chunk

    def sending(self: ListenerSocket, data: bytes) -> None:
        if data[:1] == b"\x04":
            order.append("response")
        send(self, data)

    def bookkeeping(self: ChannelListener, *args: object) -> None:
        order.append("bookkeeping")
        after_store(self, *args)

    monkeypatch.setattr(ListenerSocket, "send", sending)
    monkeypatch.setattr(ChannelListener, "_after_store", bookkeeping)
    monkeypatch.setattr(scp, "prepare_next_chunk", lambda assoc: (order.append("next file"), prepare(assoc))[1])
    rx = receiver()
    assert storescu(rx.port, [sample("CT_small.dcm")]).returncode == 0
    assert order == ["response", "next file", "bookkeeping"]
    assert rx.count() == 1
