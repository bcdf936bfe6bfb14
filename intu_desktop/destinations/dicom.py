"""The `dicom` destination: the received object itself forwarded by C-STORE (PS3.4 Annex B).

The stored Part 10 file is sent as it is, in the transfer syntax it arrived in: we never
recompress. Only when the peer refuses that syntax, and the pixel data can be decoded
here, is the object sent in Explicit VR Little Endian instead (PS3.5 §10.1).
The peer's status is recorded; failures are sorted as RELIABILITY 20 says: 0xA7xx
(out of resources), transient association rejects and lost connections are retried,
0xA9xx, 0xCxxx and permanent rejects are dead letters.

The association stays open for the next object for IDLE_RELEASE_S when its presentation
contexts fit it (a series forwarded slice after slice): one A-ASSOCIATE per burst instead of
one per object: forwarding a series of small objects takes 10.5 instead of 22 ms per object
to Orthanc, 5.7 instead of 18 to DCMTK's storescp (benchmarks/forward_pacs.py). A peer
that dropped the idle association meanwhile costs one fresh association, not a failed
attempt.
"""

from __future__ import annotations

import ssl
import threading
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRLittleEndian
from pynetdicom import _config as pynetdicom_config

from intu_desktop.destinations.base import DeliveryContext, DeliveryResult
from intu_desktop.destinations.secrets import SecretMasker
from intu_desktop.destinations.settings import (
    Settings,
    SettingsError,
    dicom_client_tls,
    timeout_seconds,
)
from intu_desktop.dicom.client_tls import TlsConfigError
from intu_desktop.dicom.names import (
    SUCCESS,
    WARNING,
    format_status,
    status_meaning,
    transfer_syntax_name,
)
from intu_desktop.dicom.scu_association import AssociationAttempt, associate
from intu_desktop.dicom.scu_files import (
    UNCOMPRESSED,
    UNCOMPRESSED_FALLBACKS,
    DicomFile,
    NotSendable,
    inspect,
)

DEFAULT_AET = "INTU_DESKTOP"
DEFAULT_AEC = "ANY-SCP"
# Failure statuses that say "not now" rather than "never": PS3.4 B.2.3 0xA7xx (refused:
# out of resources), PS3.7 C 0x0213 (resource limitation) and 0x0110 (processing failure,
# which PACS also use for a busy database).
_TRANSIENT_STATUS = frozenset({0x0110, 0x0213})
# How long an association waits for the next object before it is released. Deliveries give
# way to receiving (up to 2 s between objects while a study arrives): outlast that.
IDLE_RELEASE_S = 5.0
CLOSE_RELEASE_S = 2.0  # how long close() waits for the peer to confirm a release

_ContextKey = tuple[tuple[str, tuple[str, ...]], ...]


