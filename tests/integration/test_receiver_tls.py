"""Issue 2 / RELIABILITY 25–27: DICOM TLS with certificates generated in the test."""

from __future__ import annotations

import socket
import ssl
import time
import warnings
from pathlib import Path

import pytest
import trustme
from dicomtools import echoscu, free_port, sample, storescu, wait_for, write_channel

from intu_desktop.index.associations import recent_associations


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("modality.example")
    rogue_ca = trustme.CA()
    rogue = rogue_ca.issue_cert("rogue.example")
    out = {}
    for name, blob in (
        ("ca", ca.cert_pem), ("server_cert", server.cert_chain_pems[0]), ("server_key", server.private_key_pem),
        ("client_cert", client.cert_chain_pems[0]), ("client_key", client.private_key_pem),
        ("rogue_cert", rogue.cert_chain_pems[0]), ("rogue_key", rogue.private_key_pem),
    ):
        path = tmp_path / f"{name}.pem"
        blob.write_to_path(str(path))
        out[name] = path
    return out


def _tls_channel(tmp_path: Path, pki: dict[str, Path], port: int, *, mutual: bool = False) -> Path:
    extra = f"""
    tls:
      cert_file: {pki['server_cert']}
      key_file: {pki['server_key']}
    """
    if mutual:
        extra += f"""  ca_file: {pki['ca']}
      client_auth: require
    """
    return write_channel(tmp_path / "tls", port=port, extra_dicom=extra)


def _client_tls(pki: dict[str, Path], cert: str = "client") -> list[str]:
    return ["+tls", str(pki[f"{cert}_key"]), str(pki[f"{cert}_cert"]), "+cf", str(pki["ca"])]


def test_echo_and_store_over_tls_and_plain_tcp_fails(start_runtime, tmp_path: Path, pki) -> None:
    port = free_port()
    rt = start_runtime(_tls_channel(tmp_path, pki, port), with_pipeline=False)
    ok = echoscu(port, extra=_client_tls(pki))
    assert ok.returncode == 0, ok.stderr
    stored = storescu(port, [sample("CT_small.dcm")], extra=_client_tls(pki))
    assert stored.returncode == 0, stored.stderr
    assert rt.index.query("SELECT COUNT(*) FROM instances")[0][0] == 1
    plain = echoscu(port, timeout=60)
    assert plain.returncode != 0
    rec = wait_for(lambda: [a for a in recent_associations(rt.index) if "TLS" in a.reason])[0]
    assert "plain" in rec.reason or "never started TLS" in rec.reason


def test_mutual_tls_requires_a_trusted_client_certificate(start_runtime, tmp_path: Path, pki) -> None:
    port = free_port()
    rt = start_runtime(_tls_channel(tmp_path, pki, port, mutual=True), with_pipeline=False)
    assert echoscu(port, extra=_client_tls(pki)).returncode == 0
    anonymous = echoscu(port, extra=["+tla", "+cf", str(pki["ca"])])
    assert anonymous.returncode != 0
    untrusted = echoscu(port, extra=_client_tls(pki, "rogue"))
    assert untrusted.returncode != 0
    reasons = wait_for(lambda: [a.reason for a in recent_associations(rt.index) if a.reason.startswith("TLS")]
                       if len([a for a in recent_associations(rt.index) if a.reason.startswith("TLS")]) >= 2
                       else None)
    assert any("no client certificate" in r for r in reasons), reasons
    assert any("not trusted" in r for r in reasons), reasons


def _handshake(port: int, ca: Path, version: ssl.TLSVersion) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(ca))
    ctx.check_hostname = False
    ctx.minimum_version = version
    ctx.maximum_version = version
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client *offer* old versions
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw) as tls:
            assert tls.version()


def test_tls_1_1_refused_1_2_accepted(start_runtime, tmp_path: Path, pki) -> None:
    port = free_port()
    start_runtime(_tls_channel(tmp_path, pki, port), with_pipeline=False)
    _handshake(port, pki["ca"], ssl.TLSVersion.TLSv1_2)
    with pytest.raises(ssl.SSLError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # offering TLS 1.1 is the point
        _handshake(port, pki["ca"], ssl.TLSVersion.TLSv1_1)
    # The refusal must come from the server (an alert), not from this client being unable to offer 1.1.
    assert "NO_PROTOCOLS_AVAILABLE" not in str(info.value), info.value


def test_a_silent_peer_does_not_block_other_tls_associations(start_runtime, tmp_path: Path, pki) -> None:
    """RELIABILITY 27: pynetdicom handshakes in its accept loop; we do it per connection."""
    port = free_port()
    start_runtime(_tls_channel(tmp_path, pki, port), with_pipeline=False)
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
    try:
        started = time.monotonic()
        result = echoscu(port, extra=_client_tls(pki), timeout=20)
        assert result.returncode == 0, result.stderr
        assert time.monotonic() - started < 15
    finally:
        for s in silent:
            s.close()
