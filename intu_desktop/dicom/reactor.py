"""Event-driven versions of pynetdicom's two polling loops (issue 9).

pynetdicom's association reactor sleeps 1 ms before every look at the DIMSE queue, and
its DUL sleeps 1 ms whenever a loop found nothing to do. Every C-STORE crosses both loops
two or three times, so a 16 KB object pays several milliseconds of pure waiting. These
subclasses keep pynetdicom's logic line for line but wait *on* the thing they poll: the
reactor blocks on the DIMSE queue (the DUL nudges it when it hands up a release or an
abort), the DUL blocks in select() on its socket and on a wake pipe that every outgoing
primitive (our C-STORE responses) writes to. They wake the moment there is work.

The DUL also hands an established association's P-DATA-TF PDUs to `StoreRequestReceiver`
(store_request.py), which takes C-STORE requests without pynetdicom's per-PDU objects.
"""

from __future__ import annotations

import logging
import queue
import select
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any, cast

from pynetdicom import evt
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.dul import DULServiceProvider
from pynetdicom.pdu import A_ABORT_RQ

from intu_desktop.dicom.store_request import StoreRequestReceiver
from intu_desktop.dicom.store_response import ListenerDIMSE
from intu_desktop.dicom.transport import ListenerSocket

log = logging.getLogger("pynetdicom.dul")

# Both loops wake on the events they serve (socket, wake pipe, queues); this wait only
# paces their timer checks (ARTIM, idle time-out: seconds), so idle associations do not
# take the GIL a thousand times a second each (ten senders, a painting window: issue 9).
_IDLE_WAIT = 0.05


class _WakingQueue(queue.Queue):  # type: ignore[type-arg]
    """A queue whose put() also calls `wake` (the consumer's loop waits on something else)."""

    def __init__(self, wake: Callable[[], None]) -> None:
        super().__init__()
        self._wake = wake

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        self._wake()


class ListenerDUL(DULServiceProvider):
    def __init__(self, assoc: Any) -> None:
        super().__init__(assoc)
        # The association thread hands the DUL its outgoing primitives (C-ECHO answers,
        # release and abort): wake it at once instead of at its next timer tick. C-STORE
        # answers come from the DUL thread itself (_StoreInlineQueue), so do not wait.
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.to_provider_queue = _WakingQueue(self.wake)
        # What the DUL hands up (release request, abort) wakes the association's reactor,
        # which otherwise waits on the DIMSE queue; (None, None) is pynetdicom's own nudge.
        self.to_user_queue = _WakingQueue(self._nudge_reactor)
        self.store_receiver = StoreRequestReceiver(assoc)

    def wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:  # buffer full (wake-ups pending anyway) or closed at the end
            pass

    def _nudge_reactor(self) -> None:
        self.assoc.dimse.msg_queue.put((None, None))

    def kill_dul(self) -> None:
        super().kill_dul()
        self.wake()

    def stop_dul(self) -> bool:
        if self.state_machine.current_state == "Sta1":
            self._kill_thread = True
            self.wake()
            if threading.current_thread() is not self:
                self.join()
            return True
        return False

    def run_reactor(self) -> None:
        try:
            self._run_loop()
        finally:
            self._nudge_reactor()  # the reactor checks dul.is_alive()
            self._wake_r.close()
            self._wake_w.close()

    def _run_loop(self) -> None:
        self._idle_timer.start()
        sleep = False
        while True:
            if not self.assoc._dul_ready.is_set():
                self.assoc._dul_ready.set()
                sleep = True
            if sleep:
                self._wait_for_data()
            if self._kill_thread:
                break
            if self.artim_timer.expired:
                self.event_queue.put("Evt18")
            try:
                if self._process_recv_primitive():
                    pass
                elif self._is_transport_event():
                    self._idle_timer.restart()
            except Exception as exc:
                log.error("Exception in DUL.run(), aborting association")
                log.exception(exc)
                abort_pdu = A_ABORT_RQ()
                abort_pdu.source = 0x02
                abort_pdu.reason_diagnostic = 0x00
                self.socket.send(abort_pdu.encode())  # type: ignore[union-attr]
                self.assoc.is_aborted = True
                self.assoc.is_established = False
                self.assoc._kill = True
                self._kill_thread = True
                return
            try:
                event = self.event_queue.get(block=False)
            except queue.Empty:
                sleep = True
                continue
            self.state_machine.do_action(event)
            sleep = False

    def _read_pdu_data(self) -> None:
        """pynetdicom's, except that an established association's P-DATA-TF PDU is read into
        a reused buffer and offered to the C-STORE receiver first (store_request.py)."""
        sock = self.socket
        receiver = self.store_receiver
        if (self.state_machine.current_state != "Sta6" or not isinstance(sock, ListenerSocket)
                or not receiver.usable()):
            super()._read_pdu_data()
            return
        try:
            header = sock.recv(6)
        except (OSError, TimeoutError) as exc:
            self._connection_lost(exc)
            return
        if len(header) != 6 or header[0] != 0x04:
            sock.unread(header)  # not P-DATA: pynetdicom reads it again and goes on as ever
            super()._read_pdu_data()
            return
        (length,) = struct.unpack_from(">L", header, 2)
        try:
            body = sock.recv_reused(length)
        except (OSError, TimeoutError) as exc:
            self._connection_lost(exc)
            return
        if len(body) != length:
            log.error(f"The received PDU is shorter than expected ({6 + len(body)} of {6 + length} bytes received)")
            self.event_queue.put("Evt17")
            return
        try:
            passed = receiver.feed(body)
        except Exception as exc:  # e.g. the temporary file cannot be made
            log.exception("C-STORE data could not be taken")
            receiver.abort(f"the received data could not be written: {type(exc).__name__}: {exc}")
            return
        if passed is None:
            return
        try:  # pynetdicom's own decoding and events for what the receiver passed on
            pdu, event = self._decode_pdu(passed)  # type: ignore[arg-type]
            self.event_queue.put(event)
        except Exception as exc:
            log.error("Unable to decode the received PDU data")
            log.exception(exc)
            self.event_queue.put("Evt19")
            return
        self._recv_pdu.put(pdu)

    def _connection_lost(self, exc: BaseException) -> None:
        """pynetdicom's READ_PDU_EXC_A/D: the read failed, the transport is gone (Evt17)."""
        log.error("Connection closed before the entire PDU was received")
        log.exception(exc)
        self.event_queue.put("Evt17")

    def _wait_for_data(self) -> None:
        """Sleep until the peer sends something, at most one timer tick."""
        if self.to_provider_queue.qsize() or getattr(self.socket, "buffered", 0):
            return  # work queued, or bytes the socket read ahead (ListenerSocket._fill)
        sock = getattr(self.socket, "socket", None)
        pending = getattr(sock, "pending", None)  # TLS may hold decrypted bytes select cannot see
        if pending is not None and pending():
            return
        watched = [self._wake_r] if sock is None else [sock, self._wake_r]
        try:
            ready, _w, _x = select.select(watched, [], [], _IDLE_WAIT)
        except (OSError, ValueError):
            return
        if self._wake_r in ready:
            try:
                while self._wake_r.recv(4096):
                    pass
            except OSError:  # drained (BlockingIOError) or closed
                pass


