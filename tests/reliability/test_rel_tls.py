"""RELIABILITY 25, 26, 28 and issue 10 "TLS": bad files at start, old protocol versions, and
the host binding of calling AE titles (a desktop extension of the channel YAML).

Proven elsewhere: TLS 1.1 refused and 1.2 accepted, mutual TLS with a trusted, an
untrusted and a missing client certificate, a silent peer not blocking TLS associations
(tests/integration/test_receiver_tls.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import ssl
import subprocess
import warnings
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from dicomtools import echoscu, free_port, wait_for, write_channel
from rel_helpers import PROGRAM, tls_extra

from intu_desktop.config.extensions import desktop_extensions_used
from intu_desktop.index.associations import recent_associations


def _self_signed(tmp_path: Path, name: str, *, not_before: dt.datetime, not_after: dt.datetime) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def _start_headless(tmp_path: Path, cert: Path, key: Path) -> subprocess.CompletedProcess[str]:
    channel = write_channel(tmp_path / "ch", port=free_port(), extra_dicom=f"tls:\n  cert_file: {cert}\n  key_file: {key}")
    return subprocess.run([*PROGRAM, "--headless", "--channel", str(channel), "--data-dir", str(tmp_path / "data")],
                          capture_output=True, text=True, timeout=60)


NOW = dt.datetime.now(dt.UTC)


@pytest.mark.parametrize("problem,expected", [
    ("expired", "the certificate expired on"),
    ("not-yet-valid", "the certificate is not valid before"),
    ("mismatched-key", "the private key does not belong to the certificate"),
])
def test_bad_certificate_files_at_start_exit_2_with_one_clear_line(tmp_path: Path, problem: str,
                                                                     expected: str) -> None:
    if problem == "expired":
        cert, key = _self_signed(tmp_path, "old", not_before=NOW - dt.timedelta(days=400),
                                 not_after=NOW - dt.timedelta(days=35))
    elif problem == "not-yet-valid":
        cert, key = _self_signed(tmp_path, "future", not_before=NOW + dt.timedelta(days=10),
                                 not_after=NOW + dt.timedelta(days=400))
    else:
        cert, _ = _self_signed(tmp_path, "one", not_before=NOW - dt.timedelta(days=1), not_after=NOW + dt.timedelta(days=9))
        _, key = _self_signed(tmp_path, "other", not_before=NOW - dt.timedelta(days=1),
                              not_after=NOW + dt.timedelta(days=9))
    result = _start_headless(tmp_path, cert, key)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines  # one clear line, no traceback
    assert expected in lines[0] and ("TLS" in lines[0])


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_tls_1_0_and_1_1_handshakes_are_refused(receiver, pki: dict[str, Path], version: ssl.TLSVersion) -> None:
    rx = receiver(tls_extra(pki))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(pki["ca"]))
    ctx.check_hostname = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # offering old versions is the point
        ctx.minimum_version = ctx.maximum_version = version
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with socket.create_connection(("127.0.0.1", rx.port), timeout=10) as raw:
        with pytest.raises(ssl.SSLError) as refused:
            ctx.wrap_socket(raw)
    assert "NO_PROTOCOLS_AVAILABLE" not in str(refused.value)  # the server refused, not this client


def test_calling_ae_bound_to_this_host_is_accepted(receiver) -> None:
    rx = receiver("calling_ae_hosts:\n  CT_SCANNER_1: [127.0.0.1]")
    assert echoscu(rx.port, aet="CT_SCANNER_1").returncode == 0
    assert echoscu(rx.port, aet="ANY_OTHER_AE").returncode == 0  # titles not listed: any host


def test_calling_ae_bound_to_another_host_is_rejected_with_the_reason(receiver,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    rx = receiver("calling_ae_hosts:\n  CT_SCANNER_1:\n    - 10.20.30.40\n    - 10.20.30.41",
                  calling=["CT_SCANNER_1", "MR_SCANNER_2"])
    refused = echoscu(rx.port, aet="CT_SCANNER_1")
    assert refused.returncode != 0
    assert "Calling AE Title Not Recognized" in refused.stderr
    rec = wait_for(lambda: [a for a in recent_associations(rx.runtime.index) if a.state == "rejected"])[0]
    assert (rec.reject_result, rec.reject_source, rec.reject_reason) == (1, 1, 3)
    assert rec.reason == ("calling AE title not recognized from this address: 'CT_SCANNER_1' may only connect "
                          "from 10.20.30.40, 10.20.30.41, not 127.0.0.1 (calling_ae_hosts)")
    assert rec.reason in caplog.text
    assert echoscu(rx.port, aet="MR_SCANNER_2").returncode == 0


def test_calling_ae_hosts_is_marked_as_a_desktop_extension() -> None:
    raw = {"listener": {"type": "dicom", "dicom": {"port": 104, "calling_ae_hosts": {"CT": ["127.0.0.1"]}}}}
    assert "listener.dicom.calling_ae_hosts" in desktop_extensions_used(raw)
