"""The `http` destination: the transformer's output sent to a URL (intu's `http:` block).

Keys: url, method (POST), headers, query_params, path_params ({key} in the URL),
auth, tls, timeout_ms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from intu_desktop.destinations.base import DeliveryContext, DeliveryResult
from intu_desktop.destinations.http_auth import AuthError, HttpAuth
from intu_desktop.destinations.http_transport import HttpClient, HttpResponse, TransportError
from intu_desktop.destinations.secrets import SecretMasker
from intu_desktop.destinations.settings import (
    Settings,
    SettingsError,
    http_ssl_context,
    timeout_seconds,
)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class HttpSession:
    """Client + auth shared by the http and fhir destinations."""

    def __init__(self, settings: Settings, masker: SecretMasker) -> None:
        tls = settings.child("tls")
        context = http_ssl_context(tls) if tls.values else None
        self.client = HttpClient(timeout_seconds(settings), context)
        self.auth = HttpAuth(settings.child("auth"), self.client, masker)

    def send(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> HttpResponse:
        """One request with credentials; a 401 with an expired OAuth2 token is tried once more."""
        if self.auth.query:
            url = add_query(url, self.auth.query)
        resp = self.client.request(method, url, body, {**headers, **self.auth.headers()})
        if resp.status == 401 and self.auth.rejected():
            resp = self.client.request(method, url, body, {**headers, **self.auth.headers()})
        return resp

    def close(self) -> None:
        self.client.close()


class HttpDestination:
    type = "http"

    def __init__(self, name: str, options: dict[str, Any], base_dir: Path) -> None:
        self.name = name
        self.masker = SecretMasker.from_options(options)
        settings = Settings(options, "http", base_dir)
        self.url = settings.text("url", required=True)
        self.method = settings.text("method", "POST").upper()
        if self.method not in METHODS:
            raise SettingsError(f"http.method must be one of {', '.join(METHODS)}")
        self.headers = settings.mapping("headers")
        self.query = settings.mapping("query_params")
        self.path_params = settings.mapping("path_params")
        self.session = HttpSession(settings, self.masker)

    def send(self, delivery: DeliveryContext) -> DeliveryResult:
        url = self.url
        for key, value in self.path_params.items():
            url = url.replace("{" + key + "}", quote(value, safe=""))
        if self.query:
            url = add_query(url, self.query)
        headers = {"Content-Type": delivery.content_type or "application/octet-stream", **self.headers}
        body = None if self.method in ("GET", "DELETE") else (delivery.body or "").encode("utf-8")
        try:
            resp = self.session.send(self.method, url, body, headers)
        except TransportError as exc:
            return _failed(str(exc), exc.retryable)
        except AuthError as exc:
            return _failed(str(exc), exc.retryable)
        return result_of(resp, resp.text(500))

    def close(self) -> None:
        self.session.close()


def result_of(resp: HttpResponse, detail: str) -> DeliveryResult:
    """2xx delivered; 408/425/429/5xx retried (honouring Retry-After); other answers dead-lettered."""
    if resp.ok:
        return DeliveryResult.delivered(resp.status_line)
    error = f"{resp.status_line}: {detail}" if detail else resp.status_line
    if resp.retryable:
        return DeliveryResult.transient(error, resp.status_line, resp.retry_after())
    if 300 <= resp.status < 400:
        where = resp.headers.get("location", "")
        error = f"{resp.status_line}: redirect{' to ' + where if where else ''} not followed"
    return DeliveryResult.permanent(error, resp.status_line)


def _failed(words: str, retryable: bool) -> DeliveryResult:
    return DeliveryResult.transient(words) if retryable else DeliveryResult.permanent(words)


def add_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
