"""Reading validator and transformer return values (DESIGN §3)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from intu_desktop.pipeline.contracts import interpret_transform, interpret_validate

MSG: dict[str, Any] = {
    "body": json.dumps({"studyInstanceUid": "1.2.3"}),
    "transport": "dicom",
    "contentType": "dicom",
    "dicom": {"callingAE": "A", "calledAE": "B"},
    "metadata": {"channelId": "c"},
}
STUDY = {"resourceType": "ImagingStudy", "status": "available"}


# -- the spec's contract -------------------------------------------------------------------
def test_spec_success_with_string_body() -> None:
    body = json.dumps(STUDY)
    out = interpret_transform(
        {"success": True, "body": body, "contentType": "application/fhir+json"}, MSG
    )
    assert out.ok and not out.filtered
    assert out.body == body and out.content_type == "application/fhir+json"
    assert out.message is not None and out.message["body"] == body
    assert (
        out.message["transport"] == "dicom"
        and out.message["contentType"] == "application/fhir+json"
    )


def test_spec_success_with_object_body_is_serialised() -> None:
    out = interpret_transform({"success": True, "body": STUDY}, MSG)
    assert out.ok and json.loads(out.body or "") == STUDY
    assert out.content_type == "application/fhir+json"  # guessed from resourceType


def test_spec_failure() -> None:
    out = interpret_transform({"success": False, "error": "Failed to parse DICOM metadata"}, MSG)
    assert not out.ok and out.error == "Failed to parse DICOM metadata" and out.body is None


def test_spec_failure_without_error_text() -> None:
    assert interpret_transform({"success": False}, MSG).error == "transformer reported failure"


def test_spec_success_without_body_is_an_error() -> None:
    out = interpret_transform({"success": True}, MSG)
    assert not out.ok and out.error == "transformer returned success without a body"


# -- the intu contract ---------------------------------------------------------------------
def test_intu_message_with_object_body() -> None:
    out = interpret_transform({**MSG, "body": {"a": 1}}, MSG)
    assert out.ok and out.body == '{"a":1}' and out.content_type == "application/json"
    assert out.message is not None and out.message["dicom"] == MSG["dicom"]


def test_intu_message_keeps_its_content_type_and_extra_keys() -> None:
    out = interpret_transform(
        {"body": "MSH|...", "contentType": "hl7v2", "metadata": {"x": 1}}, MSG
    )
    assert out.ok and out.body == "MSH|..." and out.content_type == "hl7v2"
    assert out.message is not None and out.message["metadata"] == {"x": 1}


def test_intu_message_still_labelled_dicom_gets_a_real_content_type() -> None:
    out = interpret_transform({**MSG, "body": json.dumps(STUDY)}, MSG)
    assert out.content_type == "application/fhir+json"
    out = interpret_transform({**MSG, "body": "plain words"}, MSG)
    assert out.content_type == "text/plain"


@pytest.mark.parametrize("value", [None, {"body": None}])
def test_null_means_filtered(value: Any) -> None:
    out = interpret_transform(value, MSG)
    assert out.ok and out.filtered and out.body is None and out.message is None


def test_bare_object_becomes_the_body() -> None:
    out = interpret_transform(STUDY, MSG)
    assert (
        out.ok
        and json.loads(out.body or "") == STUDY
        and out.content_type == "application/fhir+json"
    )


def test_string_and_list_results() -> None:
    assert interpret_transform("hello", MSG).body == "hello"
    assert interpret_transform([1, 2], MSG).body == "[1,2]"


@pytest.mark.parametrize("value, kind", [(True, "a boolean (true)"), (3, "a number")])
def test_other_results_are_errors(value: Any, kind: str) -> None:
    out = interpret_transform(value, MSG)
    assert (
        not out.ok
        and out.error == f"transformer returned {kind}; expected a message or {{success, body}}"
    )


# -- validators ----------------------------------------------------------------------------
@pytest.mark.parametrize("value", [None, True, {"valid": True}, {"success": True}, "anything"])
def test_valid(value: Any) -> None:
    out = interpret_validate(value, None)
    assert out.valid and out.errors == []


def test_thrown_error_is_invalid() -> None:
    out = interpret_validate(None, "missing StudyInstanceUID")
    assert not out.valid and out.errors == ["missing StudyInstanceUID"]


def test_false_is_invalid() -> None:
    assert interpret_validate(False, None).errors == ["validator returned false"]


@pytest.mark.parametrize(
    "value, errors",
    [
        ({"valid": False, "error": "no modality"}, ["no modality"]),
        ({"valid": False, "errors": ["a", "b"]}, ["a", "b"]),
        ({"success": False, "errors": [{"message": "m", "path": "p"}]}, ["m"]),
        ({"success": False, "errors": "single"}, ["single"]),
        ({"valid": False}, ["validator reported the message invalid"]),
    ],
)
def test_refusal_objects(value: dict[str, Any], errors: list[str]) -> None:
    out = interpret_validate(value, None)
    assert not out.valid and out.errors == errors
