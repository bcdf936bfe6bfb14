"""One HTTP request with the standard library, and what its outcome means for the queue.

http.client rather than urllib: no redirects followed behind our back (a POST that turns
into a GET elsewhere is not a delivery), no proxy picked up from the environment for a
hospital-internal server, and a connection we can close from another thread on shutdown.
"""

from __future__ import annotations

import email.utils
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# Bodies of answers are kept for the record; a server that answers with megabytes is cut.
MAX_RESPONSE_BYTES = 1024 * 1024
# RFC 9110 §15.5.9 (408), §15.6 (5xx), RFC 6585 §4 (429), RFC 8470 §5.2 (425): worth retrying.
RETRYABLE_STATUS = frozenset({408, 425, 429})
MAX_RETRY_AFTER_S = 3600.0


class TransportError(Exception):
    """The request did not get an HTTP answer; `retryable` says whether trying later may help."""

    def __init__(self, words: str, retryable: bool) -> None:
        super().__init__(words)
        self.retryable = retryable


@dataclass(frozen=True)
class HttpResponse:
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        return self.status in RETRYABLE_STATUS or 500 <= self.status < 600

    @property
    def status_line(self) -> str:
        return f"HTTP {self.status} {self.reason}".rstrip()

    def text(self, limit: int = 2000) -> str:
        return self.body[:limit].decode("utf-8", "replace")

    def retry_after(self) -> float | None:
        """RFC 9110 §10.2.3: seconds, or an HTTP date."""
        value = self.headers.get("retry-after", "").strip()
        if not value:
            return None
        if value.isdigit():
            return min(float(value), MAX_RETRY_AFTER_S)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return min(max(0.0, when.timestamp() - time.time()), MAX_RETRY_AFTER_S)


class HttpClient:
    """Sends requests for one destination; `close()` breaks a request in flight (shutdown)."""

    def __init__(self, timeout_s: float, ssl_context: ssl.SSLContext | None) -> None:
        self.timeout_s = timeout_s
        self.ssl_context = ssl_context
        self._lock = threading.Lock()
        self._active: set[http.client.HTTPConnection] = set()
        self._closed = False

    def request(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> HttpResponse:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TransportError(f"not an http(s) URL: {parts.scheme or '(no scheme)'}://{parts.hostname or ''}",
                                 retryable=False)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            context = self.ssl_context or ssl.create_default_context()
            conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=self.timeout_s,
                                               context=context)
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout_s)
        with self._lock:
            if self._closed:
                raise TransportError("stopped", retryable=True)
            self._active.add(conn)
        try:
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read(MAX_RESPONSE_BYTES)
            return HttpResponse(resp.status, resp.reason or "",
                                {k.lower(): v for k, v in resp.getheaders()}, data)
        except ssl.SSLCertVerificationError as exc:
            # A certificate we do not trust will not become trusted by waiting.
            raise TransportError(f"TLS certificate not trusted: {exc.verify_message}", retryable=False) from None
        except ssl.SSLError as exc:
            raise TransportError(f"TLS handshake failed: {exc.reason or exc}", retryable=True) from None
        except TimeoutError:
            raise TransportError(f"no answer within {self.timeout_s:g} s", retryable=True) from None
        except ConnectionRefusedError:
            raise TransportError("connection refused", retryable=True) from None
        except socket.gaierror as exc:
            raise TransportError(f"host not found ({exc.strerror})", retryable=True) from None
        except (OSError, http.client.HTTPException) as exc:
            raise TransportError(f"connection failed: {_words(exc)}", retryable=True) from None
        finally:
            with self._lock:
                self._active.discard(conn)
            conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            active = list(self._active)
        for conn in active:
            sock = conn.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _words(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__