class DicomDestination:
    type = "dicom"

    def __init__(self, name: str, options: dict[str, Any], base_dir: Path) -> None:
        self.name = name
        self.masker = SecretMasker.from_options(options)
        settings = Settings(options, "dicom", base_dir)
        self.host = settings.text("host", required=True)
        self.port = settings.integer("port", 104)
        self.aet = settings.text("ae_title", DEFAULT_AET)
        self.aec = settings.text("called_ae_title", DEFAULT_AEC)
        self.timeout_s = timeout_seconds(settings)
        tls = dicom_client_tls(settings.child("tls"))
        try:
            self.tls: ssl.SSLContext | None = tls.context() if tls is not None else None
        except TlsConfigError as exc:
            raise SettingsError(f"dicom.tls: {exc}") from None
        self._lock = threading.Lock()
        self._current: AssociationAttempt | None = None
        self._idle: tuple[AssociationAttempt, _ContextKey] | None = None  # open, waiting
        self._idle_timer: threading.Timer | None = None
        self._closed = False

    def send(self, delivery: DeliveryContext) -> DeliveryResult:
        item = inspect(Path(delivery.storage_path))
        if isinstance(item, NotSendable):
            return DeliveryResult.permanent(f"the stored file cannot be sent: {item.reason}")
        with self._lock:
            if self._closed:  # stopping: open nothing new
                return DeliveryResult.transient("stopped")
        contexts = proposals(item)
        key: _ContextKey = tuple((sop_class, tuple(syntaxes)) for sop_class, syntaxes in contexts)
        attempt = self._take_idle(key)
        if attempt is not None:
            result, lost = self._send_on(attempt, item, key)
            with self._lock:
                closed = self._closed
            if not lost or closed:
                return result
            # The peer dropped the idle association before answering (its own idle time-out,
            # a restart): one fresh association, as if it had never been kept.
        try:
            attempt = associate(
                self.host, self.port, aet=self.aet, aec=self.aec, contexts=contexts,
                tls=self.tls, timeout_s=self.timeout_s,
            )
        except ValueError as exc:  # an AE title pynetdicom refuses
            return DeliveryResult.permanent(f"invalid association request: {exc}")
        if not attempt.established:
            return association_failure(attempt)
        return self._send_on(attempt, item, key)[0]

    def _send_on(
        self, attempt: AssociationAttempt, item: DicomFile, key: _ContextKey
    ) -> tuple[DeliveryResult, bool]:
        """Store on this association and keep it for the next object when it is still up.
        Also says whether the association was lost before the peer answered."""
        with self._lock:
            self._current = attempt
            closed = self._closed
        keep = False
        try:
            if closed:
                return DeliveryResult.transient("stopped"), False
            result, lost = self._store(attempt, item)
            keep = attempt.established
            return result, lost
        finally:
            with self._lock:
                self._current = None
                keep = keep and not self._closed
                if keep:
                    self._park(attempt, key)
            if not keep:
                attempt.release()

    def _detach_idle(
        self, only: AssociationAttempt | None = None
    ) -> tuple[AssociationAttempt, _ContextKey] | None:
        """Take the kept association (only `only`, when given and still the one kept) and
        stop its idle timer."""
        with self._lock:
            idle = self._idle
            if idle is None or (only is not None and idle[0] is not only):
                return None
            self._idle = None
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None
        return idle

    def _take_idle(self, key: _ContextKey) -> AssociationAttempt | None:
        """The association kept open, when it is still up and fits this object's contexts."""
        idle = self._detach_idle()
        if idle is None:
            return None
        attempt, idle_key = idle
        if idle_key == key and attempt.established:
            return attempt
        attempt.release()  # another SOP class or transfer syntax: a new association
        return None

    def _park(self, attempt: AssociationAttempt, key: _ContextKey) -> None:
        """Keep an association for the next object (call with the lock held)."""
        self._idle = (attempt, key)
        timer = threading.Timer(IDLE_RELEASE_S, self._release_idle, args=(attempt,))
        timer.daemon = True
        self._idle_timer = timer
        timer.start()

    def _release_idle(
        self, attempt: AssociationAttempt | None = None, *, wait_s: float | None = None
    ) -> None:
        """Release the idle association (the one given, when it is still the idle one);
        `wait_s` bounds how long the peer may take to confirm."""
        idle = self._detach_idle(attempt)
        if idle is None:
            return
        assoc = idle[0].assoc
        if wait_s is not None and assoc is not None:
            assoc.acse_timeout = min(assoc.acse_timeout or wait_s, wait_s)
        idle[0].release()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            current = self._current
        if current is not None and current.assoc is not None and current.assoc.is_established:
            current.assoc.abort()
        # Politely, but a peer that does not confirm must not hold up a stop for 30 s.
        self._release_idle(wait_s=CLOSE_RELEASE_S)

    def _store(self, attempt: AssociationAttempt, item: DicomFile) -> tuple[DeliveryResult, bool]:
        """The peer's answer, and whether the association was lost before it came."""
        assoc = attempt.assoc
        assert assoc is not None
        accepted = {str(cx.transfer_syntax[0]) for cx in assoc.accepted_contexts
                    if cx.abstract_syntax == item.sop_class_uid}
        note = transfer_syntax_name(item.transfer_syntax)
        payload: Path | Dataset
        if item.transfer_syntax in accepted and item.part10:
            # Streamed from the file: pixel data never sits in memory. pynetdicom reads this
            # flag on each call, and it only changes sends given a path.
            pynetdicom_config.STORE_SEND_CHUNKED_DATASET = True
            payload = item.path
        elif item.uncompressed and accepted & UNCOMPRESSED:
            payload = dcmread(item.path, force=not item.part10)  # pynetdicom re-encodes natively
            chosen = next(ts for ts in (*UNCOMPRESSED_FALLBACKS, *sorted(UNCOMPRESSED)) if ts in accepted)
            note = f"sent as {transfer_syntax_name(chosen)}"
        elif ExplicitVRLittleEndian in accepted:
            converted = _to_explicit_little(item)
            if isinstance(converted, str):
                return DeliveryResult.permanent(converted), False
            payload = converted
            note = (f"converted from {transfer_syntax_name(item.transfer_syntax)} to Explicit VR "
                    "Little Endian: the peer does not accept the original")
        else:
            return DeliveryResult.permanent(
                f"the peer does not accept {transfer_syntax_name(item.transfer_syntax)} for this "
                "SOP class, and the pixel data cannot be decoded here to send it uncompressed"
            ), False
        try:
            status = assoc.send_c_store(payload)
        except RuntimeError:  # the association went away
            return DeliveryResult.transient(attempt.loss_reason()), True
        except (ValueError, AttributeError) as exc:
            return DeliveryResult.permanent(f"could not send the stored file: {exc}"), False
        except OSError as exc:
            return DeliveryResult.transient(f"could not read the stored file: {exc.strerror or exc}"), False
        if "Status" not in status:
            if not assoc.is_established:
                return DeliveryResult.transient(attempt.loss_reason()), True
            assoc.abort()  # a DIMSE time-out: do not leave the association dangling (no retry)
            return DeliveryResult.transient("no C-STORE response from the peer"), False
        return status_result(int(status.Status), str(status.get("ErrorComment", "") or ""), note), False


