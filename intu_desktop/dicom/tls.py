"""Server-side TLS for a channel's listener (PS3.15 Annex B; DESIGN §4).

TLS 1.2 is the floor (RELIABILITY 25). Bad files are found at start, in words, so the
listener never starts half-configured.
"""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path
from typing import Any


class TlsSetupError(Exception):
    """The channel's certificate, key or CA file cannot be used; the message says why."""


def _check_certificate_dates(cert_file: Path) -> None:
    try:
        from cryptography import x509
    except ImportError:  # optional: the handshake itself still refuses bad certificates
        return
    try:
        pem = cert_file.read_bytes()
        cert = x509.load_pem_x509_certificate(pem)
    except Exception as exc:
        raise TlsSetupError(f"{cert_file}: not a PEM certificate ({exc})") from exc
    now = dt.datetime.now(dt.timezone.utc)
    if cert.not_valid_after_utc < now:
        raise TlsSetupError(f"{cert_file}: the certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    if cert.not_valid_before_utc > now:
        raise TlsSetupError(f"{cert_file}: the certificate is not valid before {cert.not_valid_before_utc:%Y-%m-%d}")


def server_context(tls: Any) -> ssl.SSLContext:
    """An SSLContext for `tls` (a config.TlsConfig), or TlsSetupError in words."""
    cert_file, key_file = Path(tls.cert_file), Path(tls.key_file)
    for label, path in (("certificate", cert_file), ("private key", key_file)):
        if not path.is_file():
            raise TlsSetupError(f"{path}: the TLS {label} file does not exist")
    _check_certificate_dates(cert_file)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3 if str(tls.min_version) == "1.3" else ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(cert_file), str(key_file))
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc) or "key values mismatch" in str(exc):
            raise TlsSetupError(f"{key_file}: the private key does not belong to the certificate {cert_file}") from exc
        raise TlsSetupError(f"{cert_file} / {key_file}: cannot load the certificate and key ({exc})") from exc
    client_auth = str(getattr(tls, "client_auth", "none") or "none")
    ca_file = getattr(tls, "ca_file", None)
    if ca_file:
        if not Path(ca_file).is_file():
            raise TlsSetupError(f"{ca_file}: the TLS CA file does not exist")
        try:
            ctx.load_verify_locations(cafile=str(ca_file))
        except ssl.SSLError as exc:
            raise TlsSetupError(f"{ca_file}: cannot load the CA certificates ({exc})") from exc
    if client_auth == "require":
        if not ca_file:
            raise TlsSetupError("client_auth: require needs a ca_file to check client certificates against")
        ctx.verify_mode = ssl.CERT_REQUIRED
    elif client_auth == "request" and ca_file:
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx
