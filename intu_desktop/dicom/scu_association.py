"""Open an outgoing association and say in words why it failed or ended.

pynetdicom only *logs* why a connection failed (refused, timed out, TLS alert) and keeps
the A-ASSOCIATE-RJ and A-ABORT details on objects most callers never look at. The echo
and send tools, and the DICOM destination, need those reasons as text: this module
collects them while the association runs and turns them into words (names.py).
"""

from __future__ import annotations

import queue
import socket
import ssl
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.pdu import A_ABORT_RQ, A_ASSOCIATE_RJ
from pynetdicom.pdu_primitives import A_P_ABORT, MaximumLengthNotification
from pynetdicom.presentation import PresentationContext, build_context
from pynetdicom.transport import T_CONNECT, AddressInformation, AssociationSocket

from intu_desktop.dicom.names import (
    ABORT_REASON,
    CONTEXT_RESULT,
    abort_text,
    reject_text,
    sop_class_name,
)

_HAS_QUICKACK = sys.platform.startswith("linux") and hasattr(socket, "TCP_QUICKACK")
_MAX_SEND_PDU = 256 * 1024
_SEND_QUEUE = 128  # PDUs waiting: 2 MB at the usual 16 KB, never more than 32 MB
# PS3.8 §9.3.2: presentation context IDs are odd numbers 1..255, so at most 128 per request.
MAX_CONTEXTS = 128


@dataclass
class PeerSignals:
    """What the peer told us, collected from pynetdicom's threads while the association runs."""

    abort: tuple[int, int] | None = None  # (source, reason) of a received A-ABORT PDU
    # (result, source, reason) of a received A-ASSOCIATE-RJ PDU. pynetdicom may miss one: a
    # peer that rejects and closes at once can close the socket before the requesting
    # thread checks it is connected, and pynetdicom then aborts as if it never connected.
    reject: tuple[int, int, int] | None = None
    closed: bool = False  # the transport closed without an A-ABORT PDU (A-P-ABORT)
    sent_abort: tuple[int, int] | None = None  # (source, reason) of the A-ABORT we sent
    connect_error: OSError | None = None
    io_error: OSError | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class _DiagnosingSocket(AssociationSocket):
    """An AssociationSocket that keeps the exceptions pynetdicom only logs."""

    signals: PeerSignals

    def connect(self, primitive: T_CONNECT) -> None:
        # Mirrors pynetdicom 3.0.4 AssociationSocket.connect, and remembers the failure.
        if self.socket is None:
            raise ValueError("A socket must be created before connecting")
        try:
            if self.tls_args:
                context, server_hostname = self.tls_args
                self.socket = context.wrap_socket(
                    self.socket, server_side=False, server_hostname=server_hostname
                )
            self.socket.settimeout(self.assoc.connection_timeout)
            self.socket.connect(primitive.address_info.as_tuple)
            self.socket.settimeout(None)
            _no_delay(self.socket)
            self.assoc.requestor.address_info = AddressInformation.from_tuple(
                self.socket.getsockname()
            )
            self._is_connected = True
            evt.trigger(self.assoc, evt.EVT_CONN_OPEN, {"address": primitive.address_info.as_tuple})
            primitive.result = "Evt2"  # transport connection confirmation
            self.provider_queue.put(primitive)
        except OSError as exc:
            with self.signals.lock:
                self.signals.connect_error = exc
            if self.socket:
                self._shutdown_socket()
                self.socket = None
            primitive.result = "Evt17"  # transport connection closed
            self.provider_queue.put(primitive)
        finally:
            self._ready.set()

    def _shutdown_socket(self) -> None:
        # pynetdicom skips close() when shutdown() fails, which it does for a socket that
        # never connected or whose TLS session the peer ended: the descriptor would leak.
        sock = self.socket
        if sock is None:
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass

    def recv(self, nr_bytes: int) -> bytearray:
        _quick_ack(self.socket)
        try:
            return super().recv(nr_bytes)
        except OSError as exc:  # e.g. a TLS alert: the peer refused our client certificate
            with self.signals.lock:
                self.signals.io_error = exc
            raise


