from __future__ import annotations

import csv
import io
import json
import re

import pytest
from fhir.resources.R4B.bundle import Bundle

from intu_desktop.export import (
    Deidentifier,
    ExportOptions,
    contains_identifiable_data,
    export_rows,
)

SALT = b"fixed salt for repeatable tests"
UID_RE = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
IDENTIFYING = (
    "studyInstanceUid",
    "seriesInstanceUid",
    "sopInstanceUid",
    "patientId",
    "patientName",
    "patientBirthDate",
    "accessionNumber",
    "referringPhysician",
    "studyDescription",
    "storagePath",
)


def phi_rows(file_rows, make_row):
    canary = make_row(
        patientName='Müller^Zoë "Zo", Jr',
        patientId="CANARY-ID-31337",
        patientBirthDate="19450508",
        accessionNumber="CANARY-ACC-42",
        referringPhysician="山田^太郎",
        transformerOutput=json.dumps(
            {"resourceType": "Patient", "name": [{"text": "Müller^Zoë leaked"}]}
        ),
        transformerContentType="application/fhir+json",
    )
    for row in file_rows:
        row["patientBirthDate"] = row["patientBirthDate"] or "19610203"
    return [*file_rows, canary, dict(canary, sopInstanceUid=canary["sopInstanceUid"] + ".2")]


def secrets_of(rows) -> set[str]:
    found = {str(row[key]) for row in rows for key in IDENTIFYING if row.get(key)}
    found |= {row["studyDate"] for row in rows if row.get("studyDate")}
    found |= {row["receivedAt"][:10] for row in rows}
    found |= {"Müller", "Zoë", "山田", "CompressedSamples", "Lestrade", "Moriarty"}
    return found


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson", "fhir-bundle"])
def test_no_identifying_value_survives(fmt, file_rows, make_row):
    rows = phi_rows(file_rows, make_row)
    opts = ExportOptions(format=fmt, deidentify=True, use_transformer_output=True)
    out = io.BytesIO()

    export_rows(rows, out, opts, deidentifier=Deidentifier(-10, False, salt=SALT))

    text = out.getvalue().decode("utf-8")
    leaked = sorted(value for value in secrets_of(rows) if value in text)
    assert leaked == []
    if fmt == "fhir-bundle":
        bundle = json.loads(text)
        Bundle.model_validate(bundle)
        assert bundle["meta"]["security"][0]["code"] == "PSEUDED"


def test_uids_are_replaced_consistently_and_validly(file_rows, make_row):
    rows = phi_rows(file_rows, make_row)
    out = io.StringIO(newline="")
    export_rows(rows, out, ExportOptions(format="json", deidentify=True))
    exported = json.loads(out.getvalue())

    for key in ("studyInstanceUid", "seriesInstanceUid", "sopInstanceUid"):
        mapping: dict[str, str] = {}
        for original, new in zip(rows, exported):
            assert mapping.setdefault(original[key], new[key]) == new[key]
            assert new[key].startswith("2.25.") and len(new[key]) <= 64
            assert UID_RE.fullmatch(new[key])
        assert len(set(mapping.values())) == len(mapping)  # distinct inputs stay distinct
    # The two canary instances share study and series, not the instance.
    assert exported[-1]["studyInstanceUid"] == exported[-2]["studyInstanceUid"]
    assert exported[-1]["sopInstanceUid"] != exported[-2]["sopInstanceUid"]
    # SOP Class and Transfer Syntax identify no one: kept.
    assert [e["sopClassUid"] for e in exported] == [r["sopClassUid"] for r in rows]
    assert [e["transferSyntax"] for e in exported] == [r["transferSyntax"] for r in rows]


def test_field_rules_and_date_shift(make_row):
    deid = Deidentifier(-10, False, salt=SALT)
    out = deid.row(make_row())
    assert out["studyDate"] == "20240219"
    assert out["receivedAt"] == "2024-02-20T10:15:30.123456+00:00"
    assert out["studyTime"] == "101530.25"
    assert out["patientName"] == "ANON^0001" and out["patientId"] == "ANON0001"
    assert out["accessionNumber"] == out["referringPhysician"] == ""
    assert out["storagePath"] == out["studyDescription"] == ""
    assert out["bodyPartExamined"] == "HEAD" and out["callingAe"] == "CT_SCANNER"
    assert "patientBirthDate" not in out and "transformerOutput" not in out
    assert deid.method_text == (
        "Basic Application Level Confidentiality Profile (PS3.15 E.1.1), date shift -10 days"
    )


def test_remove_dates(make_row):
    deid = Deidentifier(None, True)
    out = deid.row(make_row())
    assert out["studyDate"] == out["receivedAt"] == out["studyTime"] == ""
    assert deid.method_text.endswith("dates removed")


def test_random_shift_is_fixed_within_one_export(make_row):
    deid = Deidentifier(None, False)
    assert -365 <= deid.date_shift_days <= -1
    assert deid.row(make_row())["studyDate"] == deid.row(make_row())["studyDate"]


def test_pseudonyms_follow_the_patient(make_row):
    deid = Deidentifier(0, False)
    names = [
        deid.row(make_row(patientId=pid, patientName=name))["patientName"]
        for pid, name in [("A", "X^Y"), ("B", "X^Y"), ("A", "X^Y"), ("", "N^1"), ("", "N^2")]
    ]
    assert names == ["ANON^0001", "ANON^0002", "ANON^0001", "ANON^0003", "ANON^0004"]


def test_same_salt_same_uids_other_salt_other_uids():
    uid = "1.2.3.4"
    assert Deidentifier(0, False, salt=SALT).uid(uid) == Deidentifier(0, False, salt=SALT).uid(uid)
    assert Deidentifier(0, False).uid(uid) != Deidentifier(0, False).uid(uid)
    assert Deidentifier(0, False).uid("") == ""


def test_custom_uid_root_fits_64_characters():
    root = "1.2.826.0.1.3680043.8.498.1234567890123"
    uid = Deidentifier(0, False, uid_root=root).uid("1.2.3")
    assert uid.startswith(root + ".") and len(uid) <= 64 and UID_RE.fullmatch(uid)
    with pytest.raises(ValueError):
        Deidentifier(0, False, uid_root="1.2.x")


def test_unreadable_dates_are_removed(make_row):
    out = Deidentifier(5, False).row(make_row(studyDate="2024XX01", receivedAt="yesterday"))
    assert out["studyDate"] == out["receivedAt"] == ""


def test_csv_deidentified_keeps_header(tmp_path, make_row):
    path = tmp_path / "deid.csv"
    export_rows([make_row()], path, ExportOptions(deidentify=True, date_shift_days=3))
    with path.open(newline="", encoding="utf-8-sig") as handle:
        table = list(csv.DictReader(handle))
    assert table[0]["studyDate"] == "20240303"
    assert table[0]["patientName"] == "ANON^0001"


def test_contains_identifiable_data():
    assert contains_identifiable_data(ExportOptions())
    assert not contains_identifiable_data(ExportOptions(deidentify=True))


def test_leak_search_finds_values_when_not_deidentified(file_rows, make_row):
    # Control for test_no_identifying_value_survives: the search does see PHI when present.
    rows = phi_rows(file_rows, make_row)
    out = io.BytesIO()
    export_rows(rows, out, ExportOptions(format="csv"))
    text = out.getvalue().decode("utf-8")
    assert {"CANARY-ID-31337", "CANARY-ACC-42", "山田", rows[0]["studyInstanceUid"]} <= {
        value for value in secrets_of(rows) if value in text
    }
