from __future__ import annotations

import io
import json
from datetime import UTC, timedelta, timezone

import pytest
from fhir.resources.R4B.bundle import Bundle

from intu_desktop.export import ExportOptions, StudyOrderError, build_fhir_bundle, export_rows

DCM = "http://dicom.nema.org/resources/ontology/DCM"


def export_bundle(rows, **options) -> dict:
    out = io.BytesIO()
    export_rows(rows, out, ExportOptions(format="fhir-bundle", study_timezone=UTC, **options))
    bundle = json.loads(out.getvalue())
    Bundle.model_validate(bundle)  # raises when not valid R4 (R4B shares ImagingStudy with R4)
    return bundle


def test_three_studies_two_series_grouped(study_rows):
    bundle = export_bundle(study_rows(3, 2, 4))

    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    studies = [entry["resource"] for entry in bundle["entry"]]
    assert [s["resourceType"] for s in studies] == ["ImagingStudy"] * 3
    assert len({entry["fullUrl"] for entry in bundle["entry"]}) == 3
    for number, study in enumerate(studies, start=1):
        assert study["identifier"][0] == {
            "system": "urn:dicom:uid",
            "value": f"urn:oid:1.2.826.0.1.3680043.10.{number}",
        }
        assert study["status"] == "available"
        assert study["subject"] == {
            "identifier": {"value": f"P{number:05d}"},
            "display": f"Patient{number}^Given",
        }
        assert study["started"] == "2024-01-15T09:30:00+00:00"
        assert study["description"] == f"Study {number}"
        assert study["numberOfSeries"] == 2
        assert study["numberOfInstances"] == 8
        assert study["modality"] == [{"system": DCM, "code": "CT"}, {"system": DCM, "code": "SR"}]
        for e, series in enumerate(study["series"], start=1):
            assert series["uid"] == f"1.2.826.0.1.3680043.10.{number}.{e}"
            assert series["number"] == e
            assert series["numberOfInstances"] == 4
            assert series["bodySite"] == {"display": "CHEST"}
            assert [i["number"] for i in series["instance"]] == [1, 2, 3, 4]
            assert series["instance"][0]["sopClass"] == {
                "system": "urn:ietf:rfc:3986",
                "code": "urn:oid:1.2.840.10008.5.1.4.1.1.2",
            }


def test_series_interleaved_within_a_study_and_revisions_count_once(study_rows):
    rows = list(study_rows(1, 2, 2))
    rows = [rows[0], rows[2], rows[1], rows[3], rows[0]]  # series alternate; one instance twice
    study = export_bundle(rows)["entry"][0]["resource"]
    assert study["numberOfSeries"] == 2
    assert study["numberOfInstances"] == 4


def test_rows_out_of_study_order_are_refused(tmp_path, study_rows):
    rows = list(study_rows(2, 1, 1))
    out = tmp_path / "bundle.json"
    with pytest.raises(StudyOrderError):
        export_rows([rows[0], rows[1], rows[0]], out, ExportOptions(format="fhir-bundle"))
    assert list(tmp_path.iterdir()) == []


def test_rows_from_test_files_validate(file_rows):
    bundle = export_bundle(file_rows)
    assert len(bundle["entry"]) == len({row["studyInstanceUid"] for row in file_rows})


def test_missing_values_are_marked_absent_not_invented(make_row):
    row = make_row(
        patientId="",
        patientName="",
        modality="",
        studyDate="",
        studyDescription="",
        sopClassUid="",
        seriesInstanceUid="not a UID",
        bodyPartExamined="",
    )
    study = export_bundle([row])["entry"][0]["resource"]
    absent = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
    assert study["subject"]["extension"][0]["url"] == absent
    assert "started" not in study and "description" not in study and "modality" not in study
    series = study["series"][0]
    assert series["modality"]["extension"][0]["url"] == absent
    assert series["uid"].startswith("2.25.")
    assert "bodySite" not in series
    assert series["instance"][0]["sopClass"]["extension"][0]["url"] == absent


def test_started_uses_the_study_timezone(make_row):
    row = make_row(studyDate="20240229", studyTime="101530.25")
    out = io.BytesIO()
    zone = timezone(timedelta(hours=1))
    export_rows([row], out, ExportOptions(format="fhir-bundle", study_timezone=zone))
    study = json.loads(out.getvalue())["entry"][0]["resource"]
    assert study["started"] == "2024-02-29T10:15:30.250000+01:00"
    assert (
        export_bundle([make_row(studyTime="")])["entry"][0]["resource"]["started"] == "2024-02-29"
    )


def test_empty_bundle_has_no_entry_array():
    bundle = export_bundle([])
    assert bundle == {"resourceType": "Bundle", "type": "collection"}


def test_transformer_output_replaces_mapping_once_per_study(study_rows):
    def output(study: int) -> str:
        return json.dumps(
            {
                "resourceType": "ImagingStudy",
                "status": "available",
                "subject": {"display": f"from transformer {study}"},
            }
        )

    rows = []
    for row in study_rows(2, 1, 3):
        study = int(row["studyInstanceUid"].rsplit(".", 1)[1])
        row["transformerOutput"] = output(study)
        row["transformerContentType"] = "application/fhir+json"
        rows.append(row)
    rows[-1]["transformerOutput"] = None  # falls back to the built-in mapping

    bundle = export_bundle(rows, use_transformer_output=True)

    subjects = [entry["resource"]["subject"] for entry in bundle["entry"]]
    assert subjects == [
        {"display": "from transformer 1"},
        {"display": "from transformer 2"},
        {"identifier": {"value": "P00002"}, "display": "Patient2^Given"},
    ]
    assert bundle["entry"][2]["resource"]["numberOfInstances"] == 1


def test_non_json_transformer_output_falls_back(make_row):
    row = make_row(transformerOutput="MSH|^~\\&|", transformerContentType="application/hl7-v2")
    bundle = export_bundle([row], use_transformer_output=True)
    assert bundle["entry"][0]["resource"]["numberOfInstances"] == 1


def test_build_fhir_bundle_in_memory_accepts_any_order(study_rows):
    rows = list(study_rows(2, 2, 1))
    bundle = build_fhir_bundle(rows[::-1], study_timezone=UTC)
    Bundle.model_validate(bundle)
    assert [e["resource"]["numberOfInstances"] for e in bundle["entry"]] == [2, 2]
    assert "meta" not in bundle
    labelled = build_fhir_bundle(rows, pseudonymized=True)
    assert labelled["meta"]["security"][0]["code"] == "PSEUDED"
