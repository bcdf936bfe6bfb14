"""Which FHIR interaction a resource becomes, and how a server's OperationOutcome is read."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import pytest
from dest_helpers import context

from intu_desktop.destinations.fhir import FhirDestination, fhir_request, outcome_text
from intu_desktop.destinations.http_transport import HttpResponse
from intu_desktop.destinations.settings import SettingsError

BASE = "https://fhir.example.org/r4"
STUDY = {
    "resourceType": "ImagingStudy",
    "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:1.2.3"}],
    "status": "available",
}


def test_imaging_study_is_a_conditional_update_on_its_first_identifier() -> None:
    method, url = fhir_request(BASE, STUDY, [])
    assert method == "PUT"
    assert url.startswith(f"{BASE}/ImagingStudy?identifier=")
    assert unquote(url.split("=", 1)[1]) == "urn:dicom:uid|urn:oid:1.2.3"


def test_identifier_values_are_escaped_for_search() -> None:
    study = {**STUDY, "identifier": [{"value": ""}, {"system": "s|x", "value": "a,b$c\\d"}]}
    _, url = fhir_request(BASE, study, [])
    assert unquote(url.split("=", 1)[1]) == "s\\|x|a\\,b\\$c\\\\d"


def test_identifier_without_system_searches_the_value() -> None:
    _, url = fhir_request(BASE, {**STUDY, "identifier": [{"value": "ACC42"}]}, [])
    assert url.endswith("identifier=ACC42")


def test_other_resources_put_by_id_or_post() -> None:
    assert fhir_request(BASE, {"resourceType": "Patient", "id": "p1"}, []) == ("PUT", f"{BASE}/Patient/p1")
    assert fhir_request(BASE, {"resourceType": "Observation"}, []) == ("POST", f"{BASE}/Observation")
    assert fhir_request(BASE, {"resourceType": "ImagingStudy"}, []) == ("POST", f"{BASE}/ImagingStudy")


def test_create_only_operations_always_post() -> None:
    assert fhir_request(BASE, STUDY, ["create"]) == ("POST", f"{BASE}/ImagingStudy")


def test_transaction_bundles_go_to_the_base() -> None:
    assert fhir_request(BASE, {"resourceType": "Bundle", "type": "transaction"}, []) == ("POST", BASE)


def test_operation_outcome_diagnostics_are_the_error_text() -> None:
    body = json.dumps({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "invalid", "diagnostics": "ImagingStudy.subject: required"},
        {"severity": "warning", "code": "business-rule", "details": {"text": "study is old"}},
        {"severity": "error", "code": "processing"},
    ]}).encode()
    text = outcome_text(HttpResponse(422, "Unprocessable Entity", {}, body))
    assert text == "ImagingStudy.subject: required; warning: study is old; processing"


def test_non_fhir_error_bodies_are_kept_short() -> None:
    text = outcome_text(HttpResponse(502, "Bad Gateway", {}, b"<html>" + b"x" * 5000))
    assert text.startswith("<html>") and len(text) <= 500


@pytest.mark.parametrize(("body", "words"), [
    (None, "no body"),
    ("not json", "not JSON"),
    ('{"a": 1}', "not a FHIR resource"),
])
def test_a_body_that_is_no_resource_is_a_dead_letter(tmp_path: Path, body: str | None, words: str) -> None:
    dest = FhirDestination("fhir", {"base_url": "http://127.0.0.1:9"}, tmp_path)
    result = dest.send(context(body=body))
    assert not result.ok and not result.retryable and words in result.error


def test_unset_variables_are_reported_by_key_not_sent(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"fhir.auth.token uses \$\{FHIR_TOKEN\}"):
        FhirDestination("fhir", {"base_url": BASE, "auth": {"type": "bearer", "token": "${FHIR_TOKEN}"}}, tmp_path)


def test_version_must_be_known(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="R4 or STU3"):
        FhirDestination("fhir", {"base_url": BASE, "version": "R5"}, tmp_path)
