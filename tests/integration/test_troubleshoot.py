"""Issue 7: refusals explained against the channel configuration, with real DCMTK peers."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme
from dicomtools import copies_with_new_uids, echoscu, free_port, sample, storescu, wait_for, write_channel

from intu_desktop.dicom.diagnosis import explain
from intu_desktop.index.associations import recent_associations


def _hints(rt, predicate):
    rec = wait_for(lambda: [a for a in recent_associations(rt.index) if predicate(a)], timeout=15)[0]
    channel = next(iter(rt.listeners.values())).config
    return rec, explain(rec, channel)


def test_misspelt_calling_ae_gets_did_you_mean(start_runtime, tmp_path: Path) -> None:
    port = free_port()
    rt = start_runtime(write_channel(tmp_path / "ch", port=port, calling=["CT_SCANNER_1", "MR_SCANNER_2"]),
                       with_pipeline=False)
    assert storescu(port, [sample("CT_small.dcm")], aet="CT_SCANER_1").returncode != 0
    rec, hints = _hints(rt, lambda a: a.state == "rejected")
    assert rec.calling_ae == "CT_SCANER_1"
    assert "did you mean CT_SCANNER_1?" in hints[0].title
    assert hints[0].fix is not None and hints[0].fix.value == "CT_SCANER_1"


@pytest.fixture
def certs(tmp_path: Path) -> dict[str, Path]:
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    client = ca.issue_cert("modality")
    out = {}
    for name, blob in (("ca", ca.cert_pem), ("cert", server.cert_chain_pems[0]), ("key", server.private_key_pem),
                       ("ccert", client.cert_chain_pems[0]), ("ckey", client.private_key_pem)):
        out[name] = tmp_path / f"{name}.pem"
        blob.write_to_path(str(out[name]))
    return out


def test_plain_client_on_a_tls_channel_is_explained(start_runtime, tmp_path: Path, certs) -> None:
    port = free_port()
    rt = start_runtime(write_channel(tmp_path / "ch", port=port, extra_dicom=f"""
        tls:
          cert_file: {certs['cert']}
          key_file: {certs['key']}
        """), with_pipeline=False)
    assert echoscu(port, timeout=60).returncode != 0
    _rec, hints = _hints(rt, lambda a: "TLS" in a.reason)
    assert "plain (non-TLS) connection reached this TLS port" in hints[0].title


def test_tls_client_on_a_plain_channel_is_explained(start_runtime, tmp_path: Path, certs) -> None:
    port = free_port()
    rt = start_runtime(write_channel(tmp_path / "ch", port=port), with_pipeline=False)
    assert echoscu(port, extra=["+tls", str(certs["ckey"]), str(certs["ccert"]), "+cf", str(certs["ca"])]
                   ).returncode != 0
    _rec, hints = _hints(rt, lambda a: a.state == "aborted" and a.reason)
    assert "TLS connection reached this plain port" in hints[0].title


@pytest.mark.parametrize("tuning,flagged", [(False, True), (True, False)])
def test_slow_link_signature_of_nagle_against_delayed_acks(start_runtime, tmp_path: Path, tuning: bool,
                                                           flagged: bool) -> None:
    """storescu in its default settings (Nagle on) against a receiver that does not (tcp_tuning off)
    and that does (on) acknowledge at once."""
    port = free_port()
    rt = start_runtime(write_channel(tmp_path / "ch", port=port,
                                     extra_dicom=f"tcp_tuning: {'true' if tuning else 'false'}"),
                       with_pipeline=False)
    files = copies_with_new_uids(sample("CT_small.dcm"), tmp_path / "objs", 15)
    assert storescu(port, files).returncode == 0
    _rec, hints = _hints(rt, lambda a: a.state == "released" and a.instances == 15)
    assert any(h.title.startswith("Slow link") for h in hints) is flagged, [h.title for h in hints]
