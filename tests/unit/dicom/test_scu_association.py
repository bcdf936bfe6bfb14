"""Why an association request failed, in words, even when pynetdicom loses the answer."""

from __future__ import annotations

from types import SimpleNamespace

from pynetdicom.pdu import A_ASSOCIATE_RJ

from intu_desktop.destinations.dicom import association_failure
from intu_desktop.dicom.scu_association import (
    AssociationAttempt,
    PeerSignals,
    _failure_reason,
    _on_pdu,
)


def _reject_pdu(result: int, source: int, reason: int) -> A_ASSOCIATE_RJ:
    pdu = A_ASSOCIATE_RJ()
    pdu.result, pdu.source, pdu.reason_diagnostic = result, source, reason
    return pdu


def test_a_reject_pynetdicom_missed_is_still_reported_as_a_reject() -> None:
    """A peer that rejects and closes at once (dcmqrscp) can close the socket before the
    requesting thread checks it is connected: pynetdicom then aborts as if it never connected
    (a user abort, no rejection recorded). The received A-ASSOCIATE-RJ PDU still says why."""
    signals = PeerSignals()
    _on_pdu(SimpleNamespace(pdu=_reject_pdu(1, 1, 7)), signals)  # called AE title not recognized
    signals.sent_abort = (0, 0)  # pynetdicom's abort after its failed connection check
    assoc = SimpleNamespace(is_rejected=False, acceptor=SimpleNamespace(primitive=None))
    reason = _failure_reason(assoc, signals, 30.0, None)  # type: ignore[arg-type]
    assert reason.startswith("association rejected: called AE title not recognized")
    attempt = AssociationAttempt(assoc, reason, signals, 30.0)  # type: ignore[arg-type]
    assert not association_failure(attempt).retryable  # permanent, as a recorded reject is

    signals.reject = (2, 1, 2)  # rejected-transient (PS3.8 9.3.4): the queue tries again
    assert association_failure(attempt).retryable
