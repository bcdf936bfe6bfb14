"""The client-side TLS context (client_tls.py)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from intu_desktop.dicom.client_tls import ClientTls, TlsConfigError


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    ca = trustme.CA()
    client = ca.issue_cert("client.example")
    other = trustme.CA().issue_cert("other.example")
    paths = {
        "ca": tmp_path / "ca.pem",
        "cert": tmp_path / "client.pem",
        "key": tmp_path / "client.key",
        "other_key": tmp_path / "other.key",
    }
    ca.cert_pem.write_to_path(str(paths["ca"]))
    client.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    client.private_key_pem.write_to_path(str(paths["key"]))
    other.private_key_pem.write_to_path(str(paths["other_key"]))
    return paths


def test_verifying_context_trusts_only_the_given_ca(pki: dict[str, Path]) -> None:
    ctx = ClientTls(ca_file=pki["ca"]).context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    # DICOM peers are addressed by IP; trust comes from the chain (PS3.15 Annex B).
    assert ctx.check_hostname is False
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    assert len(ctx.get_ca_certs()) == 1


def test_tls13_minimum_and_hostname_check_on_request(pki: dict[str, Path]) -> None:
    ctx = ClientTls(ca_file=pki["ca"], min_version="1.3", check_hostname=True).context()
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_3
    assert ctx.check_hostname is True


def test_no_verify(pki: dict[str, Path]) -> None:
    ctx = ClientTls(verify=False).context()
    assert ctx.verify_mode == ssl.CERT_NONE


def test_client_certificate_loads(pki: dict[str, Path]) -> None:
    ClientTls(ca_file=pki["ca"], cert_file=pki["cert"], key_file=pki["key"]).context()


def test_missing_ca_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TlsConfigError, match="CA file not found: .*nope.pem"):
        ClientTls(ca_file=tmp_path / "nope.pem").context()


def test_key_not_matching_certificate(pki: dict[str, Path]) -> None:
    with pytest.raises(TlsConfigError, match="key values mismatch"):
        ClientTls(cert_file=pki["cert"], key_file=pki["other_key"]).context()


def test_key_without_certificate(pki: dict[str, Path]) -> None:
    with pytest.raises(TlsConfigError, match="without a certificate"):
        ClientTls(key_file=pki["key"]).context()


def test_old_tls_versions_refused() -> None:
    with pytest.raises(TlsConfigError, match="unsupported minimum TLS version"):
        ClientTls(verify=False, min_version="1.0").context()


def test_unreadable_ca_file(tmp_path: Path) -> None:
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(TlsConfigError, match="cannot read CA file"):
        ClientTls(ca_file=garbage).context()