class _StoreInlineQueue(queue.Queue):  # type: ignore[type-arg]
    """The DIMSE message queue, except that C-STORE requests are served where they arrive.

    pynetdicom decodes a request in the DUL thread, queues it for the association thread,
    which runs the handler and queues the response back to the DUL thread: two thread
    hand-offs per object, each a chance for the thread holding the GIL to be descheduled
    (about a tenth of the receive path's time with a painting window). The sender waits for
    each response anyway, so the DUL thread runs the C-STORE handler itself and sends the
    answer on its next turn. Everything else (C-ECHO, a request on an unknown context,
    anything that may abort) still goes to the association thread, which is free to
    abort or release.
    """

    def __init__(self, assoc: ListenerAssociation) -> None:
        super().__init__()
        self._assoc = assoc

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        context_id, msg = item
        assoc = self._assoc
        if (isinstance(msg, C_STORE) and msg.is_valid_request and context_id in assoc._accepted_cx
                and not assoc._sent_release and assoc.is_established):
            assoc.serving_inline = True
            try:
                assoc._serve_request(msg, context_id)
            finally:
                assoc.serving_inline = False
                assoc.dul._idle_timer.restart()  # the handler's time is not the peer's silence
            return
        super().put(item, block, timeout)


class ListenerAssociation(Association):
    """An acceptor whose reactor waits on the DIMSE queue instead of sleeping before it."""

    serving_inline = False

    def __init__(self, ae: Any, mode: str) -> None:
        super().__init__(ae, mode)
        self.dul = ListenerDUL(self)
        self.dimse = ListenerDIMSE(self)
        self.dimse.msg_queue = _StoreInlineQueue(self)
        # The ARTIM and idle timers live in the DUL: pynetdicom gave the AE's timeouts to the
        # one just replaced (found by tests/reliability/test_rel_idle_peers.py).
        self.acse_timeout = self.acse_timeout
        self.network_timeout = self.network_timeout

    def _abort_blocking(self, block: bool = True) -> None:
        if threading.current_thread() is self.dul:
            # pynetdicom aborts when serving a request fails; for a C-STORE served inline
            # that is the DUL thread, which cannot wait for itself to reach Sta1: queue the
            # A-ABORT and let the association thread end the association.
            super()._abort_blocking(block=False)
            self.dimse.msg_queue.put((None, None))
            return
        super()._abort_blocking(block)

    def _run_reactor(self) -> None:
        self._is_paused = False
        msg_queue = self.dimse.msg_queue
        while not self._kill:
            self._is_paused = True
            self._reactor_checkpoint.wait()
            self._is_paused = False
            try:
                context_id, msg = msg_queue.get(timeout=_IDLE_WAIT)
            except queue.Empty:
                context_id, msg = None, None
            if msg:
                self._serve_request(msg, cast(int, context_id))
            if self._sent_abort and not self._kill:  # an abort queued by the DUL thread
                self.kill()
                return
            if self.is_established and self.acse.is_release_requested():
                self.acse.send_release(is_response=True)
                self.is_released = True
                self.is_established = False
                evt.trigger(self, evt.EVT_RELEASED, {})
                self.kill()
                return
            if self.acse.is_aborted():
                self.dul.receive_pdu(wait=False)
                self.is_aborted = True
                self.is_established = False
                evt.trigger(self, evt.EVT_ABORTED, {})
                self.kill()
                return
            if not self.dul.is_alive():
                self.kill()
                return
            if self.dul.idle_timer_expired() and not self.serving_inline:
                log.error("Network timeout reached")
                if self.network_timeout_response == "A-RELEASE":
                    self._is_paused = True
                    self._reactor_checkpoint.wait()
                    self.release()
                    self._is_paused = False
                else:
                    self.abort()
                self.kill()
                return
