"""Secrets in destination settings are used, never logged, stored or shown in full.

Passwords, tokens and client secrets usually arrive through `${VAR}` from the environment
or `.env` (DESIGN §4). Peers sometimes echo what they received (a 401 page quoting the
Authorization header, a URL with credentials in an error), so every text a destination
produces is passed through its SecretMasker before it reaches a log, the index or the GUI.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
# Keys whose values are secrets wherever they appear in a destination's settings.
SECRET_KEYS = frozenset({
    "password", "token", "client_secret", "key", "passphrase", "secret_access_key", "api_key",
    "access_token", "refresh_token",
})
# Header names whose values are secrets.
SECRET_HEADERS = frozenset({
    "authorization", "proxy-authorization", "x-api-key", "api-key", "apikey", "cookie",
    "x-auth-token", "x-access-token",
})
# Shorter values would mask ordinary words and digits in every message; they are still
# never written on purpose (headers and settings are redacted by key, not by value).
_MIN_SECRET_LENGTH = 4
# Credentials that may appear in texts whatever their value: schemes, URL user info, query keys.
_PATTERNS = (
    re.compile(r"(?i)\b(bearer|basic|digest|negotiate)\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)((?:proxy-)?authorization\s*[:=]\s*)[^\r\n,;]+"),
    re.compile(r"(?i)(://[^/\s:@]*:)[^@\s/]+(@)"),
    re.compile(
        r"(?i)([?&](?:access_token|token|api_key|apikey|key|password|client_secret)=)[^&\s#]+"
    ),
)


class SecretMasker:
    """Replaces known secret values, and anything shaped like a credential, with ***."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        for secret in secrets:
            self.add(secret)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SecretMasker:
        return cls(secret_values(options))

    def add(self, secret: str | None) -> None:
        """Remember one more secret (e.g. an OAuth2 access token obtained at run time)."""
        if not secret or len(secret) < _MIN_SECRET_LENGTH:
            return
        with self._lock:
            if secret not in self._secrets:
                # Longest first, so a secret that contains another is masked whole.
                self._secrets = tuple(sorted((*self._secrets, secret), key=len, reverse=True))

    def mask(self, text: str) -> str:
        if not text:
            return text
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        text = _PATTERNS[0].sub(lambda m: f"{m.group(1)} {MASK}", text)
        text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}{MASK}", text)
        text = _PATTERNS[2].sub(lambda m: f"{m.group(1)}{MASK}{m.group(2)}", text)
        return _PATTERNS[3].sub(lambda m: f"{m.group(1)}{MASK}", text)


def is_secret_key(key: str) -> bool:
    return key.lower() in SECRET_KEYS


def secret_values(options: Any) -> list[str]:
    """Every secret value in a destination's settings (nested auth blocks, secret headers)."""
    found: list[str] = []
    if isinstance(options, Mapping):
        for key, value in options.items():
            lowered = str(key).lower()
            if lowered == "headers" and isinstance(value, Mapping):
                found.extend(str(v) for k, v in value.items() if str(k).lower() in SECRET_HEADERS)
            elif lowered in SECRET_KEYS and isinstance(value, (str, int)):
                found.append(str(value))
            else:
                found.extend(secret_values(value))
    elif isinstance(options, list):
        for item in options:
            found.extend(secret_values(item))
    return found


def redact_options(options: Any) -> Any:
    """A copy of the settings fit to show or log: secret values replaced by ***."""
    if isinstance(options, Mapping):
        out: dict[str, Any] = {}
        for key, value in options.items():
            lowered = str(key).lower()
            if lowered in SECRET_KEYS and value not in (None, ""):
                out[key] = MASK
            elif lowered == "headers" and isinstance(value, Mapping):
                out[key] = {k: (MASK if str(k).lower() in SECRET_HEADERS else v) for k, v in value.items()}
            else:
                out[key] = redact_options(value)
        return out
    if isinstance(options, list):
        return [redact_options(item) for item in options]
    return options
