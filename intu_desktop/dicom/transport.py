"""The listener's transport: sockets, per-connection TLS, PDU length cap, fast reads.

pynetdicom's defaults that the receiver must not inherit (RELIABILITY 7, 12, 27; issue 9):
- it reads whatever length a PDU header announces; we abort above the advertised maximum;
- it reads 4 KB per recv(); we read a PDU in one go, a P-DATA body into a buffer reused
  from one PDU to the next (store_request.py);
- it wraps TLS in the accept loop, so one silent peer blocks every other; we handshake
  in the connection's own thread with a deadline;
- the sender's Nagle algorithm meets our delayed ACKs (~40 ms per object); on Linux we
  re-arm TCP_QUICKACK after each read and set TCP_NODELAY for our responses;
- chunked C-STORE data lands in the system temp folder and leaks on abort; we put it in
  the store's private temp folder and tell the association which files are its own.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import ssl
import struct
import sys
import tempfile
import threading
from collections.abc import Callable
from copy import deepcopy
from pathlib import Path
from typing import Any

from pynetdicom import (
    PYNETDICOM_IMPLEMENTATION_UID,
    PYNETDICOM_IMPLEMENTATION_VERSION,
    dimse_messages,
    evt,
)
from pynetdicom.transport import AssociationSocket, RequestHandler, ThreadedAssociationServer

from intu_desktop.dicom.header_scan import HEAD_BYTES
from intu_desktop.dicom.storage import start_writeback

log = logging.getLogger(__name__)

_HAS_QUICKACK = sys.platform.startswith("linux") and hasattr(socket, "TCP_QUICKACK")
_PDU_SLACK = 64 * 1024  # A-ASSOCIATE-RQ with many contexts may exceed a tiny advertised maximum
# A received object's bytes go to the disk in steps of this size while the rest arrives.
WRITEBACK_STEP = 256 * 1024
WRITE_BUFFER = 64 * 1024
# What one read from the peer may take beyond the bytes asked for (ListenerSocket._fill),
# and the least room it keeps for that before moving unread bytes to the buffer's front.
READ_AHEAD = 256 * 1024
_READ_AHEAD_MIN = 64 * 1024


def tune_socket(sock: socket.socket, enabled: bool) -> None:
    """Acknowledge at once and send responses without delay (issue 9)."""
    if not enabled:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if _HAS_QUICKACK:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
    except OSError:
        pass


class _QuietFlush:
    """ChunkFile's `.file`: pynetdicom flushes it after every fragment, and a failed flush
    (the disk filled up) must be remembered, not raised in the DUL thread."""

    def __init__(self, chunk: ChunkFile) -> None:
        self._chunk = chunk

    def flush(self) -> None:
        self._chunk.flush_quietly()


class ChunkFile:
    """Stands in for the NamedTemporaryFile pynetdicom writes a C-STORE data set into.

    A write or flush error (disk full mid-object) is remembered instead of raised: raising
    in pynetdicom's DUL thread would abort the association, and the modality must get a
    0xA700-range status instead (RELIABILITY 13). Later writes are dropped.
    """

    def __init__(self, directory: Path | None, owner: Any) -> None:
        fd, name = tempfile.mkstemp(prefix="rx-", suffix=".part", dir=directory)
        self.name = name
        # A buffer smaller than a typical PDU's fragment: BufferedWriter hands a fragment
        # larger than its buffer straight to the kernel, and gathers the small ones (the
        # preamble and File Meta, a 16 KB object) into one write at the flush.
        self._fh: Any = os.fdopen(fd, "wb", buffering=WRITE_BUFFER)
        self.file = _QuietFlush(self)  # what pynetdicom calls .file.flush() on
        self.error: OSError | None = None
        self.bytes_written = 0
        self._written_back = 0  # bytes already handed to the kernel's writeback
        # The first bytes, as they were written: the header is read from here instead of
        # from the file again (metadata.read_header; what `fh.read(HEAD_BYTES)` would give).
        self.head = bytearray()
        self.owner = owner
        chunks = getattr(owner, "_intu_chunk_files", None)
        if chunks is not None:
            chunks.add(self)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self.error is not None:
            return len(data)
        try:
            self._fh.write(data)
        except OSError as exc:
            self._fail(exc)
            return len(data)
        kept = len(self.head)
        if kept < HEAD_BYTES:
            self.head += data[:HEAD_BYTES - kept]
        self.bytes_written += len(data)
        return len(data)

    def flush_quietly(self) -> None:
        if self.error is None:
            try:
                self._fh.flush()
            except OSError as exc:
                self._fail(exc)
                return
            if self.bytes_written - self._written_back >= WRITEBACK_STEP:
                start_writeback(self._fh.fileno(), self._written_back, self.bytes_written - self._written_back)
                self._written_back = self.bytes_written

    def _fail(self, exc: OSError) -> None:
        self.error = exc
        try:
            self._fh.close()
        except OSError:
            pass
        self._fh = io.BytesIO()  # later writes and flushes go nowhere
        try:
            os.unlink(self.name)
        except OSError:
            pass

    def flush_to_disk(self) -> None:
        """Flush Python's buffer; the store fsyncs before the rename."""
        self.flush_quietly()

    def close(self) -> None:
        """Close; a failure to write the last buffered bytes is an error like any other."""
        try:
            self._fh.close()
        except OSError as exc:
            self.error = self.error or exc

    def discard(self) -> None:
        """Close and delete: used after an abort or a refused object."""
        self.close()
        try:
            os.unlink(self.name)
        except OSError:
            pass


