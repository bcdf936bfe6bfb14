"""C-STORE requests received without pynetdicom's per-PDU objects (issue 9).

For every P-DATA-TF PDU pynetdicom copies the bytes four times (into the PDU buffer, to
`bytes`, into each PDV item, without the control header), builds a PDU object, runs
the state machine, decodes the command set with pydicom and, for a C-STORE, writes each
fragment to the temporary file. For a 0.5 MB object in four 128 KB PDUs that was about
half a millisecond per PDU on the association's thread, while the modality waited.

`StoreRequestReceiver` takes the P-DATA-TF PDUs of an established association (Sta6,
where P-DATA leaves the state unchanged: DT-2) whose body `ListenerDUL` has read into a
reused buffer, and handles the common case itself:
- a C-STORE request whose command set holds only the elements PS3.7 9.3.1.1 lists, on an
  accepted context, announcing a data set: its File Meta and data fragments go straight
  into the same `ChunkFile` pynetdicom would have written, and the finished request goes
  to the association's DIMSE queue as the same `C_STORE` primitive, built with
  pynetdicom's own validating setters;
- anything else (another service, an unusual command set, a malformed PDU, a message
  pynetdicom has begun) is handed to pynetdicom as PDU bytes, and pynetdicom does what it
  always did, errors and aborts included. A command it refuses is handed over before
  anything is written, so it decides exactly as before.

Within a message this receiver has begun, a command fragment where a data fragment is due
is a protocol error (PS3.8 §9.3.5.1, Annex E): the association is aborted with that reason.
"""

from __future__ import annotations

import logging
import struct
from io import BytesIO
from pathlib import Path
from typing import Any

from pynetdicom import evt
from pynetdicom.dimse_primitives import C_STORE

from intu_desktop.dicom.store_response import _ITEM_HEAD, _NO_DATA_SET, _PDU_HEAD, encode_p_data
from intu_desktop.dicom.transport import FileMeta, _chunk_file_factory, write_file_meta

log = logging.getLogger(__name__)

# Events whose handlers expect pynetdicom's objects (a PDU, a DIMSE message, FSM steps):
# with any bound, every PDU takes pynetdicom's path.
_OBSERVED = (evt.EVT_DATA_RECV, evt.EVT_PDU_RECV, evt.EVT_FSM_TRANSITION, evt.EVT_DIMSE_RECV)
_C_STORE_RQ = 0x0001
_US = {0x0100: "CommandField", 0x0110: "MessageID", 0x0700: "Priority",
       0x0800: "CommandDataSetType", 0x1031: "MoveOriginatorMessageID"}
_UI = {0x0002: "AffectedSOPClassUID", 0x1000: "AffectedSOPInstanceUID"}
_GROUP_LENGTH = 0x0000
_ELEMENT_HEAD = struct.Struct("<HHL")  # command sets are implicit VR little endian (PS3.7 6.3.1)


def parse_store_command(command: bytes | bytearray | memoryview) -> dict[str, Any] | None:
    """The values of a C-STORE-RQ command set, or None when pynetdicom should decode it
    (another command, an element this parser does not know, a repeated or odd-length one)."""
    values: dict[str, Any] = {}
    pos, end = 0, len(command)
    while pos < end:
        if end - pos < 8:
            return None
        group, element, length = _ELEMENT_HEAD.unpack_from(command, pos)
        pos += 8
        if group != 0x0000 or end - pos < length:
            return None
        raw = command[pos:pos + length]
        pos += length
        if element in _US:
            if length != 2:
                return None
            name, value = _US[element], raw[0] | (raw[1] << 8)
        elif element in _UI:
            # pydicom's convert_UI: the default character set, trailing nulls and spaces off.
            name, value = _UI[element], bytes(raw).decode("latin-1").rstrip("\0 ")
        elif element == _GROUP_LENGTH and length == 4:
            continue  # pydicom does not check it either
        else:
            return None  # Move Originator AE Title and anything else: pynetdicom's path
        if name in values:
            return None
        values[name] = value
    if (values.get("CommandField") != _C_STORE_RQ or values.get("CommandDataSetType", _NO_DATA_SET) == _NO_DATA_SET
            or not all(k in values for k in ("MessageID", "Priority", "AffectedSOPClassUID", "AffectedSOPInstanceUID"))):
        return None
    return values


def _primitive(values: dict[str, Any], context_id: int) -> C_STORE | None:
    """The C_STORE pynetdicom's message_to_primitive builds from these values, or None if
    one of its setters refuses or drops a value (pynetdicom then decides what happens)."""
    req = C_STORE()
    try:
        for name, value in values.items():
            if name not in ("CommandField", "CommandDataSetType"):
                setattr(req, name, value)
                if getattr(req, name) is None:
                    return None
    except Exception:  # a setter's ValueError/TypeError: pynetdicom's path raises it again
        return None
    req.DataSet = BytesIO()
    req._context_id = context_id
    return req


