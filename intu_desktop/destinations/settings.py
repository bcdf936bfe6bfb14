"""Reading a destination's settings block (the mapping under its type key) with clear errors.

The config package has already checked types against intu's schema; what remains are
values only known at run time: a `${VAR}` that was never set, a relative file path.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from intu_desktop.dicom.client_tls import ClientTls

_UNSET_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MIN_TLS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


class SettingsError(ValueError):
    """A destination setting cannot be used; the text names the key (never a secret value)."""


class Settings:
    """Typed access to one settings mapping; `prefix` names it in errors ("fhir.auth")."""

    def __init__(self, values: Mapping[str, Any] | None, prefix: str, base_dir: Path) -> None:
        self.values: Mapping[str, Any] = values if isinstance(values, Mapping) else {}
        self.prefix = prefix
        self.base_dir = base_dir

    def child(self, key: str) -> Settings:
        value = self.values.get(key)
        return Settings(value if isinstance(value, Mapping) else {}, f"{self.prefix}.{key}", self.base_dir)

    def has(self, key: str) -> bool:
        return self.values.get(key) not in (None, "")

    def text(self, key: str, default: str = "", *, required: bool = False, literal: bool = False) -> str:
        """literal: `${name}` is the value's own syntax (filename patterns), not a variable."""
        value = self.values.get(key)
        if value in (None, ""):
            if required:
                raise SettingsError(f"{self.prefix}.{key} is not set")
            return default
        text = str(value)
        missing = None if literal else _UNSET_VARIABLE.search(text)
        if missing:
            # DESIGN §4: an unset ${VAR} stays literal; sending it would leak the placeholder.
            raise SettingsError(
                f"{self.prefix}.{key} uses ${{{missing.group(1)}}}, which is not set "
                "(in the environment or the project's .env)"
            )
        return text

    def integer(self, key: str, default: int) -> int:
        value = self.values.get(key)
        if value in (None, ""):
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{self.prefix}.{key} must be a whole number") from None

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.values.get(key)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return default

    def mapping(self, key: str) -> dict[str, str]:
        value = self.values.get(key)
        if not isinstance(value, Mapping):
            return {}
        sub = Settings(value, f"{self.prefix}.{key}", self.base_dir)
        return {str(k): sub.text(str(k)) for k in value}

    def strings(self, key: str) -> list[str]:
        value = self.values.get(key)
        if isinstance(value, list):
            return [str(v) for v in value]
        if isinstance(value, str) and value:
            return [value]
        return []

    def path(self, key: str) -> Path | None:
        text = self.text(key)
        if not text:
            return None
        path = Path(text).expanduser()
        return path if path.is_absolute() else self.base_dir / path


def timeout_seconds(settings: Settings, default_ms: int = 30000) -> float:
    return max(1, settings.integer("timeout_ms", default_ms)) / 1000.0


def http_ssl_context(tls: Settings) -> ssl.SSLContext:
    """Client TLS for HTTPS: verify the server and its host name unless told not to."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    version = tls.text("min_version", "1.2")
    if version not in _MIN_TLS:
        raise SettingsError(f"{tls.prefix}.min_version must be 1.2 or 1.3")
    ctx.minimum_version = _MIN_TLS[version]  # RELIABILITY 25: never below TLS 1.2
    ca_file = tls.path("ca_file")
    try:
        if ca_file is not None:
            ctx.load_verify_locations(cafile=str(ca_file))
        cert, key = _client_pair(tls)
        if cert is not None:
            ctx.load_cert_chain(str(cert), str(key) if key is not None else None, password=_no_password)
    except FileNotFoundError as exc:
        raise SettingsError(f"{tls.prefix}: file not found: {exc.filename}") from None
    except ssl.SSLError as exc:
        raise SettingsError(f"{tls.prefix}: cannot use the certificate files ({exc.reason or exc})") from None
    if tls.flag("insecure_skip_verify"):
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def dicom_client_tls(tls: Settings) -> ClientTls | None:
    """TLS for a DICOM destination: on with `enabled: true`, or when any TLS file is given
    and `enabled` is not false (the listener's rule, DESIGN §4)."""
    if not tls.values:
        return None
    files = any(tls.has(k) for k in ("ca_file", "client_cert_file", "cert_file"))
    enabled = tls.values.get("enabled")
    if enabled is False or (enabled is None and not files):
        return None
    cert, key = _client_pair(tls)
    return ClientTls(
        ca_file=tls.path("ca_file"),
        cert_file=cert,
        key_file=key,
        verify=not tls.flag("insecure_skip_verify"),
        min_version=tls.text("min_version", "1.2"),
    )


def _client_pair(tls: Settings) -> tuple[Path | None, Path | None]:
    # intu names the client pair client_cert_file/client_key_file; cert_file/key_file are
    # accepted as well, since that is what the listener's block calls them.
    cert = tls.path("client_cert_file") or tls.path("cert_file")
    key = tls.path("client_key_file") or tls.path("key_file")
    return cert, key


def _no_password() -> bytes:
    # An encrypted key would make OpenSSL prompt on the terminal; fail instead.
    return b""
