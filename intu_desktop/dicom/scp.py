"""One channel's C-STORE / C-ECHO SCP.

Each association runs in pynetdicom's own threads. The C-STORE handler persists,
indexes and enqueues, then answers (STYLE 6, RELIABILITY 18): transforms and
deliveries never run on the association's thread, and the status it returns is the
truth about the disk (DESIGN §5).
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import AE, _config, evt
from pynetdicom.sop_class import Verification

from intu_desktop import events
from intu_desktop.dicom import names
from intu_desktop.dicom.metadata import UnreadableDataset, build_body, read_header
from intu_desktop.dicom.negotiation import AssociationPolicy, PolicyACSE
from intu_desktop.dicom.storage import InstanceStore, StoreFull
from intu_desktop.dicom.store_response import after_response, run_left_behind
from intu_desktop.dicom.tls import TlsSetupError, server_context
from intu_desktop.dicom.transport import (
    ChunkFile,
    FileMeta,
    ListenerServer,
    install_chunk_file_factory,
    prepare_next_chunk,
    write_file_meta,
)
from intu_desktop.events import EventBus
from intu_desktop.index.associations import AssociationRecord, save_association
from intu_desktop.index.db import Index
from intu_desktop.index.instances import InstanceRecord, iso_time, record_instance
from intu_desktop.receive_priority import NEVER, ReceivePriority
from intu_desktop.thread_policy import normal_policy

log = logging.getLogger(__name__)

# C-STORE statuses we answer with (PS3.4 Annex B.2.3, PS3.7 Annex C).
SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
WRITE_FAILURE = 0xA701
DATASET_MISMATCH = 0xA900
CANNOT_UNDERSTAND = 0xC000
CANNOT_DECODE = 0xC210
HANDLER_ERROR = 0xC211


def configure_pynetdicom() -> None:
    """Process-wide pynetdicom settings this receiver depends on."""
    _config.STORE_RECV_CHUNKED_DATASET = True  # large objects go to disk, not memory (RELIABILITY 19)
    _config.UNRESTRICTED_STORAGE_SERVICE = True  # route C-STORE of private/unknown classes to storage
    _config.LOG_REQUEST_IDENTIFIERS = False  # no PHI in logs (RELIABILITY 29)
    _config.LOG_RESPONSE_IDENTIFIERS = False
    _config.LOG_HANDLER_LEVEL = "none"
    install_chunk_file_factory()


class ListenerStartError(Exception):
    """The listener could not start; the message says why and what to do (exit code 2)."""


def explain_bind_error(channel_id: str, port: int, exc: OSError) -> str:
    """Why a channel cannot listen on its port, and what to do, in words."""
    if exc.errno == errno.EADDRINUSE:
        return (f"channel {channel_id}: port {port} is already in use by another program "
                f"(another intu-desktop or a DICOM receiver?): stop it or choose another port")
    if exc.errno in (errno.EACCES, errno.EPERM):
        hint = " ports below 1024 need administrator rights: use a port such as 4104" if port < 1024 else ""
        return f"channel {channel_id}: no permission to listen on port {port};{hint}"
    return f"channel {channel_id}: cannot listen on port {port}: {exc.strerror or exc}"


def set_listener_state(listener: Any, state: str, reason: str) -> None:
    """A listener's new state, announced: `ChannelListener` and the parent's handle on its
    receiver processes (receiver_process.ProcessListener) both say it this way."""
    listener.state, listener.reason = state, reason
    listener.bus.publish(events.LISTENER_STATE, channel_id=listener.channel_id, state=state,
                         reason=reason, port=int(listener.config.port))


@dataclass
class SharedListening:
    """One of several receiver processes accepting from the same listening socket.

    `active` has one slot per process, each written only by its own process: the number of
    associations it has accepted and not ended. The association limit counts them all.
    """

    socket: socket.socket
    active: Any  # a multiprocessing Array('i') shared by the channel's receiver processes
    slot: int

    def others_active(self) -> int:
        return sum(n for i, n in enumerate(self.active) if i != self.slot)

    def publish_active(self, count: int) -> None:
        self.active[self.slot] = count


@dataclass
class StoreOutcome:
    status: int
    comment: str = ""
    instance_id: int | None = None
    new_version: bool = False
    sop_uid: str = ""
    moved_from_study: str = ""  # a new version that left this study for another


def _status(code: int, comment: str = "") -> int | Dataset:
    if not comment:
        return code  # pynetdicom takes a bare status without building a Dataset (issue 9)
    ds = Dataset()
    ds.Status = code
    # Error Comment (0000,0902) is LO: at most 64 characters, and never PHI.
    ds.ErrorComment = comment[:64]
    return ds


class ChannelListener:
    """Runs the SCP for one `dicom` channel."""

    def __init__(
        self,
        channel: Any,
        *,
        store: InstanceStore,
        index: Index,
        bus: EventBus,
        ingest: Callable[[int], None] = lambda _id: None,
        host: str = "",
        priority: ReceivePriority = NEVER,
        shared: SharedListening | None = None,
    ) -> None:
        self.channel = channel
        self.config = channel.dicom
        self.store = store
        self.index = index
        self.bus = bus
        self.ingest = ingest
        self.host = host
        self.priority = priority  # stamped per object: background work gives way
        self.shared = shared  # one of several processes serving this channel's port
        self._live = 0  # associations accepted here and not ended (published to `shared`)
        self.state = "stopped"
        self.reason = ""
        self._ae: AE | None = None
        self._server: ListenerServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._lock_live = threading.Lock()

    @property
    def channel_id(self) -> str:
        return str(self.channel.id)

    @property
    def port(self) -> int:
        if self._server is not None:
            return int(self._server.server_address[1])
        return int(self.config.port)

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            self._set_state("starting", "")
            try:
                self._server = self._build_server()
            except ListenerStartError as exc:
                self._set_state("error", str(exc))
                raise
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                name=f"listener-{self.channel_id}", daemon=True,
            )
            with normal_policy():  # its association threads inherit it (thread_policy.py)
                self._thread.start()
            self._set_state("listening", "")
            log.info("channel %s listening on port %d as %s%s%s", self.channel_id, self.port,
                     self.config.ae_title, " with TLS" if self.config.tls else "",
                     f" (receiver process {self.shared.slot + 1} of {len(self.shared.active)})"
                     if self.shared is not None else "")

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            if server is None:
                return
            server.shutdown()  # stops the accept loop and closes the listening socket
            if self._ae is not None:
                for assoc in list(self._ae.active_associations):
                    assoc.abort()
                self._ae = None
            if self._thread is not None:
                self._thread.join(timeout=5)
                self._thread = None
            self._set_state("stopped", "")
            log.info("channel %s stopped", self.channel_id)

    def _set_state(self, state: str, reason: str) -> None:
        set_listener_state(self, state, reason)

    def _build_server(self) -> ListenerServer:
        cfg = self.config
        configure_pynetdicom()
        ssl_ctx = None
        if cfg.tls is not None:
            try:
                ssl_ctx = server_context(cfg.tls)
            except TlsSetupError as exc:
                raise ListenerStartError(f"channel {self.channel_id}: TLS: {exc}") from exc
        ae = AE(ae_title=cfg.ae_title)
        ae.maximum_associations = max(1, int(cfg.max_associations)) + 1  # our policy answers the limit
        ae.acse_timeout = cfg.acse_timeout_ms / 1000
        ae.dimse_timeout = cfg.dimse_timeout_ms / 1000
        ae.network_timeout = cfg.network_timeout_ms / 1000
        ae.maximum_pdu_size = int(cfg.max_pdu_length)
        ae.require_called_aet = False  # PolicyACSE decides
        ae.require_calling_aet = []
        ae.add_supported_context(Verification)
        policy = AssociationPolicy(
            ae_title=cfg.ae_title,
            calling_ae_titles=list(cfg.calling_ae_titles),
            accept_any_called_ae=bool(cfg.accept_any_called_ae),
            calling_ae_hosts=dict(cfg.calling_ae_hosts),
            max_associations=int(cfg.max_associations),
        )
        handlers = [
            (evt.EVT_REQUESTED, self._on_requested),
            (evt.EVT_ACCEPTED, self._on_accepted),
            (evt.EVT_RELEASED, self._on_released),
            (evt.EVT_ABORTED, self._on_aborted),
            (evt.EVT_CONN_CLOSE, self._on_conn_close),
            (evt.EVT_C_ECHO, self._on_c_echo),
            (evt.EVT_C_STORE, self._on_c_store),
        ]
        max_read = (int(cfg.max_pdu_length) or 16 * 1024 * 1024) + 64 * 1024
        try:
            server = ListenerServer(
                ae, (self.host, int(cfg.port)), cfg.ae_title, ae.supported_contexts,
                evt_handlers=handlers,
                make_acse=lambda assoc: PolicyACSE(assoc, policy, self._on_rejected, self._others_active),
                chunk_dir=self.store.tmp_dir,
                ssl_server_context=ssl_ctx,
                handshake_timeout=cfg.acse_timeout_ms / 1000,
                max_pdu_read=max_read,
                tcp_tuning=bool(cfg.tcp_tuning),
                on_tls_failure=self._on_tls_failure,
                listen_socket=self.shared.socket if self.shared is not None else None,
            )
        except OSError as exc:
            raise ListenerStartError(explain_bind_error(self.channel_id, int(cfg.port), exc)) from exc
        ae._servers.append(server)
        self._ae = ae
        return server

    # -- the association limit across processes -------------------------------------------
    def _others_active(self) -> int:
        """Associations the channel's other receiver processes hold (0 when alone)."""
        return self.shared.others_active() if self.shared is not None else 0

    def _count_live(self, change: int) -> None:
        with self._lock_live:
            self._live += change
            if self.shared is not None:
                self.shared.publish_active(self._live)

    # -- association tracking -------------------------------------------------------
    def _record(self, assoc: Any) -> AssociationRecord:
        rec = getattr(assoc, "_intu_record", None)
        if rec is None:
            rec = AssociationRecord(
                id=uuid.uuid4().hex, channel_id=self.channel_id,
                peer_host=str(assoc.requestor.address), peer_port=int(assoc.requestor.port or 0),
                tls=bool(getattr(assoc, "_intu_tls", False)), requested_at=time.time(),
            )
            assoc._intu_record = rec
        return rec

    def _save(self, rec: AssociationRecord, kind: str) -> None:
        snapshot = AssociationRecord(**{**rec.__dict__, "exchanges": list(rec.exchanges),
                                        "contexts": list(rec.contexts)})
        self.index.submit(lambda conn: save_association(conn, snapshot))
        self.bus.publish(kind, **snapshot.as_event())

    def _on_requested(self, event: Any) -> None:
        assoc = event.assoc
        rec = self._record(assoc)
        rq = assoc.requestor.primitive
        rec.calling_ae = str(rq.calling_ae_title)
        rec.called_ae = str(rq.called_ae_title)
        identity = assoc.requestor.user_identity
        rec.request = {
            "calling_ae": rec.calling_ae,
            "called_ae": rec.called_ae,
            "peer": f"{rec.peer_host}:{rec.peer_port}",
            "implementation_class_uid": str(assoc.requestor.implementation_class_uid or ""),
            "implementation_version_name": str(assoc.requestor.implementation_version_name or ""),
            "maximum_pdu_length": int(assoc.requestor.maximum_length or 0),
            "user_identity_type": int(identity.user_identity_type) if identity is not None else None,
            "tls": rec.tls,
        }
        rec.contexts = [
            {
                "id": int(cx.context_id),
                "abstract_syntax": str(cx.abstract_syntax),
                "abstract_syntax_name": names.sop_class_name(str(cx.abstract_syntax)),
                "transfer_syntaxes": [str(ts) for ts in cx.transfer_syntax],
                "result": None,
                "accepted_transfer_syntax": None,
            }
            for cx in rq.presentation_context_definition_list
        ]
        log.info("association requested by %s from %s:%d to %s (channel %s)", rec.calling_ae,
                 rec.peer_host, rec.peer_port, rec.called_ae, self.channel_id)
        self._save(rec, events.ASSOCIATION_REQUESTED)

    def _on_rejected(self, assoc: Any, rsd: tuple[int, int, int], words: str) -> None:
        rec = self._record(assoc)
        rec.state = "rejected"
        rec.reject_result, rec.reject_source, rec.reject_reason = rsd
        rec.reason = words
        rec.ended_at = time.time()
        log.warning("association from %s at %s rejected: %s [result %d, source %d, reason %d]",
                    rec.calling_ae, rec.peer_host, names.reject_reason_text(*rsd), *rsd)
        self._save(rec, events.ASSOCIATION_REJECTED)

    def _on_accepted(self, event: Any) -> None:
        self.priority.note_receive()  # objects are about to arrive
        assoc = event.assoc
        rec = self._record(assoc)
        answers = {int(cx.context_id): cx for cx in assoc.accepted_contexts + assoc.rejected_contexts}
        for item in rec.contexts:
            cx = answers.get(item["id"])
            if cx is not None:
                item["result"] = int(cx.result)
                item["accepted_transfer_syntax"] = str(cx.transfer_syntax[0]) if cx.result == 0 else None
        rec.state = "accepted"
        self._count_live(+1)
        if not assoc.accepted_contexts:
            rec.reason = "no presentation context was accepted: " + "; ".join(
                f"context {c['id']}: {names.CONTEXT_RESULT.get(c['result'], c['result'])}" for c in rec.contexts)
            log.warning("association from %s accepted with no usable context: %s", rec.calling_ae, rec.reason)
        self._save(rec, events.ASSOCIATION_ACCEPTED)

    def _finish(self, assoc: Any, state: str, reason: str) -> None:
        run_left_behind(assoc)  # bookkeeping of an object whose response never went out
        rec = getattr(assoc, "_intu_record", None)
        self._discard_chunks(assoc)
        if rec is None or rec.ended_at is not None:
            return
        if rec.state == "accepted":
            self._count_live(-1)
        rec.state = state
        if reason:
            rec.reason = reason
        rec.ended_at = time.time()
        rec.bytes = int(getattr(assoc, "_intu_bytes", [0])[0])
        log.info("association %s from %s %s: %d stored, %d failed%s", rec.id[:8], rec.calling_ae, state,
                 rec.instances, rec.failures, f" ({reason})" if reason else "")
        kind = events.ASSOCIATION_RELEASED if state == "released" else events.ASSOCIATION_ABORTED
        self._save(rec, kind)

    def _on_released(self, event: Any) -> None:
        self._finish(event.assoc, "released", "")

    def _on_aborted(self, event: Any) -> None:
        assoc = event.assoc
        reason = getattr(assoc, "_intu_abort_reason", "")
        if not reason:
            if assoc.acse.is_aborted("a-abort"):
                reason = "the modality aborted the association (A-ABORT)"
            else:
                reason = "the connection was lost or the protocol was violated (A-P-ABORT)"
        self._finish(assoc, "aborted", reason)

    def _on_conn_close(self, event: Any) -> None:
        assoc = event.assoc
        reason = getattr(assoc, "_intu_abort_reason", "")
        if getattr(assoc, "_intu_record", None) is None:
            # Never sent an A-ASSOCIATE-RQ: an idle or non-DICOM peer (RELIABILITY 5, 6).
            log.info("connection from %s closed before any association request%s",
                     assoc.requestor.address, f": {reason}" if reason else "")
            self._discard_chunks(assoc)
            if reason:  # a peer that spoke something else: worth a row in the troubleshooting view
                self._record(assoc)
                self._finish(assoc, "aborted", reason)
            return
        # The peer closes right after our A-RELEASE-RP, often before the association
        # thread has announced the release: give it a moment before calling this an abort.
        def settle() -> None:
            self._finish(assoc, "aborted", reason or "the connection closed without a release")

        timer = threading.Timer(0.5, settle)
        timer.daemon = True
        timer.start()

    def _on_tls_failure(self, address: tuple[str, int], words: str) -> None:
        rec = AssociationRecord(
            id=uuid.uuid4().hex, channel_id=self.channel_id, peer_host=str(address[0]),
            peer_port=int(address[1]), tls=True, requested_at=time.time(), state="aborted",
            reason=words, ended_at=time.time(),
        )
        log.warning("connection from %s refused: %s", address[0], words)
        self._save(rec, events.ASSOCIATION_ABORTED)

    @staticmethod
    def _discard_chunks(assoc: Any) -> None:
        for chunk in list(getattr(assoc, "_intu_chunk_files", ())):
            chunk.discard()
        getattr(assoc, "_intu_chunk_files", set()).clear()

    # -- DIMSE ------------------------------------------------------------------------
    def _on_c_echo(self, event: Any) -> int:
        try:
            rec = self._record(event.assoc)
            rec.exchanges.append({"service": "C-ECHO", "status": 0, "at": time.time(), "ms": 0.0})
        except Exception:  # pynetdicom answers success if an echo handler raises; never raise
            log.exception("C-ECHO bookkeeping failed")
        return SUCCESS

    def _on_c_store(self, event: Any) -> Dataset:
        started = time.monotonic()
        self.priority.note_receive()
        assoc = event.assoc
        run_left_behind(assoc)  # a previous request's bookkeeping whose response was never sent
        req = event.request
        chunk = getattr(req, "_dataset_file", None)
        try:
            outcome = self._store(event, chunk)
        except Exception as exc:  # a bug: never success, never a dead listener (RELIABILITY 17)
            log.exception("C-STORE handler failed for SOP instance %s", req.AffectedSOPInstanceUID)
            outcome = StoreOutcome(HANDLER_ERROR, f"internal error: {type(exc).__name__}")
        finally:
            if isinstance(chunk, ChunkFile):
                chunk.discard()  # gone already when it was placed; harmless then
                getattr(assoc, "_intu_chunk_files", set()).discard(chunk)
        elapsed_ms = (time.monotonic() - started) * 1000

        def bookkeeping() -> None:
            try:
                # While the modality reads its next object (issue 9). Made during the commit
                # wait instead, its Python time held back the index writer's.
                prepare_next_chunk(assoc)
            except OSError as exc:  # the next request makes its own file, and says why if it cannot
                log.debug("cannot prepare the next temporary file: %s", exc)
            try:
                self._after_store(assoc, req, outcome, chunk, elapsed_ms)
            except Exception:
                log.exception("C-STORE bookkeeping failed")

        after_response(assoc, bookkeeping)
        return _status(outcome.status, outcome.comment)

    def _store(self, event: Any, chunk: Any) -> StoreOutcome:
        cfg = self.config
        req = event.request
        assoc = event.assoc
        command_sop = str(req.AffectedSOPInstanceUID or "")
        command_class = str(req.AffectedSOPClassUID or "")
        if not isinstance(chunk, ChunkFile):
            chunk = self._spill(event)
        chunk.close()  # first: closing writes the last buffered bytes, and may fail too
        if chunk.error is not None:
            log.error("cannot write SOP instance %s: %s", command_sop, chunk.error.strerror or chunk.error)
            return StoreOutcome(OUT_OF_RESOURCES, "Out of resources: cannot write to the store", sop_uid=command_sop)
        path = Path(chunk.name)
        size = chunk.bytes_written  # the file's size: a stat() here would wait behind the fsync
        if cfg.max_instance_bytes and size > cfg.max_instance_bytes:
            return StoreOutcome(OUT_OF_RESOURCES, f"Object exceeds {cfg.max_instance_bytes} bytes", sop_uid=command_sop)
        received = int(getattr(assoc, "_intu_bytes", [0])[0])
        if cfg.max_association_bytes and received > cfg.max_association_bytes:
            # RELIABILITY 8: the per-association cap, counted on the wire (PDU headers included).
            return StoreOutcome(OUT_OF_RESOURCES, f"Association exceeds {cfg.max_association_bytes} bytes",
                                sop_uid=command_sop)
        # The fsync runs while the header is read and checked; place() waits for it.
        synced = self.store.begin_sync(path)
        try:
            ds = read_header(path, bytes(chunk.head))
        except UnreadableDataset as exc:
            log.warning("SOP instance %s from %s cannot be parsed: %s", command_sop,
                        self._record(assoc).calling_ae, str(exc)[:200])
            return StoreOutcome(CANNOT_DECODE, "Cannot understand: the data set cannot be parsed", sop_uid=command_sop)
        sop_uid = str(ds.get("SOPInstanceUID", "") or "")
        sop_class = str(ds.get("SOPClassUID", "") or "")
        if not sop_uid or not sop_class:
            return StoreOutcome(CANNOT_UNDERSTAND, "Cannot understand: no SOP Class/Instance UID", sop_uid=command_sop)
        if sop_uid != command_sop or sop_class != command_class:
            # PS3.4 B.2.3: the data set must be the instance the command announced.
            return StoreOutcome(DATASET_MISMATCH, "Data set UIDs differ from the command's", sop_uid=command_sop)
        study_uid, series_uid = str(ds.get("StudyInstanceUID", "") or ""), str(ds.get("SeriesInstanceUID", "") or "")
        # The message body is built before the fsync is waited for: its CPU time overlaps it.
        rec = self._record(assoc)
        received_at = time.time()
        body = build_body(ds, self.store.target_path(study_uid, series_uid, sop_uid),
                          transfer_syntax=str(event.context.transfer_syntax), calling_ae=rec.calling_ae,
                          received_at=iso_time(received_at))
        try:
            placed = self.store.place(path, study_uid, series_uid, sop_uid, cfg.duplicate_policy, synced, size,
                                      sync_folder=False)
        except StoreFull as exc:
            return _store_full(exc, sop_uid)
        record = InstanceRecord(
            body=body, size=placed.size, calling_ae=rec.calling_ae, called_ae=rec.called_ae,
            peer_address=rec.peer_host, channel_id=self.channel_id, association_id=rec.id,
            received_at=received_at, outcome=placed.outcome,
        )
        # RELIABILITY 10 wants the file's folder on disk before the index commits its row. The
        # writer thread takes the row while this thread syncs the folder, and begins its
        # transaction once the sync is done (issue 9), not before: the receiver processes
        # share the database, and a write lock held through an fsync makes the others wait.
        folder_synced = threading.Event()
        folder_failure: list[OSError] = []

        def commit(conn: Any) -> Any:
            if not folder_synced.is_set():
                raise TimeoutError("the store's folder did not reach the disk in time")
            if folder_failure:
                raise folder_failure[0]
            return record_instance(conn, record)

        committed = self.index.submit(commit, after=folder_synced)
        try:
            if placed.moved:
                self.store.sync_folder(placed.path.parent)
        except OSError as exc:
            folder_failure.append(exc)
        finally:
            folder_synced.set()
        try:
            recorded = committed.result(60)
        except Exception as exc:
            # Folder or index not on disk (disk full?): take the file back so store and index agree.
            if placed.outcome == "stored":
                placed.path.unlink(missing_ok=True)
            if folder_failure:
                failure = folder_failure[0]
                if isinstance(failure, StoreFull):
                    return _store_full(failure, sop_uid)
                raise failure
            log.error("index write failed for SOP instance %s: %s", sop_uid, exc)
            return StoreOutcome(OUT_OF_RESOURCES, "Out of resources: cannot update the index", sop_uid=sop_uid)
        return StoreOutcome(SUCCESS, "", recorded.id, recorded.new_version, sop_uid, recorded.moved_from_study)

    def _spill(self, event: Any) -> ChunkFile:
        """A data set pynetdicom kept in memory (not chunked): write it as a Part 10 file."""
        chunk = ChunkFile(self.store.tmp_dir, event.assoc)
        chunk.write(b"\x00" * 128 + b"DICM")
        meta = event.file_meta
        rec = self._record(event.assoc)
        # The File Meta group chunked objects get (transport.write_file_meta), AE titles included.
        write_file_meta(chunk, FileMeta(
            sop_class_uid=str(meta.MediaStorageSOPClassUID), sop_instance_uid=str(meta.MediaStorageSOPInstanceUID),
            transfer_syntax=str(meta.TransferSyntaxUID), sending_ae=rec.calling_ae, receiving_ae=rec.called_ae))
        chunk.write(event.request.DataSet.getvalue())
        return chunk

    def _after_store(self, assoc: Any, req: Any, outcome: StoreOutcome, chunk: Any, elapsed_ms: float) -> None:
        rec = self._record(assoc)
        size = getattr(chunk, "bytes_written", 0)
        rec.exchanges.append({
            "service": "C-STORE", "sop_instance_uid": outcome.sop_uid or str(req.AffectedSOPInstanceUID),
            "sop_class_uid": str(req.AffectedSOPClassUID), "status": outcome.status,
            "comment": outcome.comment, "bytes": size, "ms": round(elapsed_ms, 2), "at": time.time(),
        })
        if outcome.status == SUCCESS:
            rec.instances += 1
            self.bus.publish(events.INSTANCE_STORED, instance_id=outcome.instance_id, channel_id=self.channel_id,
                             sop_instance_uid=outcome.sop_uid, association_id=rec.id,
                             calling_ae=rec.calling_ae, new_version=outcome.new_version,
                             moved_from_study=outcome.moved_from_study)
            log.info("stored %s from %s (%d bytes, %.1f ms)", outcome.sop_uid, rec.calling_ae, size, elapsed_ms)
            if outcome.new_version and outcome.instance_id is not None:
                self.ingest(outcome.instance_id)
        else:
            rec.failures += 1
            self.bus.publish(events.INSTANCE_STORE_FAILED, channel_id=self.channel_id,
                             sop_instance_uid=outcome.sop_uid, association_id=rec.id,
                             calling_ae=rec.calling_ae, status=outcome.status, reason=outcome.comment)
            log.warning("refused %s from %s with 0x%04X: %s", outcome.sop_uid, rec.calling_ae,
                        outcome.status, outcome.comment)


def _store_full(exc: StoreFull, sop_uid: str) -> StoreOutcome:
    log.error("store refused SOP instance %s: %s", sop_uid, exc.strerror)
    code = OUT_OF_RESOURCES if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)) else WRITE_FAILURE
    return StoreOutcome(code, "Out of resources: " + (exc.strerror or "cannot write")[:40], sop_uid=sop_uid)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


