"""Defences against hostile or broken peers that pynetdicom 3.0.4 lacks (PS3.8 §9).

Found by tests/reliability/test_rel_hostile_pdus.py:
- An unrecognised item or user-information sub-item in an A-ASSOCIATE-RQ raises KeyError
  and the association is aborted, although PS3.7 D.3.3 says such sub-items are ignored
  (RELIABILITY 4). We drop them before pynetdicom decodes the request.
- An even, zero or repeated presentation context id (PS3.8 §9.3.2.2: odd, 1–255, unique)
  kills the association's DUL thread with a ValueError; repeated ids are answered once, so
  the peer cannot tell which context won. We refuse such a request with an A-ABORT.
- An AE title with control characters is written raw to pynetdicom's log (a forged log
  line) before pynetdicom refuses it. We refuse it first, with the title escaped.
- A peer that stops in the middle of a PDU blocks the DUL thread in recv() for ever: the
  ARTIM and idle timers are only checked between PDUs. Reads now time out after the ACSE
  timeout before the association is established, after the network timeout once it is.
- A connection closed before its A-ASSOCIATE-RQ keeps its association thread waiting
  for the request until the ACSE timeout. We end the wait when the connection closes.
- An exception in a state machine action (a P-DATA whose command set is garbage, for
  example) kills the DUL thread: no A-ABORT, no record of why. We turn it into an invalid
  PDU event (Evt19), so the normal abort path runs (PS3.8 §9.2, AA-8).
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from pynetdicom.pdu import A_ASSOCIATE_RQ

from intu_desktop.dicom.transport import ListenerSocket, _abort_pdu

log = logging.getLogger(__name__)
T = TypeVar("T")

_FIXED = 68  # protocol version, reserved, called AE, calling AE, 32 reserved bytes (PS3.8 Table 9-11)
_TOP_ITEMS = {0x10, 0x20, 0x50}  # application context, presentation context, user information
_CONTEXT_SUB_ITEMS = {0x30, 0x40}  # abstract syntax, transfer syntax
_USER_SUB_ITEMS = set(range(0x51, 0x59))  # PS3.7 Annex D: 51H–58H may appear in a request
_INVALID_PARAMETER = 6  # A-ABORT reason: invalid-PDU-parameter value (PS3.8 Table 9-26)


class RequestRefused(Exception):
    """The A-ASSOCIATE-RQ breaks a rule the listener cannot work around; the text says which."""


def _items(data: bytes, where: str) -> Iterator[tuple[int, bytes]]:
    """(type, whole item bytes) for each item or sub-item; 2-byte lengths (PS3.8 §9.3.2)."""
    offset = 0
    while offset < len(data):
        if offset + 4 > len(data):
            raise RequestRefused(f"{where}: an item header is cut short")
        item_type, _reserved, length = struct.unpack(">BBH", data[offset:offset + 4])
        end = offset + 4 + length
        if end > len(data):
            raise RequestRefused(f"{where}: item 0x{item_type:02X} announces {length} bytes, only "
                                 f"{len(data) - offset - 4} follow")
        yield item_type, data[offset:end]
        offset = end


def _known(data: bytes, known: set[int], where: str, notes: list[str]) -> bytes:
    """The sub-items of `data` whose type is in `known`; a note for each one dropped."""
    kept = []
    for sub_type, sub in _items(data, where):
        if sub_type in known:
            kept.append(sub)
        else:
            notes.append(f"ignored an unrecognised sub-item of type 0x{sub_type:02X} in the {where} item")
    return b"".join(kept)


def _with_value(item: bytes, value: bytes) -> bytes:
    return item[:2] + struct.pack(">H", len(value)) + value


def _shown(raw: bytes) -> str:
    # ascii(): control characters come out escaped, so a title cannot forge a log line.
    return ascii(raw.rstrip(b" ").decode("latin-1"))


def _check_ae(raw: bytes, label: str) -> None:
    # PS3.5 Table 6.2-1, AE: default repertoire without backslash and control characters.
    if any(b < 0x20 or b >= 0x7F or b == 0x5C for b in raw):
        raise RequestRefused(f"the {label} AE title {_shown(raw)} contains control characters, "
                             f"backslashes or non-ASCII bytes, which an AE title may not (PS3.5 §6.2)")


def screen_associate_rq(body: bytes) -> tuple[bytes, list[str]]:
    """The request body (after the 6-byte PDU header) with unrecognised items removed, and
    a note per removed item. Raises RequestRefused when the request cannot be answered."""
    if len(body) < _FIXED:
        raise RequestRefused(f"the A-ASSOCIATE-RQ is {len(body)} bytes long, shorter than its fixed fields")
    _check_ae(body[4:20], "called")
    _check_ae(body[20:36], "calling")
    notes: list[str] = []
    kept: list[bytes] = []
    context_ids: set[int] = set()
    for item_type, item in _items(body[_FIXED:], "A-ASSOCIATE-RQ"):
        if item_type not in _TOP_ITEMS:
            notes.append(f"ignored an unrecognised item of type 0x{item_type:02X}")
            continue
        if item_type == 0x20:
            if len(item) < 8:
                raise RequestRefused("a presentation context item is shorter than its fixed fields")
            cx_id = item[4]
            if cx_id % 2 == 0:
                raise RequestRefused(f"presentation context id {cx_id} is even; ids are odd numbers "
                                     f"from 1 to 255 (PS3.8 §9.3.2.2)")
            if cx_id in context_ids:
                raise RequestRefused(f"presentation context id {cx_id} is proposed twice; each id must "
                                     f"be unique (PS3.8 §9.3.2.2)")
            context_ids.add(cx_id)
            subs = _known(item[8:], _CONTEXT_SUB_ITEMS, f"presentation context {cx_id}", notes)
            item = _with_value(item, item[4:8] + subs)
        elif item_type == 0x50:
            item = _with_value(item, _known(item[4:], _USER_SUB_ITEMS, "user information", notes))
        kept.append(item)
    screened = body[:_FIXED] + b"".join(kept)
    try:  # whatever else pynetdicom would choke on, it chokes on here, where we can say so
        rq = A_ASSOCIATE_RQ()
        rq.decode(struct.pack(">BBL", 0x01, 0, len(screened)) + screened)
        rq.to_primitive()
    except Exception as exc:
        raise RequestRefused(f"the A-ASSOCIATE-RQ cannot be decoded: {type(exc).__name__}: "
                             f"{ascii(str(exc))[1:-1][:200]}") from exc
    return screened, notes


class GuardedListenerSocket(ListenerSocket):
    """ListenerSocket with read deadlines, a screened A-ASSOCIATE-RQ and a guarded state machine."""

    _read_ahead: bytearray | None = None
    _timeout: float | None = None
    _machine_failed = False
    _request_seen = False

    def __init__(self, assoc: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(assoc, *args, **kwargs)
        machine = assoc.dul.state_machine
        run_action = machine.do_action

        def do_action(event: str) -> None:
            try:
                run_action(event)
            except Exception as exc:
                self._state_machine_failed(event, exc)

        machine.do_action = do_action  # the DUL thread calls it through the instance

    # -- reading -----------------------------------------------------------------------
    def recv(self, nr_bytes: int) -> bytearray:
        ahead = self._read_ahead
        if ahead is not None:  # pynetdicom now asks for the body length we announced
            self._read_ahead = None
            return ahead
        data = self._recv_with_deadline(nr_bytes)
        if nr_bytes != 6 or len(data) != 6 or data[0] != 0x01:
            return data
        (length,) = struct.unpack(">L", bytes(data[2:6]))
        body = self._recv_with_deadline(length)  # capped like every PDU
        if len(body) != length:
            self._read_ahead = body  # pynetdicom sees the short read and closes the connection
            return data
        try:
            screened, notes = screen_associate_rq(bytes(body))
        except RequestRefused as exc:
            refusal = str(exc)
        else:
            refusal = ""
        if refusal:
            self._refuse(refusal)
        self._request_seen = True  # pynetdicom gets it: the association thread will hear of it
        for note in notes:
            log.info("association request from %s: %s (PS3.7 D.3.3)", self.assoc.requestor.address, note)
        self._read_ahead = bytearray(screened)
        return bytearray(bytes(data[:2]) + struct.pack(">L", len(screened)))

    def recv_reused(self, nr_bytes: int) -> memoryview:
        return self._with_deadline(super().recv_reused, nr_bytes)

    def _recv_with_deadline(self, nr_bytes: int) -> bytearray:
        return self._with_deadline(super().recv, nr_bytes)

    def _with_deadline(self, read: Callable[[int], T], nr_bytes: int) -> T:
        assoc: Any = self.assoc
        timeout = assoc.network_timeout if assoc.is_established else assoc.acse_timeout
        sock = self.socket
        if sock is not None and timeout != self._timeout:
            sock.settimeout(timeout)
            self._timeout = timeout
        try:
            return read(nr_bytes)
        except TimeoutError:
            reason = (f"the peer stopped sending in the middle of a PDU for {timeout:g} s "
                      f"({'network' if assoc.is_established else 'ACSE'} timeout)")
            log.warning("closing the connection from %s: %s", assoc.requestor.address, reason)
            if not getattr(assoc, "_intu_abort_reason", ""):  # keep a first, better diagnosis
                assoc._intu_abort_reason = reason
            raise

    def _refuse(self, reason: str) -> None:
        log.warning("aborting association from %s: %s", self.assoc.requestor.address, reason)
        assoc: Any = self.assoc
        assoc._intu_abort_reason = reason
        sock = self.socket
        try:
            if sock is not None:
                sock.sendall(_abort_pdu(2, _INVALID_PARAMETER))
        except OSError:
            pass
        raise OSError(reason)

    def _shutdown_socket(self) -> None:
        super()._shutdown_socket()
        if not self._request_seen:
            # The association thread waits up to the ACSE timeout for the A-ASSOCIATE-RQ even
            # after the peer has gone; None is what that wait returns on timeout: stop now, so
            # a burst of short-lived connections does not pile up threads (RELIABILITY 5).
            self.assoc.dul.to_user_queue.put(None)

    # -- state machine -----------------------------------------------------------------
    def _state_machine_failed(self, event: str, exc: Exception) -> None:
        assoc: Any = self.assoc
        dul = assoc.dul
        reason = (f"the peer sent data the DICOM upper layer could not process "
                  f"({type(exc).__name__}: {ascii(str(exc))[1:-1][:120]})")
        if self._machine_failed:  # the abort itself failed: stop without ceremony
            log.error("association from %s: %s; closing the connection", assoc.requestor.address, reason)
            dul._kill_thread = True
            assoc._kill = True
            self._shutdown_socket()
            return
        self._machine_failed = True
        log.warning("aborting association from %s: %s", assoc.requestor.address, reason)
        if not getattr(assoc, "_intu_abort_reason", ""):
            assoc._intu_abort_reason = reason
        dul._kill_thread = False  # pynetdicom's do_action set it before re-raising
        dul.event_queue.put("Evt19")  # invalid PDU: AA-1 / AA-8 send the A-ABORT and close
