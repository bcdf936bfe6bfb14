"""The C-STORE response command set, encoded directly (issue 9).

pynetdicom turns every response primitive into a pydicom Dataset, encodes it with
pydicom's generic writer and sets the group length by encoding it twice: about a tenth
of the receive path's CPU for a 16 KB object. A C-STORE-RSP is a handful of fixed
elements (PS3.7 9.3.1.2), Implicit VR Little Endian like every command set (PS3.7 6.3.1),
so `ListenerDIMSE` writes those bytes itself; tests/unit/test_store_response.py checks
they equal pynetdicom's for every status this listener answers. Anything else (a
request, another service, an Offending Element, bound DIMSE events) takes pynetdicom's path.
"""

from __future__ import annotations

import struct
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from pynetdicom import evt
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.pdu_primitives import P_DATA

_C_STORE_RSP = 0x8001
_NO_DATA_SET = 0x0101
_PDU_HEAD = struct.Struct(">BBL")  # PDU type, reserved, PDU length (PS3.8 9.3.1)
_ITEM_HEAD = struct.Struct(">LB")  # PDV item length, presentation context ID (PS3.8 9.3.5.1)


def _element(element: int, value: bytes) -> bytes:
    return struct.pack("<HHL", 0x0000, element, len(value)) + value


def _ui(value: str) -> bytes:
    raw = value.encode("ascii")
    return raw + b"\x00" if len(raw) % 2 else raw


def _lo(value: str) -> bytes:
    raw = value.encode("latin-1", "replace")
    return raw + b" " if len(raw) % 2 else raw


def encode_store_response(rsp: C_STORE) -> bytes | None:
    """The command set of a C-STORE response, or None when pynetdicom should encode it."""
    if rsp.MessageIDBeingRespondedTo is None or rsp.Status is None or rsp.OffendingElement is not None:
        return None
    try:
        elements = []
        if rsp.AffectedSOPClassUID:
            elements.append(_element(0x0002, _ui(str(rsp.AffectedSOPClassUID))))
        elements.append(_element(0x0100, struct.pack("<H", _C_STORE_RSP)))
        elements.append(_element(0x0120, struct.pack("<H", int(rsp.MessageIDBeingRespondedTo))))
        elements.append(_element(0x0800, struct.pack("<H", _NO_DATA_SET)))
        elements.append(_element(0x0900, struct.pack("<H", int(rsp.Status))))
        if rsp.ErrorComment:
            elements.append(_element(0x0902, _lo(str(rsp.ErrorComment))))
        if rsp.AffectedSOPInstanceUID:
            elements.append(_element(0x1000, _ui(str(rsp.AffectedSOPInstanceUID))))
    except (UnicodeEncodeError, struct.error, ValueError):
        return None
    body = b"".join(elements)
    return _element(0x0000, struct.pack("<L", len(body))) + body


def encode_p_data(items: list[tuple[int, bytes]]) -> bytes:
    """A P-DATA-TF PDU of (presentation context ID, PDV value) items, as pynetdicom encodes it."""
    body = b"".join(_ITEM_HEAD.pack(len(value) + 1, cx) + value for cx, value in items)
    return _PDU_HEAD.pack(0x04, 0, len(body)) + body


def after_response(assoc: Any, work: Callable[[], None]) -> None:
    """Run `work` once the C-STORE response being prepared is sent (issue 9): a stored
    object's bookkeeping (events, the log line, the pipeline hand-over) then overlaps the
    modality's preparation of its next object instead of delaying the answer. Work left
    behind by a response that was never sent runs with the next request or when the
    association ends (`ListenerDIMSE.run_after_response`)."""
    dimse = getattr(assoc, "dimse", None)
    if isinstance(dimse, ListenerDIMSE):
        dimse.pending_after_response.append(work)
    else:
        work()


def run_left_behind(assoc: Any) -> None:
    """Run what `after_response` queued for a response that was never sent."""
    dimse = getattr(assoc, "dimse", None)
    if isinstance(dimse, ListenerDIMSE):
        dimse.run_after_response()


class ListenerDIMSE(DIMSEServiceProvider):
    def __init__(self, assoc: Any) -> None:
        super().__init__(assoc)
        self.pending_after_response: deque[Callable[[], None]] = deque()

    def run_after_response(self) -> None:
        """Run what `after_response` queued, each item once, whichever thread gets it."""
        pending = self.pending_after_response
        while True:
            try:
                work = pending.popleft()
            except IndexError:
                return
            work()

    def send_msg(self, primitive: Any, context_id: int) -> None:
        try:
            self._send_msg(primitive, context_id)
        finally:
            if isinstance(primitive, C_STORE):
                self.run_after_response()

    def _send_msg(self, primitive: Any, context_id: int) -> None:
        if (isinstance(primitive, C_STORE) and primitive.MessageIDBeingRespondedTo is not None
                and not self.assoc.get_handlers(evt.EVT_DIMSE_SENT)):
            command = encode_store_response(primitive)
            if command is not None and (not self.maximum_pdu_size or len(command) + 7 <= self.maximum_pdu_size):
                value = b"\x03" + command  # message control header: command, last fragment
                if self._may_send_directly():
                    # What the state machine's DT-1 sends for this P-DATA primitive (Sta6 stays
                    # Sta6), without the queue, the wake-up and the PDU objects (issue 9).
                    self.dul.socket.send(encode_p_data([(context_id, value)]))
                    return
                pdata = P_DATA()
                pdata.presentation_data_value_list.append((context_id, value))
                self.dul.send_pdu(pdata)
                return
        super().send_msg(primitive, context_id)

    def _may_send_directly(self) -> bool:
        """On the DUL thread itself (a C-STORE served inline), with nothing queued before
        this answer and nobody watching the PDUs or the state machine."""
        dul = self.dul
        return (threading.current_thread() is dul and dul.socket is not None
                and dul.state_machine.current_state == "Sta6" and not dul.to_provider_queue.qsize()
                and not self.assoc.get_handlers(evt.EVT_PDU_SENT)
                and not self.assoc.get_handlers(evt.EVT_FSM_TRANSITION))
