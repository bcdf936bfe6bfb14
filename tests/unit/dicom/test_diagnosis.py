from __future__ import annotations

from types import SimpleNamespace

import pytest

from intu_desktop.dicom.diagnosis import edit_distance, explain, near_match, slow_link, store_times
from intu_desktop.index.associations import AssociationRecord


def _cfg(**kw):
    base = dict(ae_title="INTU_SCP", calling_ae_titles=["CT_SCANNER_1", "MR_SCANNER_2"], calling_ae_hosts={},
                max_associations=4)
    base.update(kw)
    return SimpleNamespace(**base)


def _rec(**kw) -> AssociationRecord:
    base = dict(id="x", channel_id="c", peer_host="10.0.0.5", peer_port=1234, tls=False, requested_at=0.0)
    base.update(kw)
    return AssociationRecord(**base)


@pytest.mark.parametrize("value,expected", [
    ("CT_SCANER_1", "CT_SCANNER_1"),      # one letter missing
    ("ct_scanner_1", "CT_SCANNER_1"),     # case
    (" CT_SCANNER_1 ", "CT_SCANNER_1"),   # surrounding spaces
    ("CT_SCANNER_9", "CT_SCANNER_1"),     # one substitution
    ("MR_SCAN_2", None),                  # three edits: not a near match
    ("CT_SCANNER_1", None),               # exact: nothing to suggest
])
def test_near_match(value: str, expected: str | None) -> None:
    assert near_match(value, ["CT_SCANNER_1", "MR_SCANNER_2"]) == expected


def test_edit_distance() -> None:
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3


def test_calling_ae_refusal_suggests_the_near_match_and_a_fix() -> None:
    hints = explain(_rec(state="rejected", calling_ae="CT_SCANER_1", called_ae="INTU_SCP",
                         reject_result=1, reject_source=1, reject_reason=3), _cfg())
    assert "did you mean CT_SCANNER_1?" in hints[0].title
    assert hints[0].fix is not None and hints[0].fix.append
    assert hints[0].fix.key_path == ("listener", "dicom", "calling_ae_titles")
    assert hints[0].fix.value == "CT_SCANER_1"


def test_called_ae_refusal_offers_to_accept_it() -> None:
    hints = explain(_rec(state="rejected", calling_ae="CT_SCANNER_1", called_ae="INTU_SPC",
                         reject_result=1, reject_source=1, reject_reason=7), _cfg())
    assert "INTU_SCP" in hints[0].title
    assert hints[0].fix is not None and hints[0].fix.value == "INTU_SPC"


def test_tls_mismatch_explained() -> None:
    rec = _rec(state="aborted", tls=True,
               reason="TLS handshake failed: the peer sent plain (non-TLS) data, so it is not using TLS on this TLS port")
    assert "plain (non-TLS) connection reached this TLS port" in explain(rec, _cfg())[0].title
    rec = _rec(state="aborted", reason="the peer started a TLS handshake on this plain (non-TLS) port")
    assert "TLS connection reached this plain port" in explain(rec, _cfg())[0].title


def test_no_transfer_syntax_explained() -> None:
    rec = _rec(state="accepted", calling_ae="US1", called_ae="INTU_SCP", contexts=[
        {"id": 1, "abstract_syntax": "1.2.840.10008.5.1.4.1.1.6.1", "transfer_syntaxes": ["1.2.3.4.5"],
         "result": 4}])
    assert explain(rec, _cfg())[0].title == "No acceptable transfer syntax"


def test_slow_link_signature() -> None:
    assert slow_link([0.041, 0.040, 0.043, 0.039, 0.044, 0.040]) is not None
    assert slow_link([0.002, 0.003, 0.002, 0.004, 0.003, 0.002]) is None
    assert slow_link([0.040] * 3) is None  # too few objects to say
    exchanges = [{"service": "C-STORE", "status": 0, "at": 100 + 0.04 * i} for i in range(10)]
    assert slow_link(store_times(exchanges)) is not None