class StoreRequestReceiver:
    """One association's C-STORE requests, fragment by fragment (see the module docstring)."""

    def __init__(self, assoc: Any) -> None:
        self.assoc = assoc
        self._command = bytearray()  # command fragments of a message not yet decided
        self._request: C_STORE | None = None  # a C-STORE whose data set is arriving
        self._chunk: Any = None
        self._usable: bool | None = None

    def usable(self) -> bool:
        """No bound handler wants pynetdicom's objects, and pynetdicom has no message open."""
        if self._usable is None:
            self._usable = not any(self.assoc.get_handlers(event) for event in _OBSERVED)
        return self._usable and (self.busy or self.assoc.dimse.message is None)

    @property
    def busy(self) -> bool:
        return self._request is not None or bool(self._command)

    def feed(self, body: memoryview) -> bytes | None:
        """Handle one P-DATA-TF PDU body (the bytes after its 6-byte header).

        Returns None when handled, or PDU bytes for pynetdicom to decode and act on: the
        whole PDU, or the PDV items from a command this receiver leaves to pynetdicom.
        """
        items = self._items(body)
        if items is None:
            if self.busy:
                self._protocol_error("a P-DATA-TF PDU whose item lengths do not add up")
                return None
            return self._whole(body)  # pynetdicom's decoding fails and aborts, as it always did
        if not self.busy and (not items or not body[items[0][1]] & 1):
            return self._whole(body)  # not a command first: pynetdicom's rules apply
        for n, (cx, start, end) in enumerate(items):
            control = body[start]
            fragment = body[start + 1:end]
            if self._request is not None:
                if control & 1:
                    self._protocol_error("a command fragment arrived in the middle of a data set")
                    return None
                self._chunk.write(fragment)
                self._chunk.flush_quietly()
                if control & 2:
                    self._dispatch()
                    if not self.assoc.is_established:
                        return None  # the request ended the association: ignore what follows
                continue
            if not control & 1:
                self._protocol_error("a data set fragment arrived before its command was complete")
                return None
            self._command += fragment
            if not control & 2:
                continue
            if not self._begin(cx):
                rest = [(c, bytes(body[s:e])) for c, s, e in items[n + 1:]]
                handed = encode_p_data([(cx, b"\x03" + bytes(self._command)), *rest])
                self._reset()
                return handed
        return None

    @staticmethod
    def _items(body: memoryview) -> list[tuple[int, int, int]] | None:
        """(context ID, value start, value end) of each PDV item, or None if malformed."""
        items = []
        pos, end = 0, len(body)
        while pos < end:
            if end - pos < 6:
                return None
            length, cx = _ITEM_HEAD.unpack_from(body, pos)
            if length < 2 or pos + 4 + length > end:
                return None
            items.append((cx, pos + 5, pos + 4 + length))
            pos += 4 + length
        return items

    @staticmethod
    def _whole(body: memoryview) -> bytes:
        return _PDU_HEAD.pack(0x04, 0, len(body)) + bytes(body)

    def _begin(self, cx: int) -> bool:
        """Decode a complete command; True when it is a C-STORE this receiver takes."""
        values = parse_store_command(self._command)
        context = self.assoc._accepted_cx.get(cx)
        if values is None or context is None:
            return False
        req = _primitive(values, cx)
        if req is None:
            return False
        # What pynetdicom's decode_msg writes first: the preamble and the File Meta group.
        chunk = _chunk_file_factory()
        chunk.write(b"\x00" * 128)
        chunk.write(b"DICM")
        write_file_meta(chunk, FileMeta(sop_class_uid=values["AffectedSOPClassUID"],
                                        sop_instance_uid=values["AffectedSOPInstanceUID"],
                                        transfer_syntax=context.transfer_syntax[0]))
        req._dataset_path = Path(chunk.name)
        req._dataset_file = chunk
        self._request, self._chunk = req, chunk
        self._command.clear()
        return True

    def _dispatch(self) -> None:
        req = self._request
        assert req is not None
        self._reset()
        # Where pynetdicom's receive_primitive puts a finished request: the C-STORE is served
        # on this thread (reactor._StoreInlineQueue), anything unusual on the association's.
        self.assoc.dimse.msg_queue.put((req._context_id, req))

    def _reset(self) -> None:
        self._command.clear()
        self._request = None
        self._chunk = None

    def _protocol_error(self, what: str) -> None:
        self.abort(f"the peer broke the DICOM message structure: {what} (PS3.8 Annex E)")

    def abort(self, reason: str) -> None:
        """End the association with an A-ABORT, saying why; a partial data set is discarded."""
        assoc = self.assoc
        log.warning("aborting association from %s: %s", assoc.requestor.address, reason)
        if not getattr(assoc, "_intu_abort_reason", ""):
            assoc._intu_abort_reason = reason
        if self._chunk is not None:
            self._chunk.discard()
        self._reset()
        assoc.dul.event_queue.put("Evt19")  # invalid PDU: AA-8 sends the A-ABORT and closes
