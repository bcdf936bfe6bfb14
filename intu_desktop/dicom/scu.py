"""The echo and send tools: C-ECHO and C-STORE as a service class user (issue 7).

`echo` answers "can I reach this SCP?", `send` pushes files to it. Both return results
with reasons in words; the command-line wrappers (`cli_echo`, `cli_send`) print them.
Logs carry UIDs and AE titles only, never patient data (RELIABILITY 29).
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import UID
from pynetdicom import _config as pynetdicom_config

from intu_desktop.dicom.client_tls import ClientTls, TlsConfigError
from intu_desktop.dicom.names import (
    CONTEXT_RESULT,
    SUCCESS,
    WARNING,
    format_status,
    sop_class_name,
    status_meaning,
    transfer_syntax_name,
)
from intu_desktop.dicom.scu_association import (
    MAX_CONTEXTS,
    AssociationAttempt,
    associate,
)
from intu_desktop.dicom.scu_files import (
    UNCOMPRESSED,
    DicomFile,
    NotSendable,
    context_key,
    inspect,
    proposed_syntaxes,
    walk,
)

log = logging.getLogger(__name__)

DEFAULT_AET = "INTU_DESKTOP"
DEFAULT_AEC = "ANY-SCP"
VERIFICATION = UID("1.2.840.10008.1.1")  # PS3.4 Annex A: Verification SOP Class


@dataclass(frozen=True)
class EchoResult:
    ok: bool
    status: int | None
    rtt_ms: float | None  # the C-ECHO round trip alone, without association set-up
    reason: str  # "success" or why not, in words


@dataclass(frozen=True)
class SendResult:
    path: Path
    sop_instance_uid: str | None
    ok: bool  # stored (success or warning status)
    status: int | None
    meaning: str  # "0x0000 Success", "not a DICOM file", "association rejected: ..."
    duration_ms: float
    bytes: int
    skipped: bool = False  # not DICOM (or a DICOMDIR): nothing was attempted
    error_comment: str = ""  # (0000,0902) from the peer, shown as is


SendProgress = Callable[[SendResult, int, int], None]  # (result, done, total)


def echo(
    host: str,
    port: int,
    *,
    aet: str = DEFAULT_AET,
    aec: str = DEFAULT_AEC,
    tls: ClientTls | None = None,
    timeout_s: float = 10.0,
) -> EchoResult:
    """C-ECHO (PS3.7 §9.1.5) the peer; never raises for network or TLS trouble."""
    try:
        context = tls.context() if tls is not None else None
        attempt = associate(
            host,
            port,
            aet=aet,
            aec=aec,
            contexts=[(VERIFICATION, [])],
            tls=context,
            timeout_s=timeout_s,
        )
    except TlsConfigError as exc:
        return EchoResult(False, None, None, f"TLS configuration error: {exc}")
    except ValueError as exc:  # pynetdicom refuses an invalid AE title before connecting
        return EchoResult(False, None, None, f"invalid request: {exc}")
    assoc = attempt.assoc
    if assoc is None or not attempt.established:
        log.info("C-ECHO %s -> %s@%s:%s failed: %s", aet, aec, host, port, attempt.reason)
        return EchoResult(False, None, None, attempt.reason)
    try:
        started = time.perf_counter()
        status = assoc.send_c_echo()
        rtt_ms = (time.perf_counter() - started) * 1000.0
        if "Status" not in status:
            return EchoResult(False, None, None, attempt.loss_reason())
        code = int(status.Status)
        category, _ = status_meaning(code, "C-ECHO")
        ok = category == SUCCESS
        reason = "success" if ok else format_status(code, "C-ECHO")
        log.info("C-ECHO %s -> %s@%s:%s: 0x%04X", aet, aec, host, port, code)
        return EchoResult(ok, code, rtt_ms, reason)
    finally:
        attempt.release()


def send(
    host: str,
    port: int,
    paths: Iterable[Path],
    *,
    aet: str = DEFAULT_AET,
    aec: str = DEFAULT_AEC,
    tls: ClientTls | None = None,
    timeout_s: float = 30.0,
    progress: SendProgress | None = None,
    cancel: threading.Event | None = None,
) -> list[SendResult]:
    """C-STORE (PS3.4 Annex B) every DICOM file named or found under the folders named.

    One association carries all files (more only past 128 presentation contexts, or to
    carry on after the peer aborted). Results come back in the order of the files.
    """
    files = list(walk(paths))
    total = len(files)
    results: list[SendResult | None] = [None] * total
    done = 0

    def report(index: int, result: SendResult) -> None:
        nonlocal done
        results[index] = result
        done += 1
        if progress is not None:
            progress(result, done, total)

    sendable: list[tuple[int, DicomFile]] = []
    for index, path in enumerate(files):
        item = inspect(path)
        if isinstance(item, NotSendable):
            report(index, _not_sent(item))
        else:
            sendable.append((index, item))

    try:
        context = tls.context() if tls is not None else None
    except TlsConfigError as exc:
        for index, item in sendable:
            report(index, _failed(item, f"TLS configuration error: {exc}"))
        return [r for r in results if r is not None]

    for batch in _batches(sendable):
        _send_batch(batch, report, host, port, aet, aec, context, timeout_s, cancel)
    return [r for r in results if r is not None]


def _batches(sendable: list[tuple[int, DicomFile]]) -> list[list[tuple[int, DicomFile]]]:
    """Split files so no association proposes more than 128 contexts (PS3.8 §9.3.2)."""
    keys: dict[tuple[str, str], int] = {}
    for _, item in sendable:
        keys.setdefault(context_key(item), len(keys) // MAX_CONTEXTS)
    batches: list[list[tuple[int, DicomFile]]] = [[] for _ in range(len(set(keys.values())))]
    for index, item in sendable:
        batches[keys[context_key(item)]].append((index, item))
    return batches


def _contexts(batch: Sequence[tuple[int, DicomFile]]) -> list[tuple[str, list[str]]]:
    grouped: dict[tuple[str, str], list[DicomFile]] = {}
    for _, item in batch:
        grouped.setdefault(context_key(item), []).append(item)
    return [(key[0], proposed_syntaxes(items)) for key, items in grouped.items()]


def _send_batch(
    batch: list[tuple[int, DicomFile]],
    report: Callable[[int, SendResult], None],
    host: str,
    port: int,
    aet: str,
    aec: str,
    tls: ssl.SSLContext | None,
    timeout_s: float,
    cancel: threading.Event | None,
) -> None:
    contexts = _contexts(batch)
    attempt: AssociationAttempt | None = None
    try:
        for position, (index, item) in enumerate(batch):
            if cancel is not None and cancel.is_set():
                for later_index, later in batch[position:]:
                    report(later_index, _failed(later, "cancelled"))
                return
            if attempt is None or not attempt.established:
                # First file, or the peer aborted during the previous one: (re-)associate.
                attempt = associate(
                    host,
                    port,
                    aet=aet,
                    aec=aec,
                    contexts=contexts,
                    tls=tls,
                    timeout_s=timeout_s,
                )
                if not attempt.established:
                    log.info("C-STORE %s -> %s@%s:%s: %s", aet, aec, host, port, attempt.reason)
                    for later_index, later in batch[position:]:
                        report(later_index, _failed(later, attempt.reason))
                    return
            report(index, _store_one(attempt, item))
    finally:
        if attempt is not None:
            attempt.release()


def _store_one(attempt: AssociationAttempt, item: DicomFile) -> SendResult:
    assoc = attempt.assoc
    if assoc is None:
        return _failed(item, attempt.reason)
    exact = [
        cx
        for cx in assoc.accepted_contexts
        if cx.abstract_syntax == item.sop_class_uid
        and cx.transfer_syntax[0] == item.transfer_syntax
    ]
    convertible = [
        cx
        for cx in assoc.accepted_contexts
        if cx.abstract_syntax == item.sop_class_uid and cx.transfer_syntax[0] in UNCOMPRESSED
    ]
    if not exact and not (item.uncompressed and convertible):
        # PS3.8 §9.3.3.2: the A-ASSOCIATE-AC says why each context was refused.
        results = {
            CONTEXT_RESULT.get(cx.result or 0, f"result {cx.result}")
            for cx in assoc.rejected_contexts
            if cx.abstract_syntax == item.sop_class_uid
        }
        why = "; ".join(sorted(results)) or "no accepted presentation context"
        return _failed(
            item,
            f"the peer does not accept {sop_class_name(item.sop_class_uid)} in "
            f"{transfer_syntax_name(item.transfer_syntax)}: {why}",
        )
    started = time.perf_counter()
    if exact and item.part10:
        # Streamed from the file in PDU-sized pieces: pixel data never sits in memory.
        # pynetdicom reads this flag per call; it only changes sends given a path.
        pynetdicom_config.STORE_SEND_CHUNKED_DATASET = True
        payload: Path | Dataset = item.path
    else:
        # The peer wants another native transfer syntax (or there is no File Meta):
        # pynetdicom re-encodes a Dataset, so this one is read whole.
        try:
            payload = _read_for_conversion(item)
        except Exception as exc:  # noqa: BLE001 - pydicom raises many kinds on a damaged file
            return _failed(item, f"could not read the file: {exc}", started)
    try:
        status = assoc.send_c_store(payload)
    except RuntimeError:  # the association went away between two files
        return _failed(item, attempt.loss_reason(), started)
    except (OSError, ValueError, AttributeError) as exc:
        return _failed(item, f"could not send: {exc}", started)
    duration_ms = (time.perf_counter() - started) * 1000.0
    if "Status" not in status:
        # Aborted by the peer, connection lost, or a DIMSE time-out (pynetdicom then aborts).
        reason = attempt.loss_reason()
        if assoc.is_established:
            assoc.abort()
        log.info("C-STORE %s: %s", item.sop_instance_uid, reason)
        return _failed(item, reason, started)
    code = int(status.Status)
    category, _ = status_meaning(code)
    ok = category in (SUCCESS, WARNING)
    log.debug("C-STORE %s (%s): 0x%04X", item.sop_instance_uid, item.sop_class_uid, code)
    return SendResult(
        item.path,
        item.sop_instance_uid,
        ok,
        code,
        format_status(code),
        duration_ms,
        item.size,
        error_comment=str(status.get("ErrorComment", "") or ""),
    )


def _read_for_conversion(item: DicomFile) -> Dataset:
    ds = dcmread(item.path, force=not item.part10)
    if "TransferSyntaxUID" not in ds.file_meta:  # a bare data set: say how it was encoded
        ds.file_meta.TransferSyntaxUID = UID(item.transfer_syntax)
    return ds


def _not_sent(item: NotSendable) -> SendResult:
    return SendResult(item.path, None, False, None, item.reason, 0.0, 0, skipped=not item.missing)


def _failed(item: DicomFile, reason: str, started: float | None = None) -> SendResult:
    duration = (time.perf_counter() - started) * 1000.0 if started is not None else 0.0
    return SendResult(item.path, item.sop_instance_uid, False, None, reason, duration, item.size)


# The command-line wrappers live in scu_cli.py (argument parsing and printing); imported
# late because scu_cli builds on this module.
def cli_echo(argv: list[str]) -> int:
    """`intu-desktop echo HOST PORT [--aet] [--aec] [--tls ...]`; returns the exit code."""
    from intu_desktop.dicom.scu_cli import run_echo

    return run_echo(argv)


def cli_send(argv: list[str]) -> int:
    """`intu-desktop send HOST PORT FILE_OR_DIR ... [--aet] [--aec] [--tls ...]`."""
    from intu_desktop.dicom.scu_cli import run_send

    return run_send(argv)
