"""FHIR R4 output check: readable warnings, never an exception, never a value quoted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from intu_desktop.pipeline.fhir_check import check_fhir

# The spec transformer's output for a sample CT instance.
SPEC_STUDY: dict[str, Any] = {
    "resourceType": "ImagingStudy",
    "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:1.2.3"}],
    "status": "available",
    "subject": {
        "identifier": {"system": "urn:oid:2.16.840.1.113883.19.5", "value": "PID-0001"},
        "display": "Doe^Jane",
    },
    "started": "2024-03-15T14:25:30Z",
    "description": "CT CHEST",
    "referrer": {"display": "House^Gregory"},
    "series": [
        {
            "uid": "1.2.3.4",
            "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"},
            "bodySite": {"system": "http://snomed.info/sct", "display": "CHEST"},
            "instance": [
                {
                    "uid": "1.2.3.4.5",
                    "sopClass": {
                        "system": "urn:ietf:rfc:3986",
                        "code": "urn:oid:1.2.840.10008.5.1.4.1.1.2",
                    },
                    "numberOfFrames": 1,
                }
            ],
        }
    ],
    "endpoint": [{"reference": "/data/store/1.2.3/1.2.3.4/1.2.3.4.5.dcm"}],
}


def without_frames(study: dict[str, Any]) -> dict[str, Any]:
    copy = json.loads(json.dumps(study))
    del copy["series"][0]["instance"][0]["numberOfFrames"]
    return copy


def test_spec_output_warns_only_about_number_of_frames() -> None:
    assert check_fhir(json.dumps(SPEC_STUDY)) == [
        "ImagingStudy.series[0].instance[0].numberOfFrames: not an element of R4 ImagingStudy"
    ]


def test_valid_resource_has_no_warnings() -> None:
    assert check_fhir(json.dumps(without_frames(SPEC_STUDY))) == []


def test_missing_required_element_and_bad_value() -> None:
    study = without_frames(SPEC_STUDY)
    del study["subject"]
    study["started"] = "2024-13-45"
    warnings = check_fhir(json.dumps(study))
    assert "ImagingStudy.subject: required element missing" in warnings
    assert any(w.startswith("ImagingStudy.started: ") for w in warnings)
    assert all("2024-13-45" not in w for w in warnings)  # values are never quoted


def test_empty_strings_are_named_as_such() -> None:
    study = without_frames(SPEC_STUDY)
    study["description"] = ""
    study["subject"]["identifier"]["value"] = ""
    assert sorted(check_fhir(json.dumps(study))) == [
        "ImagingStudy.description: empty value (FHIR does not allow empty strings)",
        "ImagingStudy.subject.identifier.value: empty value (FHIR does not allow empty strings)",
    ]


def test_bundle_names_the_inner_resource_type() -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": SPEC_STUDY}]}
    assert check_fhir(json.dumps(bundle)) == [
        (
            "Bundle.entry[0].resource.series[0].instance[0].numberOfFrames: "
            "not an element of R4 ImagingStudy"
        )
    ]


@pytest.mark.parametrize(
    "body, warning",
    [
        ("{not json", "not valid JSON: "),
        ("[1, 2]", "not a FHIR resource: expected a JSON object"),
        ('{"a": 1}', "not a FHIR resource: resourceType is missing"),
        ('{"resourceType": "Spaceship"}', "resourceType: Spaceship is not an R4 resource"),
    ],
)
def test_not_a_resource(body: str, warning: str) -> None:
    warnings = check_fhir(body)
    assert len(warnings) == 1 and warnings[0].startswith(warning)


def test_never_raises_on_odd_input() -> None:
    assert check_fhir(None)  # type: ignore[arg-type]
    assert check_fhir(json.dumps({"resourceType": "ImagingStudy", "series": "x", "status": 5}))