def _no_delay(sock: socket.socket) -> None:
    """A DIMSE message goes out as several PDUs (command, then data set); with Nagle's
    algorithm each small one waits for the peer to acknowledge the previous one."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


def _quick_ack(sock: socket.socket | None) -> None:
    """Acknowledge at once (Linux re-arms delayed ACKs after every read).

    Peers such as DCMTK write a response in two small pieces; with Nagle on their side
    the second waits for our delayed ACK, adding ~40 ms to every C-ECHO and C-STORE.
    """
    if sock is not None and _HAS_QUICKACK:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        except OSError:
            pass


class _SendQueue(queue.Queue[Any]):
    """pynetdicom's outgoing PDU queue, bounded so reading a file waits for the network.

    pynetdicom reads a streamed file PDU by PDU into an unbounded queue; on a network
    slower than the disk the whole file would end up in memory. Only our thread and the
    association's thread put here once the association is up (the DUL thread only
    takes), so waiting is safe; when the DUL has stopped nobody will send, so we drop.
    """

    def __init__(self, dul: Any, maxsize: int) -> None:
        super().__init__(maxsize)
        self._dul = dul

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if not block or timeout is not None:
            super().put(item, block, timeout)
            return
        while True:
            try:
                super().put(item, timeout=0.05)
                return
            except queue.Full:
                if not self._dul.is_alive() or self._dul.assoc.is_aborted:
                    return


def _bound_send_buffer(assoc: Association) -> None:
    """At most _SEND_QUEUE PDUs of at most _MAX_SEND_PDU bytes wait to be sent."""
    # PS3.8 §D.1: the peer's maximum is an upper bound, and 0 means "unlimited", which
    # pynetdicom takes as "send the whole data set as one PDU": read it whole.
    peer_max = assoc.acceptor.maximum_length
    if not peer_max or peer_max > _MAX_SEND_PDU:
        # The setter refuses once negotiation has started; the negotiated item itself is
        # what pynetdicom's DIMSE reads when it fragments, so lower it there.
        for item in assoc.acceptor.user_information:
            if isinstance(item, MaximumLengthNotification):
                item.maximum_length_received = _MAX_SEND_PDU
    dul = assoc.dul
    bounded = _SendQueue(dul, _SEND_QUEUE)
    old = dul.to_provider_queue
    while True:
        try:
            bounded.put_nowait(old.get_nowait())
        except queue.Empty:
            break
    dul.to_provider_queue = bounded


class _DiagnosingAE(AE):
    """An AE whose association sockets report into one PeerSignals."""

    def __init__(self, ae_title: str, signals: PeerSignals) -> None:
        super().__init__(ae_title=ae_title)
        self._signals = signals

    def _create_socket(
        self,
        assoc: Association,
        address: AddressInformation,
        tls_args: tuple[ssl.SSLContext, str] | None,
    ) -> AssociationSocket:
        sock = _DiagnosingSocket(assoc, address=address)
        sock.signals = self._signals
        sock.tls_args = tls_args
        return sock


@dataclass
class AssociationAttempt:
    """The outcome of one A-ASSOCIATE request; `reason` is empty when it was accepted."""

    assoc: Association | None  # None when the address could not even be resolved
    reason: str
    signals: PeerSignals
    timeout_s: float

    @property
    def established(self) -> bool:
        return self.assoc is not None and bool(self.assoc.is_established)

    def loss_reason(self) -> str:
        """Why an association that was up has gone (abort, closed connection, time-out)."""
        return _ended_reason(self.signals, self.timeout_s, "our request") or (
            "the association ended unexpectedly"
        )

    def release(self) -> None:
        if self.assoc is not None and self.assoc.is_established:
            self.assoc.release()


def associate(
    host: str,
    port: int,
    *,
    aet: str,
    aec: str,
    contexts: Sequence[tuple[str, Sequence[str]]],
    tls: ssl.SSLContext | None = None,
    timeout_s: float = 30.0,
) -> AssociationAttempt:
    """Request an association proposing `contexts` [(abstract syntax, [transfer syntaxes])].

    An empty transfer syntax list proposes pynetdicom's default syntaxes.
    Never raises for network trouble: a refused, rejected or aborted request comes back
    with `reason` in words. Raises ValueError for bad arguments (AE title, too many contexts).
    """
    if len(contexts) > MAX_CONTEXTS:
        raise ValueError(f"at most {MAX_CONTEXTS} presentation contexts per association")
    signals = PeerSignals()
    ae = _DiagnosingAE(aet, signals)
    # PS3.8 §9.1.5 ARTIM, and DIMSE/network time-outs: never wait forever (RELIABILITY 9).
    ae.acse_timeout = timeout_s
    ae.dimse_timeout = timeout_s
    ae.network_timeout = timeout_s
    ae.connection_timeout = timeout_s
    # An empty syntax list means pynetdicom's defaults (Implicit/Explicit VR Little Endian...).
    requested: list[PresentationContext] = [build_context(a, list(t) or None) for a, t in contexts]
    handlers: list[Any] = [
        (evt.EVT_PDU_RECV, _on_pdu, [signals]),
        (evt.EVT_ACSE_RECV, _on_acse, [signals]),
        (evt.EVT_PDU_SENT, _on_pdu_sent, [signals]),
    ]
    try:
        assoc = ae.associate(
            host,
            port,
            contexts=requested,
            ae_title=aec,
            tls_args=(tls, host) if tls is not None else None,
            evt_handlers=handlers,
        )
    except OSError as exc:  # pynetdicom resolves the host name before it connects
        return AssociationAttempt(None, connect_words(exc, timeout_s, False), signals, timeout_s)
    if assoc.is_established:
        _bound_send_buffer(assoc)
    reason = "" if assoc.is_established else _failure_reason(assoc, signals, timeout_s, tls)
    return AssociationAttempt(assoc, reason, signals, timeout_s)


def _on_pdu(event: evt.Event, signals: PeerSignals) -> None:
    pdu = event.pdu
    if isinstance(pdu, A_ABORT_RQ):
        with signals.lock:
            signals.abort = (int(pdu.source or 0), int(pdu.reason_diagnostic or 0))
    elif isinstance(pdu, A_ASSOCIATE_RJ):
        with signals.lock:
            signals.reject = (int(pdu.result or 0), int(pdu.source or 0), int(pdu.reason_diagnostic or 0))


def _on_pdu_sent(event: evt.Event, signals: PeerSignals) -> None:
    pdu = event.pdu
    if isinstance(pdu, A_ABORT_RQ):
        with signals.lock:
            signals.sent_abort = (int(pdu.source or 0), int(pdu.reason_diagnostic or 0))


def _on_acse(event: evt.Event, signals: PeerSignals) -> None:
    if isinstance(getattr(event, "primitive", None), A_P_ABORT):
        with signals.lock:
            signals.closed = True


def _failure_reason(
    assoc: Association, signals: PeerSignals, timeout_s: float, tls: ssl.SSLContext | None
) -> str:
    with signals.lock:
        connect_error = signals.connect_error
    if connect_error is not None:
        return connect_words(connect_error, timeout_s, tls is not None)
    response = assoc.acceptor.primitive
    if assoc.is_rejected and response is not None:
        # PS3.8 §9.3.4: A-ASSOCIATE-RJ result, source and reason.
        return "association rejected: " + reject_text(
            int(response.result or 0),
            int(response.result_source or 0),
            int(response.diagnostic or 0),
        )
    with signals.lock:
        reject = signals.reject
    if reject is not None:  # received, though pynetdicom did not get to it (see PeerSignals)
        return "association rejected: " + reject_text(*reject)
    if response is not None and response.result == 0:
        return no_context_words(assoc.rejected_contexts)
    ended = _ended_reason(signals, timeout_s, "the association request")
    with signals.lock:
        dropped = signals.sent_abort is None and signals.abort is None
    if ended and dropped and tls is None:
        # A TLS-only port drops a plain A-ASSOCIATE-RQ without a word (PS3.15 Annex B).
        return f"{ended} before answering the association request (does it expect TLS?)"
    return ended or f"no answer to the association request within {timeout_s:g} s"


def _ended_reason(signals: PeerSignals, timeout_s: float, awaited: str = "a request") -> str:
    with signals.lock:
        abort, closed, io_error = signals.abort, signals.closed, signals.io_error
        sent_abort = signals.sent_abort
    if abort is not None:
        return "association " + abort_text(*abort)
    # We aborted first; what the socket said afterwards is our own doing.
    if sent_abort is not None and sent_abort[0] == 2:
        # PS3.8 §9.3.8: a provider abort from our side means the peer broke the protocol.
        detail = ABORT_REASON.get(sent_abort[1], "") if sent_abort[1] else ""
        return "the peer's answer is not valid DICOM" + (f" ({detail})" if detail else "")
    if sent_abort is not None:  # a user abort: pynetdicom's ACSE or DIMSE time-out expired
        return f"no answer to {awaited} within {timeout_s:g} s"
    if isinstance(io_error, ssl.SSLError):  # e.g. the peer wants a client certificate
        return "the peer ended the TLS session: " + _os_error_words(io_error)
    if io_error is not None:
        return "connection lost: " + _os_error_words(io_error)
    if closed:
        return "connection closed by the peer"
    return ""


def no_context_words(rejected: Sequence[PresentationContext]) -> str:
    """'the peer accepted none of the proposed presentation contexts (CT Image Storage: ...)'."""
    details = "; ".join(
        f"{sop_class_name(str(cx.abstract_syntax))}: {_context_result(cx.result)}"
        for cx in rejected[:5]
    )
    more = f"; and {len(rejected) - 5} more" if len(rejected) > 5 else ""
    return f"the peer accepted none of the proposed presentation contexts ({details}{more})"


def _context_result(result: int | None) -> str:
    if result is None:
        return "no answer"
    return CONTEXT_RESULT.get(result, f"result {result}")


def connect_words(exc: OSError, timeout_s: float, tls: bool) -> str:
    """A failed TCP connect or TLS handshake in words."""
    if isinstance(exc, (ConnectionResetError, ssl.SSLEOFError)) and tls:
        return "TLS handshake failed: the peer closed the connection (does it speak TLS here?)"
    if isinstance(exc, ssl.SSLError):
        return "TLS handshake failed: " + _os_error_words(exc)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"timed out connecting (no answer within {timeout_s:g} s)"
    if isinstance(exc, socket.gaierror):
        return f"host not found ({exc.strerror})"
    return _os_error_words(exc)


def _os_error_words(exc: OSError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc.strerror or exc).replace("_", " ").lower()
    return (exc.strerror or str(exc) or type(exc).__name__).lower()
