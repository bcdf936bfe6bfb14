"""Does a TLS file picked in the form hold what its field needs? No Qt here.

The listener loads these files only when it starts; checking them while editing turns a
later "listener could not start" into an error on the field (PS3.15 Annex B: the DICOM TLS
profiles use X.509 certificates and their private keys). Python's `ssl` parses them the way
the listener will.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Literal

PemKind = Literal["certificate", "key", "ca"]
_MAX_BYTES = 1024 * 1024  # a certificate bundle is kilobytes; anything bigger is a wrong pick
_WORDS = {"certificate": "certificate", "key": "private key", "ca": "CA certificate"}


def pem_problem(path: Path, kind: PemKind, certificate: Path | None = None) -> str | None:
    """Why `path` cannot serve as a `kind` file, in words; None when it can. A key is also
    checked against `certificate` when that one is usable."""
    data, problem = _read(path, kind)
    if problem is not None:
        return problem
    if kind == "key":
        return _key_problem(path, data, certificate)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_verify_locations(cafile=str(path))
    except ssl.SSLError:
        return f"{path.name} holds no readable PEM certificate"
    if not context.get_ca_certs() and b"CERTIFICATE-----" not in data:
        return f"{path.name} holds no certificate"
    return None


def _read(path: Path, kind: PemKind) -> tuple[bytes, str | None]:
    try:
        if not path.is_file():
            return b"", f"file not found: {path}"
        if path.stat().st_size > _MAX_BYTES:
            return b"", f"{path.name} is too large to be a PEM {_WORDS[kind]}"
        data = path.read_bytes()
    except OSError as exc:
        return b"", f"cannot read {path}: {exc.strerror or exc}"
    if b"-----BEGIN" not in data:
        return b"", f"{path.name} is not a PEM file (expected a {_WORDS[kind]})"
    return data, None


def _key_problem(path: Path, data: bytes, certificate: Path | None) -> str | None:
    if b"ENCRYPTED" in data:
        return f"{path.name} is protected by a passphrase; the listener needs an unencrypted key"
    if b"PRIVATE KEY-----" not in data:
        return f"{path.name} holds no PEM private key"
    if certificate is None or pem_problem(certificate, "certificate") is not None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(str(certificate), str(path), password=_no_password)
    except (ssl.SSLError, ValueError) as exc:
        if "KEY_VALUES_MISMATCH" in str(exc) or "key values mismatch" in str(exc):
            return f"{path.name} is not the private key of {certificate.name}"
        return f"{path.name} holds no readable PEM private key"
    return None


def _no_password() -> bytes:
    # Never prompt on a terminal for a passphrase; an encrypted key is an error.
    raise ValueError("the key is encrypted")
