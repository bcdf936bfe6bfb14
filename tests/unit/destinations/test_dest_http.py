"""The http destination against a real local HTTP server: requests, auth, and how answers
are sorted into delivered, retry and dead letter."""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path

import pytest
from dest_helpers import ScriptedHttpServer, context

from intu_desktop.destinations.http import HttpDestination
from intu_desktop.destinations.settings import SettingsError


def _dest(peer: ScriptedHttpServer, tmp_path: Path, **options: object) -> HttpDestination:
    return HttpDestination("api", {"url": peer.url + "/in/{kind}", **options}, tmp_path)


def test_request_carries_body_headers_and_parameters(http_peer: ScriptedHttpServer, tmp_path: Path) -> None:
    dest = _dest(http_peer, tmp_path, method="PUT", headers={"X-Site": "north"},
                 query_params={"source": "intu desktop"}, path_params={"kind": "study/x"})
    result = dest.send(context(body='{"a": 1}', content_type="application/json"))
    assert result.ok and result.response == "HTTP 200 OK"
    (got,) = http_peer.received
    assert got.method == "PUT"
    assert got.path == "/in/study%2Fx?source=intu+desktop"
    assert got.headers["X-Site"] == "north" and got.headers["Content-Type"] == "application/json"
    assert json.loads(got.body) == {"a": 1}


@pytest.mark.parametrize(("auth", "header", "value"), [
    ({"type": "basic", "username": "desk", "password": "pa55"}, "Authorization",
     "Basic " + base64.b64encode(b"desk:pa55").decode()),
    ({"type": "bearer", "token": "tok-123"}, "Authorization", "Bearer tok-123"),
    ({"type": "api_key", "key": "k-456", "header": "X-Key"}, "X-Key", "k-456"),
])
def test_auth_headers(http_peer: ScriptedHttpServer, tmp_path: Path, auth: dict, header: str, value: str) -> None:
    assert _dest(http_peer, tmp_path, auth=auth).send(context()).ok
    assert http_peer.received[0].headers[header] == value


def test_api_key_as_query_parameter(http_peer: ScriptedHttpServer, tmp_path: Path) -> None:
    dest = _dest(http_peer, tmp_path, auth={"type": "api_key", "key": "k-789", "query_param": "apikey"})
    assert dest.send(context()).ok
    assert http_peer.received[0].path.endswith("?apikey=k-789")


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 429])
def test_server_trouble_is_retried(http_peer: ScriptedHttpServer, tmp_path: Path, status: int) -> None:
    http_peer.answer((status, {"error": "busy"}))
    result = _dest(http_peer, tmp_path).send(context())
    assert not result.ok and result.retryable
    assert result.error.startswith(f"HTTP {status}")


def test_retry_after_is_honoured(http_peer: ScriptedHttpServer, tmp_path: Path) -> None:
    http_peer.answer((503, "", {"Retry-After": "7"}))
    assert _dest(http_peer, tmp_path).send(context()).retry_after == 7


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
def test_client_errors_are_dead_letters(http_peer: ScriptedHttpServer, tmp_path: Path, status: int) -> None:
    http_peer.answer((status, {"error": "bad"}))
    result = _dest(http_peer, tmp_path).send(context())
    assert not result.ok and not result.retryable
    assert '{"error": "bad"}' in result.error


def test_redirects_are_not_followed(http_peer: ScriptedHttpServer, tmp_path: Path) -> None:
    http_peer.answer((307, "", {"Location": "http://elsewhere/"}))
    result = _dest(http_peer, tmp_path).send(context())
    assert not result.retryable and "redirect to http://elsewhere/ not followed" in result.error
    assert len(http_peer.received) == 1


def test_connection_refused_is_retried(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dest = HttpDestination("api", {"url": f"http://127.0.0.1:{port}/x"}, tmp_path)
    result = dest.send(context())
    assert result.retryable and result.error == "connection refused"


def test_timeout_is_retried(http_peer: ScriptedHttpServer, tmp_path: Path) -> None:
    http_peer.release.clear()  # the server holds the answer
    result = _dest(http_peer, tmp_path, timeout_ms=200).send(context())
    assert result.retryable and "no answer within 0.2 s" in result.error


def test_oauth2_token_is_fetched_cached_and_renewed_after_401(http_peer: ScriptedHttpServer, tmp_path: Path) -> None:
    http_peer.answer(
        (200, {"access_token": "first-token", "expires_in": 3600}),  # token request
        (200, {}),                                                   # first delivery
        (200, {}),                                                   # second delivery, cached token
        (401, {}),                                                   # third: token revoked
        (200, {"access_token": "second-token", "expires_in": 3600}),
        (200, {}),
    )
    dest = _dest(http_peer, tmp_path, auth={
        "type": "oauth2", "token_url": http_peer.url + "/token", "client_id": "desk", "client_secret": "cs-secret",
        "scopes": ["system/ImagingStudy.write"],
    })
    for _ in range(3):
        assert dest.send(context()).ok
    paths = [r.path for r in http_peer.received]
    assert paths == ["/token", "/in/{kind}", "/in/{kind}", "/in/{kind}", "/token", "/in/{kind}"]
    token_request = http_peer.received[0]
    assert token_request.body == b"grant_type=client_credentials&scope=system%2FImagingStudy.write"
    assert token_request.headers["Authorization"] == "Basic " + base64.b64encode(b"desk:cs-secret").decode()
    assert http_peer.received[1].headers["Authorization"] == "Bearer first-token"
    assert http_peer.received[5].headers["Authorization"] == "Bearer second-token"
    assert "first-token" not in dest.masker.mask("token first-token leaked")


def test_oauth2_refusal_is_a_dead_letter(http_peer: ScriptedHttpServer, tmp_path: Path) -> None:
    http_peer.answer((401, {"error": "invalid_client", "error_description": "unknown client"}))
    dest = _dest(http_peer, tmp_path, auth={"type": "oauth2", "token_url": http_peer.url + "/token",
                                            "client_id": "desk", "client_secret": "nope-secret"})
    result = dest.send(context())
    assert not result.retryable
    assert result.error == "OAuth2 token request refused: HTTP 401 Unauthorized (invalid_client: unknown client)"


def test_unsupported_auth_and_method_are_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="sasl"):
        HttpDestination("api", {"url": "http://x", "auth": {"type": "sasl"}}, tmp_path)
    with pytest.raises(SettingsError, match="method"):
        HttpDestination("api", {"url": "http://x", "method": "TRACE"}, tmp_path)