def _chunk_file_factory(*_args: Any, **_kwargs: Any) -> ChunkFile:
    # pynetdicom decodes P-DATA in the association's DUL thread, whose `assoc` leads to
    # the server that owns the private temp folder.
    assoc = getattr(threading.current_thread(), "assoc", None)
    spare = getattr(assoc, "_intu_next_chunk", None)
    if spare is not None:
        assoc._intu_next_chunk = None
        return spare
    return _new_chunk(assoc)


def _new_chunk(assoc: Any) -> ChunkFile:
    """A temporary file in the private temp folder of the server `assoc` came to, owned by it."""
    return ChunkFile(getattr(getattr(assoc, "_server", None), "chunk_dir", None), assoc)


def prepare_next_chunk(assoc: Any) -> None:
    """Make the association's next temporary file now. The C-STORE handler calls this once
    its response is sent, while the modality reads its next object, so the next request does
    not wait for the file's creation (a tenth of a millisecond, more on a busy file system:
    issue 9). Unused, it is discarded with the association's other files when the
    association ends."""
    if getattr(assoc, "_intu_next_chunk", None) is None and getattr(assoc, "is_established", False):
        assoc._intu_next_chunk = _new_chunk(assoc)


class FileMeta:
    """The File Meta values pynetdicom gives each received object (see `write_file_meta`),
    and the AE titles of the association it came on: pynetdicom builds this on the
    association's DUL thread, whose `assoc` knows them."""

    __slots__ = ("sop_class_uid", "sop_instance_uid", "transfer_syntax", "implementation_uid",
                 "implementation_version", "sending_ae", "receiving_ae")

    def __init__(self, *, sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str,
                 implementation_uid: str = PYNETDICOM_IMPLEMENTATION_UID,
                 implementation_version: str = PYNETDICOM_IMPLEMENTATION_VERSION,
                 sending_ae: str | None = None, receiving_ae: str | None = None) -> None:
        self.sop_class_uid = sop_class_uid
        self.sop_instance_uid = sop_instance_uid
        self.transfer_syntax = transfer_syntax
        self.implementation_uid = implementation_uid
        self.implementation_version = implementation_version
        assoc = getattr(threading.current_thread(), "assoc", None)
        self.sending_ae = sending_ae if sending_ae is not None else _ae_title(assoc, "requestor")
        self.receiving_ae = receiving_ae if receiving_ae is not None else _ae_title(assoc, "acceptor")


def _ae_title(assoc: Any, side: str) -> str:
    title = getattr(getattr(assoc, side, None), "ae_title", "")
    return title.strip() if isinstance(title, str) else ""


