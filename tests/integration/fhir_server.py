"""A small FHIR R4 REST server for tests: real HTTP on 127.0.0.1, bodies validated with
fhir.resources (R4 models from `fhir.resources.R4B`).

It implements what the destinations use: create (POST), update (PUT by id), conditional
update of a search by identifier (PUT [base]/Type?identifier=system|value: 201 create,
200 update, 412 when several match), read, search by identifier, and an OAuth2
client-credentials token endpoint. It can be told to fail (any status, with an
OperationOutcome), to require a bearer token, and can be stopped and started again on
the same port with its data kept.

Leniency: by default the server behaves like lenient production servers (HAPI's default
parser error handler): elements R4 does not define, and empty strings, are dropped with a
warning and the rest is validated. This matters for the spec's transformer, which puts
`numberOfFrames` on ImagingStudy.series.instance, an element R4 does not have (it exists
on R5's instance; R4 only has `number`, `title`, `sopClass`, `uid`), and leaves
`description: ""` when a study has no description; a strict server would refuse every
study. `strict=True` refuses both with 400 and an OperationOutcome, like a strict server.
Anything else invalid (wrong types, missing required elements) is refused in both modes.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

FHIR_JSON = "application/fhir+json"


class Invalid(Exception):
    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass
class Request:
    method: str
    path: str
    status: int
    headers: dict[str, str]
    body: Any = None


@dataclass
class Failure:
    status: int
    diagnostics: str
    remaining: int | None  # None: until cleared
    headers: dict[str, str] = field(default_factory=dict)


def operation_outcome(diagnostics: str | list[str], severity: str = "error", code: str = "invalid") -> dict[str, Any]:
    texts = [diagnostics] if isinstance(diagnostics, str) else diagnostics
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": t} for t in texts]}


def _fhir_path(resource_type: str, loc: tuple[Any, ...]) -> str:
    out = resource_type
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _strip_empty(value: Any, path: str, warnings: list[str]) -> Any:
    """FHIR JSON (R4 §2.6.2) forbids empty strings, objects and arrays."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            cleaned = _strip_empty(v, f"{path}.{k}", warnings)
            if cleaned in ("", {}, []):
                warnings.append(f"{path}.{k}: empty value dropped")
                continue
            out[k] = cleaned
        return out
    if isinstance(value, list):
        return [_strip_empty(v, f"{path}[{i}]", warnings) for i, v in enumerate(value)]
    return value


def _find_empty(value: Any, path: str) -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if v in ("", {}, []):
                found.append(f"{path}.{k}: empty values are not allowed in FHIR JSON")
            else:
                found.extend(_find_empty(v, f"{path}.{k}"))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(_find_empty(v, f"{path}[{i}]"))
    return found


