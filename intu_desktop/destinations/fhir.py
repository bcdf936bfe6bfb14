"""The `fhir` destination: the transformer's FHIR resource sent to a FHIR REST server.

ImagingStudy goes by conditional update on its first identifier (FHIR R4 RESTful API
§3.1.0.4.3, `PUT [base]/ImagingStudy?identifier=system|value`): each instance of a study
produces the same identifier, so resending updates the study instead of creating a second
one. Other resources: `PUT [base]/<type>/<id>` when they carry an id, else
`POST [base]/<type>`; a transaction or batch Bundle is posted to the base.
On failure the server's OperationOutcome (issue diagnostics) is what we record.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from intu_desktop.destinations.base import DeliveryContext, DeliveryResult
from intu_desktop.destinations.http import HttpSession, result_of
from intu_desktop.destinations.http_auth import AuthError
from intu_desktop.destinations.http_transport import HttpResponse, TransportError
from intu_desktop.destinations.secrets import SecretMasker
from intu_desktop.destinations.settings import Settings, SettingsError

FHIR_JSON = "application/fhir+json"
_MAX_OUTCOME_TEXT = 2000


class FhirDestination:
    type = "fhir"

    def __init__(self, name: str, options: dict[str, Any], base_dir: Path) -> None:
        self.name = name
        self.masker = SecretMasker.from_options(options)
        settings = Settings(options, "fhir", base_dir)
        self.base_url = settings.text("base_url", required=True).rstrip("/")
        self.version = settings.text("version", "R4")
        if self.version not in ("R4", "STU3"):
            raise SettingsError("fhir.version must be R4 or STU3")
        self.operations = [op.lower() for op in settings.strings("operations")]
        self.session = HttpSession(settings, self.masker)

    def send(self, delivery: DeliveryContext) -> DeliveryResult:
        resource = _parse_resource(delivery.body)
        if isinstance(resource, str):
            return DeliveryResult.permanent(resource)
        method, url = fhir_request(self.base_url, resource, self.operations)
        body = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": f"{FHIR_JSON}; charset=utf-8", "Accept": FHIR_JSON}
        try:
            resp = self.session.send(method, url, body, headers)
        except (TransportError, AuthError) as exc:
            words = f"{method} {_shown(url, self.base_url)}: {exc}"
            return DeliveryResult.transient(words) if exc.retryable else DeliveryResult.permanent(words)
        if resp.ok:
            location = resp.headers.get("location") or resp.headers.get("content-location", "")
            return DeliveryResult.delivered(
                f"{method} {_shown(url, self.base_url)}: {resp.status_line}"
                + (f"; Location: {location}" if location else "")
            )
        return result_of(resp, outcome_text(resp))

    def close(self) -> None:
        self.session.close()


def fhir_request(base_url: str, resource: dict[str, Any], operations: list[str]) -> tuple[str, str]:
    """(method, url) for one resource."""
    rtype = str(resource["resourceType"])
    if rtype == "Bundle" and resource.get("type") in ("transaction", "batch"):
        return "POST", base_url
    create_only = bool(operations) and "update" not in operations and "create" in operations
    if not create_only:
        if rtype == "ImagingStudy":
            token = _first_identifier(resource)
            if token is not None:
                return "PUT", f"{base_url}/ImagingStudy?identifier={quote(token, safe='')}"
        rid = resource.get("id")
        if isinstance(rid, str) and rid:
            return "PUT", f"{base_url}/{rtype}/{quote(rid, safe='')}"
    return "POST", f"{base_url}/{rtype}"


def _first_identifier(resource: dict[str, Any]) -> str | None:
    """`system|value` (FHIR token search) of the first identifier that has a value."""
    identifiers = resource.get("identifier")
    if isinstance(identifiers, dict):
        identifiers = [identifiers]
    if not isinstance(identifiers, list):
        return None
    for ident in identifiers:
        if isinstance(ident, dict) and isinstance(ident.get("value"), str) and ident["value"]:
            system = ident.get("system")
            value = _escape(ident["value"])
            return f"{_escape(system)}|{value}" if isinstance(system, str) and system else value
    return None


def _escape(text: str) -> str:
    # FHIR R4 §3.1.1.5.7 (search escaping): \ , $ | are escaped with a backslash.
    for char in ("\\", ",", "$", "|"):
        text = text.replace(char, "\\" + char)
    return text


def _parse_resource(body: str | None) -> dict[str, Any] | str:
    """The resource, or why the body cannot be sent (a permanent failure: the same body
    will never become a resource by waiting)."""
    if not body:
        return "the transformer produced no body to send"
    try:
        data = json.loads(body)
    except ValueError:
        return "the transformer's output is not JSON, so not a FHIR resource"
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        return "the transformer's output is not a FHIR resource (no resourceType)"
    return data


def outcome_text(resp: HttpResponse) -> str:
    """The OperationOutcome's issue texts (diagnostics, else details.text, else the code),
    or the start of whatever else the server answered."""
    try:
        data = json.loads(resp.body) if resp.body else None
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("resourceType") == "OperationOutcome":
        texts = []
        for issue in data.get("issue") or []:
            if not isinstance(issue, dict):
                continue
            details = issue.get("details")
            details = details if isinstance(details, dict) else {}
            text = issue.get("diagnostics") or details.get("text") or issue.get("code") or ""
            severity = issue.get("severity", "")
            texts.append(f"{severity}: {text}" if severity and severity != "error" else str(text))
        return "; ".join(t for t in texts if t)[:_MAX_OUTCOME_TEXT]
    return resp.text(500).strip()


def _shown(url: str, base_url: str) -> str:
    """The request target relative to the base: short, and the base (which may carry
    credentials) stays out of the record."""
    return url[len(base_url):] or "/" if url.startswith(base_url) else url