def _meta_element(element: int, vr: bytes, value: bytes) -> bytes:
    if vr == b"OB":
        return struct.pack("<HH2sHL", 0x0002, element, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", 0x0002, element, vr, len(value)) + value


def _even(text: str, pad: bytes) -> bytes:
    raw = str(text).encode("latin-1", "replace")
    return raw + pad if len(raw) % 2 else raw


def write_file_meta(fp: Any, meta: FileMeta, enforce_standard: bool = True) -> None:
    """Group 0002 in Explicit VR Little Endian, the bytes pydicom's write_file_meta_info
    writes for the same values (tests/unit/test_file_meta.py), without building a
    Dataset per object (issue 9: it cost about 5% of the receive path).

    Sending and Receiving Application Entity Title (PS3.10 7.1) record who sent the
    object to whom, so a store rebuilt into an index (`intu-desktop reindex`) knows it."""
    elements = [
        _meta_element(0x0001, b"OB", b"\x00\x01"),
        _meta_element(0x0002, b"UI", _even(meta.sop_class_uid, b"\x00")),
        _meta_element(0x0003, b"UI", _even(meta.sop_instance_uid, b"\x00")),
        _meta_element(0x0010, b"UI", _even(meta.transfer_syntax, b"\x00")),
        _meta_element(0x0012, b"UI", _even(meta.implementation_uid, b"\x00")),
        _meta_element(0x0013, b"SH", _even(meta.implementation_version, b" ")),
    ]
    if meta.sending_ae:
        elements.append(_meta_element(0x0017, b"AE", _even(meta.sending_ae, b" ")))
    if meta.receiving_ae:
        elements.append(_meta_element(0x0018, b"AE", _even(meta.receiving_ae, b" ")))
    body = b"".join(elements)
    fp.write(_meta_element(0x0000, b"UL", struct.pack("<L", len(body))) + body)


_factory_lock = threading.Lock()


def install_chunk_file_factory() -> None:
    """Route pynetdicom's chunked C-STORE files through ChunkFile (idempotent, process-wide)."""
    with _factory_lock:
        dimse_messages.NamedTemporaryFile = _chunk_file_factory  # type: ignore[assignment]
        dimse_messages.create_file_meta = FileMeta  # type: ignore[assignment]
        dimse_messages.write_file_meta_info = write_file_meta  # type: ignore[assignment]


def _abort_pdu(source: int = 2, reason: int = 6) -> bytes:
    # A-ABORT PDU (PS3.8 §9.3.8): type 7, length 4, reserved, reserved, source, reason.
    return struct.pack(">BBLBBBB", 0x07, 0, 4, 0, 0, source, reason)


class ListenerSocket(AssociationSocket):
    """AssociationSocket with a PDU length cap, large reads and TCP tuning."""

    max_pdu_read: int = 1 << 20
    tcp_tuning: bool = True
    _pushback: bytearray | None = None
    # Bytes read from the socket and not yet handed out: _rbuf[_rstart:_rend]. One recv()
    # takes whatever has arrived, up to READ_AHEAD beyond the bytes asked for, so a PDU's
    # header and body (often the next header too) come in one system call instead of a
    # select, a poll, a recv and a setsockopt for each (issue 9).
    _rbuf: bytearray | None = None
    _rstart = 0
    _rend = 0

    def recv(self, nr_bytes: int) -> bytearray:
        pushed = self._pushback
        if pushed is not None:  # a PDU header the fast receive path read and passed on
            self._pushback = None
            return pushed
        self._check_length(nr_bytes)
        got = self._fill(nr_bytes)
        start = self._rstart
        self._rstart = start + got
        return self._rbuf[start:start + got] if got else bytearray()  # type: ignore[index]

    def recv_reused(self, nr_bytes: int) -> memoryview:
        """Like recv(), without a copy (store_request.py: a P-DATA body is written to disk
        and forgotten, so a fresh 128 KB object per PDU is waste). The view is valid until
        the next call."""
        self._check_length(nr_bytes)
        got = self._fill(nr_bytes)
        start = self._rstart
        self._rstart = start + got
        return memoryview(self._rbuf)[start:start + got] if got else memoryview(b"")  # type: ignore[arg-type]

    @property
    def buffered(self) -> int:
        """Bytes already read that the next recv() hands out without the socket."""
        return self._rend - self._rstart + (len(self._pushback) if self._pushback is not None else 0)

    @property
    def ready(self) -> bool:
        if self.socket is None or self._is_connected is False:
            return False  # closed here: what was read ahead goes with the connection
        return self.buffered > 0 or bool(super().ready)

    def unread(self, header: bytearray) -> None:
        """Give back a PDU header: the next recv() returns it (pynetdicom reads it again)."""
        self._pushback = header

    def _check_length(self, nr_bytes: int) -> None:
        if nr_bytes <= self.max_pdu_read:
            return
        reason = (
            f"the peer announced a PDU of {nr_bytes} bytes; this listener accepts at most "
            f"{self.max_pdu_read} (maximum PDU length it advertised)"
        )
        log.warning("aborting association: %s", reason)
        # Keep a first, better diagnosis: after a TLS hello on a plain port pynetdicom
        # keeps reading the hello's bytes as PDU headers, and one of them "announces"
        # a huge PDU (found under load by test_tls_client_on_a_plain_channel_is_explained).
        if not getattr(self.assoc, "_intu_abort_reason", ""):
            setattr(self.assoc, "_intu_abort_reason", reason)
        sock = self.socket
        try:
            if sock is not None:
                sock.sendall(_abort_pdu())
        except OSError:
            pass
        raise OSError(reason)

    def _fill(self, nr_bytes: int) -> int:
        """Have nr_bytes unread in _rbuf (fewer if the peer closes); returns how many."""
        have = self._rend - self._rstart
        if have >= nr_bytes:
            return nr_bytes
        buf = self._rbuf
        if buf is None or len(buf) - self._rstart < nr_bytes + _READ_AHEAD_MIN:
            # Too little room after the unread bytes: they move to the front of a buffer
            # (a new one when it must grow: a view recv_reused handed out stays as it was).
            if buf is None or len(buf) < nr_bytes + READ_AHEAD:
                fresh = bytearray(nr_bytes + READ_AHEAD)
                if have:
                    fresh[:have] = buf[self._rstart:self._rend]  # type: ignore[index]
                buf = self._rbuf = fresh
            elif have:
                buf[:have] = buf[self._rstart:self._rend]
            self._rstart, self._rend = 0, have
        sock = self.socket
        assert sock is not None
        view = memoryview(buf)
        try:
            while self._rend - self._rstart < nr_bytes:
                end = self._rend
                n = sock.recv_into(view[end:], len(buf) - end)
                if not n:
                    break
                self._rend = end + n
                self._count(view[end:end + n])
                if _HAS_QUICKACK and self.tcp_tuning:
                    # Linux clears quick-ack mode after each ACK; re-arm it so the sender's
                    # Nagle algorithm never waits on our delayed ACK.
                    try:
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                    except OSError:
                        pass
        finally:
            view.release()
        return min(nr_bytes, self._rend - self._rstart)

    def _count(self, received: memoryview) -> None:
        counter = getattr(self.assoc, "_intu_bytes", None)
        if counter is not None:
            if counter[0] == 0 and len(received) >= 2:
                self._name_foreign_protocol(bytes(received[:8]))
            counter[0] += len(received)

    def send(self, bytestream: bytes) -> None:
        super().send(bytestream)
        if _HAS_QUICKACK and self.tcp_tuning and self.socket is not None:
            # Sending right after a read puts Linux back in delayed-ACK ("ping-pong") mode:
            # the peer's next small write (a PDU header) would wait for our ACK under Nagle.
            try:
                self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            except OSError:
                pass

    def _name_foreign_protocol(self, first: bytes) -> None:
        """Say what a non-DICOM peer is, for the troubleshooting view (RELIABILITY 6)."""
        reason = ""
        if first[0] == 0x16 and first[1] == 0x03:
            reason = "the peer started a TLS handshake on this plain (non-TLS) port"
        elif first[:4] in (b"GET ", b"POST", b"HEAD", b"PUT ", b"OPTI"):
            reason = "the peer sent an HTTP request, not DICOM"
        elif first[0] not in range(1, 8):
            reason = f"the peer sent data that is not a DICOM PDU (first byte 0x{first[0]:02X})"
        if reason:
            setattr(self.assoc, "_intu_abort_reason", reason)


class ListenerRequestHandler(RequestHandler):
    server: ListenerServer

    def _create_association(self) -> Any:
        # pynetdicom's RequestHandler._create_association with our socket and ACSE; the
        # socket cannot be swapped afterwards (it queues the transport event on creation).
        from pynetdicom._globals import MODE_ACCEPTOR

        from intu_desktop.dicom.reactor import ListenerAssociation

        server = self.server
        ae = server.ae
        assoc = ListenerAssociation(ae, MODE_ACCEPTOR)
        assoc._server = server
        assoc.name = f"Association@{self.client_address[0]}:{self.client_address[1]}"
        assoc._intu_chunk_files = set()
        assoc._intu_bytes = [0]
        assoc._intu_tls = server.ssl_server_context is not None
        # Defences pynetdicom lacks against hostile peers (RELIABILITY 4, 5, 23; peer_guard.py).
        from intu_desktop.dicom.peer_guard import GuardedListenerSocket

        sock = GuardedListenerSocket(assoc, client_socket=self.request)
        sock.max_pdu_read = server.max_pdu_read
        sock.tcp_tuning = server.tcp_tuning
        assoc.set_socket(sock)
        assoc.acse = server.make_acse(assoc)
        assoc.acceptor.maximum_length = ae.maximum_pdu_size
        assoc.acceptor.ae_title = server.ae_title
        assoc.acceptor.address_info = self.local
        assoc.acceptor.implementation_class_uid = ae.implementation_class_uid
        assoc.acceptor.implementation_version_name = ae.implementation_version_name
        assoc.acceptor.supported_contexts = deepcopy(server.contexts)
        assoc.requestor.address_info = self.remote
        for event, handlers in server._handlers.items():
            if event.is_intervention and handlers:
                assoc.bind(event, *handlers)
            elif isinstance(event, evt.NotificationEvent):
                for handler in handlers:
                    assoc.bind(event, handler[0], handler[1])
        return assoc


def open_listening_socket(address: tuple[str, int], backlog: int) -> socket.socket:
    """A TCP socket listening on `address`: `ListenerServer`'s own, or one bound by the
    parent of several receiver processes (receiver_process.py)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if os.name != "nt":  # on Windows SO_REUSEADDR lets a second process steal the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


class ListenerServer(ThreadedAssociationServer):
    """One channel's server socket. TLS handshakes happen per connection, with a deadline."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(
        self,
        ae: Any,
        address: tuple[str, int],
        ae_title: str,
        contexts: list[Any],
        *,
        evt_handlers: list[Any],
        make_acse: Callable[[Any], Any],
        chunk_dir: Path,
        ssl_server_context: ssl.SSLContext | None,
        handshake_timeout: float,
        max_pdu_read: int,
        tcp_tuning: bool,
        on_tls_failure: Callable[[tuple[str, int], str], None],
        listen_socket: socket.socket | None = None,
    ) -> None:
        # A listening socket bound elsewhere (receiver_process: several processes accept
        # from one port); None: bind `address` here.
        self._listen_socket = listen_socket
        self.make_acse = make_acse
        self.chunk_dir = chunk_dir
        self.ssl_server_context = ssl_server_context
        self.handshake_timeout = handshake_timeout
        self.max_pdu_read = max_pdu_read
        self.tcp_tuning = tcp_tuning
        self.on_tls_failure = on_tls_failure
        # ssl_context=None: pynetdicom must not wrap sockets in its accept loop (RELIABILITY 27).
        super().__init__(ae, address, ae_title, contexts, None, evt_handlers, ListenerRequestHandler)

    def server_bind(self) -> None:
        assert self.socket is not None
        self.socket.close()  # socketserver's own, unbound: ours come from open_listening_socket
        if self._listen_socket is not None:
            self.socket = self._listen_socket
            # Non-blocking: when another process wins the race for a connection, accept()
            # raises BlockingIOError (socketserver skips it) instead of waiting for the next.
            self.socket.setblocking(False)
        else:
            self.socket = open_listening_socket(self.server_address, self.request_queue_size)
            self.socket.settimeout(None)  # the accept loop uses select; timeouts are per connection
        self.server_address = self.socket.getsockname()

    def server_activate(self) -> None:
        pass  # open_listening_socket listens already

    def get_request(self) -> tuple[socket.socket, Any]:
        assert self.socket is not None
        client, address = self.socket.accept()
        tune_socket(client, self.tcp_tuning)
        return client, address

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        if self.ssl_server_context is not None:
            try:
                request.settimeout(self.handshake_timeout)
                request = self.ssl_server_context.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (ssl.SSLError, OSError) as exc:
                self.on_tls_failure(client_address, describe_tls_failure(exc))
                try:
                    request.close()
                except OSError:
                    pass
                return
        super().process_request_thread(request, client_address)