def validate_resource(data: Any, *, strict: bool) -> tuple[dict[str, Any], list[str]]:
    """(resource as stored, warnings); raises Invalid with readable messages."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise Invalid(["body is not a FHIR resource (no resourceType)"])
    rtype = data["resourceType"]
    try:
        model = get_fhir_model_class(rtype)
    except (KeyError, ValueError, AttributeError):
        raise Invalid([f"{rtype} is not an R4 resource type"]) from None
    warnings: list[str] = []
    if strict:
        empty = _find_empty(data, rtype)
        if empty:
            raise Invalid(empty)
        clean = copy.deepcopy(data)
    else:
        clean = _strip_empty(copy.deepcopy(data), rtype, warnings)
    for _round in range(10):
        try:
            model.model_validate(clean)
            return clean, warnings
        except ValidationError as exc:
            errors = exc.errors()
        unknown = [e for e in errors if e["type"] == "extra_forbidden"]
        other = [e for e in errors if e["type"] != "extra_forbidden"]
        if other or (strict and unknown):
            raise Invalid([
                f"{_fhir_path(rtype, tuple(e['loc']))}: "
                + ("unknown element (not part of R4 " + rtype + ")" if e["type"] == "extra_forbidden" else e["msg"])
                for e in errors
            ])
        for err in unknown:
            *parents, last = err["loc"]
            target: Any = clean
            for part in parents:
                target = target[part]
            target.pop(last, None)
            warnings.append(f"{_fhir_path(rtype, tuple(err['loc']))}: unknown element dropped")
    raise Invalid(["could not validate the resource"])


def _identifiers_match(resource: dict[str, Any], token: str) -> bool:
    # FHIR search token: system|value, |value (no system) or value (any system); with
    # backslash escapes for , $ | \ (R4 §3.1.1.5.7).
    parts, current, escaped = [], "", False
    for ch in token:
        if escaped:
            current += ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "|":
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    system, value = (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])
    for ident in resource.get("identifier") or []:
        if ident.get("value") != value:
            continue
        if system is None or (system == "" and not ident.get("system")) or ident.get("system") == system:
            return True
    return False


class FhirServer:
    def __init__(self, *, strict: bool = False, ssl_context: ssl.SSLContext | None = None,
                 bearer_token: str | None = None, oauth_client: tuple[str, str] | None = None) -> None:
        self.strict = strict
        self.ssl_context = ssl_context
        self.bearer_token = bearer_token
        self.oauth_client = oauth_client
        self.lock = threading.Lock()
        self.store: dict[str, dict[str, dict[str, Any]]] = {}
        self.requests: list[Request] = []
        self.warnings: list[str] = []
        self.failure: Failure | None = None
        self.issued_tokens: set[str] = set()
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, port: int | None = None) -> FhirServer:
        handler = type("Handler", (_Handler,), {"fhir": self})
        httpd = ThreadingHTTPServer(("127.0.0.1", self.port if port is None else port), handler)
        httpd.daemon_threads = True
        if self.ssl_context is not None:
            httpd.socket = self.ssl_context.wrap_socket(httpd.socket, server_side=True)
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fhir-test-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}/fhir"

    # -- control and inspection --------------------------------------------------------------
    def fail(self, status: int, diagnostics: str = "failure requested by the test", *, times: int | None = None,
             headers: dict[str, str] | None = None) -> None:
        with self.lock:
            self.failure = Failure(status, diagnostics, times, dict(headers or {}))

    def heal(self) -> None:
        with self.lock:
            self.failure = None

    def resources(self, rtype: str) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(r) for r in self.store.get(rtype, {}).values()]

    def search(self, rtype: str, token: str) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(r) for r in self.store.get(rtype, {}).values() if _identifiers_match(r, token)]

    def requests_for(self, method: str | None = None) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if method is None or r.method == method]

    # -- FHIR operations (called by the handler, under the lock) --------------------------
    def _save(self, rtype: str, rid: str | None, resource: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        table = self.store.setdefault(rtype, {})
        created = rid is None or rid not in table
        if rid is None:
            rid = str(next(self._ids))
        version = 1 if created else int(table[rid]["meta"]["versionId"]) + 1
        resource = {**resource, "id": rid, "meta": {"versionId": str(version)}}
        table[rid] = resource
        return (201 if created else 200), resource


class _Handler(BaseHTTPRequestHandler):
    fhir: FhirServer
    server_version = "fhir-test-server/1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing -----------------------------------------------------------------------------
    def _send(self, status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", FHIR_JSON if body is not None else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _record(self, status: int, body: Any) -> None:
        self.fhir.requests.append(Request(self.command, self.path, status, dict(self.headers.items()), body))

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else None

    def _authorized(self) -> bool:
        expected = set()
        if self.fhir.bearer_token:
            expected.add(self.fhir.bearer_token)
        expected |= self.fhir.issued_tokens
        if not expected:
            return True
        got = self.headers.get("Authorization", "")
        return got.startswith("Bearer ") and got[7:] in expected

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def _handle(self) -> None:
        if urlsplit(self.path).path == "/oauth/token" and self.command == "POST":
            with self.fhir.lock:
                status, answer, headers = self._token()
                self._record(status, None)
            self._send(status, answer, headers)
            return
        try:
            body = self._read_json() if self.command in ("POST", "PUT") else None
        except ValueError:
            with self.fhir.lock:
                self._record(400, None)
            self._send(400, operation_outcome("body is not JSON", code="structure"))
            return
        with self.fhir.lock:
            status, answer, headers = self._route(body)
            self._record(status, body)
        self._send(status, answer, headers)

    # -- routing (under the lock) --------------------------------------------------------------
    def _route(self, body: Any) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
        url = urlsplit(self.path)
        if not url.path.startswith("/fhir"):
            return 404, operation_outcome(f"no such path {url.path}", code="not-found"), {}
        if not self._authorized():
            return 401, operation_outcome("missing or invalid bearer token", code="login"), {}
        failure = self.fhir.failure
        if failure is not None:
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self.fhir.failure = None
            return failure.status, operation_outcome(failure.diagnostics, code="exception"), failure.headers
        parts = [unquote(p) for p in url.path[len("/fhir"):].split("/") if p]
        query = parse_qs(url.query)
        if self.command == "GET" and parts == ["metadata"]:
            return 200, {"resourceType": "CapabilityStatement", "status": "active", "kind": "instance",
                         "fhirVersion": "4.0.1", "format": ["json"], "date": "2024-01-01"}, {}
        if self.command == "GET":
            return self._get(parts, query)
        if not parts:
            return 400, operation_outcome("transactions are not supported by this test server"), {}
        rtype = parts[0]
        try:
            resource, warnings = validate_resource(body, strict=self.fhir.strict)
        except Invalid as exc:
            return 400, operation_outcome(exc.messages), {}
        if resource["resourceType"] != rtype:
            return 400, operation_outcome(f"resourceType {resource['resourceType']} sent to /{rtype}"), {}
        self.fhir.warnings.extend(warnings)
        if self.command == "POST" and len(parts) == 1:
            return self._saved(*self.fhir._save(rtype, None, resource))
        if self.command == "PUT" and len(parts) == 2:
            if resource.get("id") not in (None, parts[1]):
                return 400, operation_outcome("resource id does not match the URL", code="invariant"), {}
            return self._saved(*self.fhir._save(rtype, parts[1], resource))
        if self.command == "PUT" and len(parts) == 1 and "identifier" in query:
            matches = [r for r in self.fhir.store.get(rtype, {}).values()
                       if _identifiers_match(r, query["identifier"][0])]
            if len(matches) > 1:
                return 412, operation_outcome("conditional update matched several resources",
                                              code="multiple-matches"), {}
            rid = matches[0]["id"] if matches else None
            if rid is not None and resource.get("id") not in (None, rid):
                return 400, operation_outcome("resource id does not match the conditional match"), {}
            return self._saved(*self.fhir._save(rtype, rid, resource))
        return 405, operation_outcome(f"{self.command} {self.path} is not supported", code="not-supported"), {}

    def _saved(self, status: int, resource: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        rtype, rid, version = resource["resourceType"], resource["id"], resource["meta"]["versionId"]
        return status, resource, {"Location": f"{self.fhir.base_url}/{rtype}/{rid}/_history/{version}"}

    def _get(self, parts: list[str], query: dict[str, list[str]]) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
        if len(parts) == 2:
            found = self.fhir.store.get(parts[0], {}).get(parts[1])
            if found is None:
                return 404, operation_outcome(f"{parts[0]}/{parts[1]} not found", code="not-found"), {}
            return 200, found, {}
        if len(parts) == 1:
            resources = list(self.fhir.store.get(parts[0], {}).values())
            if "identifier" in query:
                resources = [r for r in resources if _identifiers_match(r, query["identifier"][0])]
            return 200, {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
                         "entry": [{"resource": r} for r in resources]}, {}
        return 404, operation_outcome("not found", code="not-found"), {}

    def _token(self) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode()) if length else {}
        expected = self.fhir.oauth_client
        auth = self.headers.get("Authorization", "")
        try:
            user, _, secret = base64.b64decode(auth[6:]).decode().partition(":") if auth.startswith("Basic ") \
                else ("", "", "")
        except ValueError:
            user, secret = "", ""
        if expected is None or form.get("grant_type") != ["client_credentials"] or (unquote(user), unquote(secret)) != expected:
            return 401, {"error": "invalid_client"}, {}  # type: ignore[return-value]
        token = f"access-{next(self.fhir._ids)}-{expected[0]}"
        self.fhir.issued_tokens.add(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}, {}  # type: ignore[return-value]
