"""Authentication for the http and fhir destinations: basic, bearer, API key, OAuth2.

OAuth2 is the client-credentials grant (RFC 6749 §4.4), the one a machine without a user
can use; the access token is cached until shortly before it expires and every token we
obtain is added to the destination's SecretMasker.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from urllib.parse import urlencode

from intu_desktop.destinations.http_transport import HttpClient, TransportError
from intu_desktop.destinations.secrets import SecretMasker
from intu_desktop.destinations.settings import Settings, SettingsError

# Renew this long before the server says the token expires (clock skew, request time).
_EXPIRY_MARGIN_S = 30.0
_DEFAULT_TOKEN_LIFETIME_S = 300.0


class AuthError(Exception):
    """No credentials could be obtained; `retryable` says whether trying later may help."""

    def __init__(self, words: str, retryable: bool) -> None:
        super().__init__(words)
        self.retryable = retryable


class HttpAuth:
    """Adds the configured credentials to a request; `type` none means no auth block."""

    def __init__(self, auth: Settings, client: HttpClient, masker: SecretMasker) -> None:
        self.type = auth.text("type").lower() if auth.values else "none"
        self._client = client
        self._masker = masker
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_expires = 0.0
        self.query: dict[str, str] = {}  # api_key sent as a query parameter
        self._headers: dict[str, str] = {}
        if self.type == "basic":
            user, password = auth.text("username"), auth.text("password")
            raw = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            masker.add(raw)
            self._headers["Authorization"] = f"Basic {raw}"
        elif self.type == "bearer":
            self._headers["Authorization"] = f"Bearer {auth.text('token', required=True)}"
        elif self.type == "api_key":
            key = auth.text("key", required=True)
            if auth.has("query_param"):
                self.query[auth.text("query_param")] = key
            else:
                self._headers[auth.text("header", "X-API-Key")] = key
        elif self.type == "oauth2":
            self._token_url = auth.text("token_url", required=True)
            self._client_id = auth.text("client_id", required=True)
            self._client_secret = auth.text("client_secret", required=True)
            self._scopes = auth.strings("scopes")
        elif self.type in ("none", "mtls"):
            pass  # mtls: the client certificate in the tls block is the credential
        else:
            raise SettingsError(f"{auth.prefix}.type {self.type!r} is not supported here "
                                "(basic, bearer, api_key, oauth2, mtls)")

    def headers(self) -> dict[str, str]:
        if self.type != "oauth2":
            return dict(self._headers)
        return {"Authorization": f"Bearer {self._access_token()}"}

    def rejected(self) -> bool:
        """The server answered 401: forget a cached OAuth2 token; True when a new one may help."""
        if self.type != "oauth2":
            return False
        with self._lock:
            self._token = None
        return True

    def _access_token(self) -> str:
        with self._lock:
            if self._token is not None and time.monotonic() < self._token_expires:
                return self._token
            token, lifetime = self._request_token()
            self._masker.add(token)
            self._token = token
            self._token_expires = time.monotonic() + max(0.0, lifetime - _EXPIRY_MARGIN_S)
            return token

    def _request_token(self) -> tuple[str, float]:
        form = {"grant_type": "client_credentials"}
        if self._scopes:
            form["scope"] = " ".join(self._scopes)
        # RFC 6749 §2.3.1: servers must support client_secret_basic; its parts are
        # form-urlencoded before they are joined.
        pair = f"{_form(self._client_id)}:{_form(self._client_secret)}"
        basic = base64.b64encode(pair.encode()).decode("ascii")
        self._masker.add(basic)
        try:
            resp = self._client.request(
                "POST", self._token_url, urlencode(form).encode("ascii"),
                {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
                 "Authorization": f"Basic {basic}"},
            )
        except TransportError as exc:
            raise AuthError(f"OAuth2 token request failed: {exc}", exc.retryable) from None
        if not resp.ok:
            detail = _oauth_error(resp.body)
            raise AuthError(f"OAuth2 token request refused: {resp.status_line}{detail}", resp.retryable)
        try:
            data = json.loads(resp.body)
            token = str(data["access_token"])
        except (ValueError, KeyError, TypeError):
            raise AuthError("OAuth2 token endpoint answered without an access_token", False) from None
        try:
            lifetime = float(data.get("expires_in", _DEFAULT_TOKEN_LIFETIME_S))
        except (TypeError, ValueError):
            lifetime = _DEFAULT_TOKEN_LIFETIME_S
        return token, lifetime


def _form(value: str) -> str:
    return urlencode({"": value})[1:]


def _oauth_error(body: bytes) -> str:
    # RFC 6749 §5.2: {"error": "invalid_client", "error_description": "..."}
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(data, dict) or "error" not in data:
        return ""
    description = data.get("error_description")
    return f" ({data['error']}{': ' + str(description) if description else ''})"