def proposals(item: DicomFile) -> list[tuple[str, list[str]]]:
    """Presentation contexts: the stored syntax first; a separate Explicit VR Little Endian
    context only when we could honour it (PS3.8 §9.3.2.2 lets one abstract syntax appear in
    several contexts, so the peer can accept the original and the fallback independently)."""
    if item.uncompressed:
        syntaxes = [item.transfer_syntax, *(ts for ts in UNCOMPRESSED_FALLBACKS if ts != item.transfer_syntax)]
        return [(item.sop_class_uid, syntaxes)]
    contexts = [(item.sop_class_uid, [item.transfer_syntax])]
    if can_convert(item.transfer_syntax):
        contexts.append((item.sop_class_uid, [ExplicitVRLittleEndian]))
    return contexts


def can_convert(transfer_syntax: str) -> bool:
    """Deflated data can always be re-encoded; encapsulated pixel data needs a decoder."""
    uid = UID(transfer_syntax)
    if not uid.is_encapsulated:
        return True
    try:
        from pydicom.pixels import get_decoder

        return bool(get_decoder(uid).is_available)
    except (NotImplementedError, ValueError):
        return False


def _to_explicit_little(item: DicomFile) -> Dataset | str:
    """The object in Explicit VR Little Endian, or why it cannot be."""
    try:
        ds = dcmread(item.path, force=not item.part10)
        if UID(item.transfer_syntax).is_encapsulated:
            # pydicom + pylibjpeg decoders; sets the transfer syntax. The same object in another
            # encoding keeps its SOP Instance UID (pydicom would make a new one by default).
            ds.decompress(generate_instance_uid=False)
        else:
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    except Exception as exc:  # noqa: BLE001 - decoders raise many kinds on data they cannot handle
        return (f"the peer does not accept {transfer_syntax_name(item.transfer_syntax)} and the pixel "
                f"data could not be decoded: {type(exc).__name__}: {exc}")
    return ds


def status_result(code: int, comment: str, note: str = "") -> DeliveryResult:
    """The peer's C-STORE status as a result (PS3.4 Table B.2-1)."""
    # The peer's comment goes into the record only, not into `response` (which is logged):
    # a comment may quote the data set.
    status_text = format_status(code) + (f" ({note})" if note else "")
    text = status_text + (f"; error comment: {comment}" if comment else "")
    category, _ = status_meaning(code)
    if category in (SUCCESS, WARNING):
        return DeliveryResult(ok=True, response=status_text, error=text if comment else "")
    if 0xA700 <= code <= 0xA7FF or code in _TRANSIENT_STATUS or code == 0xFE00:
        return DeliveryResult.transient(text, status_text)
    return DeliveryResult.permanent(text, status_text)


def association_failure(attempt: AssociationAttempt) -> DeliveryResult:
    """A refused, rejected or lost association request, sorted transient or permanent."""
    reason = attempt.reason or "the association could not be established"
    assoc = attempt.assoc
    with attempt.signals.lock:
        connect_error = attempt.signals.connect_error
        reject = attempt.signals.reject
    if isinstance(connect_error, ssl.SSLCertVerificationError):
        return DeliveryResult.permanent(reason)  # an untrusted certificate stays untrusted
    if (assoc is not None and assoc.is_rejected) or reject is not None:
        response = assoc.acceptor.primitive if assoc is not None else None
        if response is not None:
            result = int(response.result or 0)
        else:  # the reject pynetdicom missed (scu_association.PeerSignals), else permanent
            result = reject[0] if reject is not None else 1
        # PS3.8 §9.3.4: result 1 rejected-permanent, 2 rejected-transient.
        if result == 2:
            return DeliveryResult.transient(reason)
        return DeliveryResult.permanent(reason)
    if assoc is not None and assoc.acceptor.primitive is not None and assoc.acceptor.primitive.result == 0:
        return DeliveryResult.permanent(reason)  # accepted, but none of our contexts
    return DeliveryResult.transient(reason)  # refused, timed out, aborted: the peer may come back