def describe_tls_failure(exc: BaseException) -> str:
    """A TLS failure in words, with the likely cause (issue 7's hints start here)."""
    text = str(exc)
    reason = getattr(exc, "reason", "") or ""
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "TLS handshake timed out: the peer connected but never started TLS (a plain DICOM client on a TLS port?)"
    if reason in ("HTTP_REQUEST", "WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL") or "wrong version number" in text:
        return "TLS handshake failed: the peer sent plain (non-TLS) data, so it is not using TLS on this TLS port"
    if reason in ("UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION", "VERSION_TOO_LOW") or "unsupported protocol" in text:
        return "TLS handshake failed: the peer offered a TLS version older than 1.2, which is refused"
    if reason in ("PEER_DID_NOT_RETURN_A_CERTIFICATE", "NO_CERTIFICATE_RETURNED") or "did not return a certificate" in text:
        return "TLS handshake failed: the peer sent no client certificate, and this channel requires one (client_auth: require)"
    if reason in ("CERTIFICATE_VERIFY_FAILED", "TLSV1_ALERT_UNKNOWN_CA") or "certificate verify failed" in text:
        return f"TLS handshake failed: the peer's certificate is not trusted by the configured CA ({text})"
    if isinstance(exc, ConnectionResetError) or "EOF" in text:
        return f"TLS handshake failed: the peer closed the connection during the handshake ({text})"
    return f"TLS handshake failed: {text}"
