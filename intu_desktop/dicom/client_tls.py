"""TLS for our outgoing associations (echo, send, DICOM destinations).

PS3.15 Annex B (Secure Transport Connection Profiles) authenticates a DICOM peer by its
certificate chain; it does not ask the peer's certificate to name the host. Modalities and
PACS are configured by IP address and AE title, and their certificates rarely carry that
IP in subjectAltName, so hostname checking is off by default: trust comes from the CA we
are given. Turn `check_hostname` on when the peer's certificate does name the host.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

# RELIABILITY 25: TLS 1.2 and 1.3 only.
_MIN_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


class TlsConfigError(ValueError):
    """A TLS file is missing or unreadable, or an option is invalid; the text says which."""


@dataclass(frozen=True)
class ClientTls:
    """How we connect over TLS: whom we trust, and who we are (for mutual TLS).

    ca_file: PEM bundle of the CAs that sign the peer's certificate; None means the
        system's trust store.
    cert_file / key_file: our client certificate and its key (PEM); needed only when the
        peer requires mutual TLS. key_file may be None when cert_file holds both.
    verify: False accepts any server certificate (troubleshooting only: no authentication).
    """

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    verify: bool = True
    min_version: str = "1.2"
    check_hostname: bool = False

    def context(self) -> ssl.SSLContext:
        """A client-side SSLContext; raises TlsConfigError with the reason in words."""
        if self.min_version not in _MIN_VERSIONS:
            raise TlsConfigError(
                f"unsupported minimum TLS version {self.min_version!r} (use 1.2 or 1.3)"
            )
        if self.key_file is not None and self.cert_file is None:
            raise TlsConfigError("a TLS key file was given without a certificate file")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = _MIN_VERSIONS[self.min_version]
        # check_hostname must be switched off before verify_mode may leave CERT_REQUIRED.
        ctx.check_hostname = self.verify and self.check_hostname
        if self.verify:
            ctx.verify_mode = ssl.CERT_REQUIRED
            if self.ca_file is not None:
                _require_file(self.ca_file, "CA file")
                try:
                    ctx.load_verify_locations(cafile=str(self.ca_file))
                except ssl.SSLError as exc:
                    raise TlsConfigError(
                        f"cannot read CA file {self.ca_file}: {_ssl_words(exc)}"
                    ) from exc
            else:
                ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
        else:
            ctx.verify_mode = ssl.CERT_NONE
        if self.cert_file is not None:
            _require_file(self.cert_file, "certificate file")
            if self.key_file is not None:
                _require_file(self.key_file, "key file")
            try:
                ctx.load_cert_chain(
                    certfile=str(self.cert_file),
                    keyfile=str(self.key_file) if self.key_file is not None else None,
                    # An encrypted key would make OpenSSL prompt on the terminal; fail instead.
                    password=_no_password,
                )
            except ssl.SSLError as exc:
                raise TlsConfigError(
                    f"cannot use certificate {self.cert_file} with key "
                    f"{self.key_file or self.cert_file}: {_ssl_words(exc)}"
                ) from exc
        return ctx


def _require_file(path: Path, what: str) -> None:
    if not Path(path).is_file():
        raise TlsConfigError(f"TLS {what} not found: {path}")


def _no_password() -> bytes:
    return b""


def _ssl_words(exc: ssl.SSLError) -> str:
    """OpenSSL's short reason ('KEY_VALUES_MISMATCH') rather than the whole tuple."""
    return str(exc.reason or exc.strerror or exc).replace("_", " ").lower()
