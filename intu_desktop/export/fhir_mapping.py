"""The built-in mapping of one study's rows to a FHIR R4 ImagingStudy.

Empty values are left out (FHIR forbids empty strings). Elements R4 requires but the
data lacks carry the data-absent-reason extension instead of an invented value.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, tzinfo
from typing import Any

from intu_desktop.export.columns import as_int, as_text
from intu_desktop.export.uids import hashed_uid, is_valid_uid

DCM_SYSTEM = "http://dicom.nema.org/resources/ontology/DCM"
DICOM_UID_SYSTEM = "urn:dicom:uid"
RFC3986_SYSTEM = "urn:ietf:rfc:3986"
V2_0203_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"
_DATA_ABSENT = {
    "extension": [
        {
            "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
            "valueCode": "unknown",
        }
    ]
}
# Fixed key: invalid received UIDs map to the same FHIR uid in every export.
_INVALID_UID_KEY = b"intu-desktop/fhir-uid"
_DA_RE = re.compile(r"(\d{4})\.?(\d{2})\.?(\d{2})")
_TM_RE = re.compile(r"(\d{2})(?::?(\d{2})(?::?(\d{2})(?:\.(\d{1,6}))?)?)?")

Row = Mapping[str, Any]


def imaging_study(rows: Iterable[Row], *, study_timezone: tzinfo | None = None) -> dict[str, Any]:
    """One ImagingStudy from the rows of one study (every row has the same study UID).

    Study-level values come from the first row; an instance seen twice (revisions) counts once.
    """
    first: Row | None = None
    series: dict[str, dict[str, Any]] = {}
    for row in rows:
        first = first or row
        series_uid = as_text(row.get("seriesInstanceUid"))
        entry = series.setdefault(series_uid, {"row": row, "instances": {}})
        entry["instances"][as_text(row.get("sopInstanceUid"))] = row
    if first is None:
        raise ValueError("a study needs at least one row")

    study_uid = as_text(first.get("studyInstanceUid"))
    fhir_study_uid = fhir_uid(study_uid, context="study")
    series_list = [
        _series(uid, entry["row"], entry["instances"], fhir_study_uid)
        for uid, entry in series.items()
    ]
    study: dict[str, Any] = {
        "resourceType": "ImagingStudy",
        "identifier": _identifiers(fhir_study_uid, as_text(first.get("accessionNumber"))),
        "status": "available",
        "subject": _subject(as_text(first.get("patientId")), as_text(first.get("patientName"))),
    }
    modalities = _distinct(s["modality"].get("code") for s in series_list)
    if modalities:
        study["modality"] = [{"system": DCM_SYSTEM, "code": code} for code in modalities]
    started = fhir_started(
        as_text(first.get("studyDate")), as_text(first.get("studyTime")), study_timezone
    )
    if started:
        study["started"] = started
    referrer = as_text(first.get("referringPhysician")).strip()
    if referrer:
        study["referrer"] = {"display": referrer}
    description = as_text(first.get("studyDescription")).strip()
    if description:
        study["description"] = description
    study["numberOfSeries"] = len(series_list)
    study["numberOfInstances"] = sum(s["numberOfInstances"] for s in series_list)
    study["series"] = series_list
    return study


def study_full_url(study_uid: str) -> str:
    """A stable urn:uuid for a study's entry: the same study gets the same fullUrl."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_OID, fhir_uid(study_uid, context='study'))}"


def fhir_uid(uid: str, *, context: str) -> str:
    """The uid as received when it is a valid DICOM UID (and so a valid FHIR id).

    Otherwise a 2.25 UID hashed from it (from the context when empty): the store keeps
    such objects too (DESIGN §2), and R4 requires a uid at every level.
    """
    uid = uid.strip()
    if is_valid_uid(uid):
        return uid
    return hashed_uid(_INVALID_UID_KEY, uid or f"empty:{context}")


def fhir_started(study_date: str, study_time: str, zone: tzinfo | None) -> str:
    """FHIR dateTime from DA and TM.

    DICOM times without an offset are local to whoever made them (PS3.5 §6.2, DT); FHIR
    needs an offset once a time is given, so the time is read in `zone` (None: this
    computer's zone, right for a workstation receiving from its own site's modalities).
    Without a readable time, only the date.
    """
    match = _DA_RE.fullmatch(study_date.strip())
    if match is None:
        return ""
    try:
        day = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return ""
    moment = _parse_tm(study_time)
    if moment is None:
        return day.isoformat()
    naive = datetime.combine(day, moment)
    aware = naive.replace(tzinfo=zone) if zone is not None else naive.astimezone()
    return aware.isoformat()


def _parse_tm(text: str) -> time | None:
    match = _TM_RE.fullmatch(text.strip())
    if match is None:
        return None
    fraction = (match[4] or "").ljust(6, "0")
    try:
        return time(int(match[1]), int(match[2] or 0), int(match[3] or 0), int(fraction or 0))
    except ValueError:
        return None


def _identifiers(study_uid: str, accession: str) -> list[dict[str, Any]]:
    identifiers: list[dict[str, Any]] = [
        {"system": DICOM_UID_SYSTEM, "value": f"urn:oid:{study_uid}"}
    ]
    if accession.strip():
        identifiers.append(
            {
                "type": {"coding": [{"system": V2_0203_SYSTEM, "code": "ACSN"}]},
                "value": accession.strip(),
            }
        )
    return identifiers


def _subject(patient_id: str, patient_name: str) -> dict[str, Any]:
    # R4 ImagingStudy.subject is a required Reference; we know the patient only by ID and name.
    subject: dict[str, Any] = {}
    if patient_id.strip():
        subject["identifier"] = {"value": patient_id.strip()}
    if patient_name.strip():
        subject["display"] = patient_name.strip()
    return subject or dict(_DATA_ABSENT)


def _series(
    series_uid: str, first: Row, instances: Mapping[str, Row], study_uid: str
) -> dict[str, Any]:
    uid = fhir_uid(series_uid, context=f"series:{study_uid}")
    series: dict[str, Any] = {"uid": uid}
    number = as_int(first.get("seriesNumber"), -1)
    if number >= 0:
        series["number"] = number
    modality = as_text(first.get("modality")).strip()
    series["modality"] = (
        {"system": DCM_SYSTEM, "code": modality} if modality else dict(_DATA_ABSENT)
    )
    description = as_text(first.get("seriesDescription")).strip()
    if description:
        series["description"] = description
    series["numberOfInstances"] = len(instances)
    body_part = as_text(first.get("bodyPartExamined")).strip()
    if body_part:
        # (0018,0015) holds a defined term, not a code: kept as the coding's display only.
        series["bodySite"] = {"display": body_part}
    series["instance"] = [
        _instance(sop_uid, row, context=f"instance:{uid}") for sop_uid, row in instances.items()
    ]
    return series


def _instance(sop_uid: str, row: Row, *, context: str) -> dict[str, Any]:
    instance: dict[str, Any] = {"uid": fhir_uid(sop_uid, context=context)}
    sop_class = as_text(row.get("sopClassUid")).strip()
    instance["sopClass"] = (
        {"system": RFC3986_SYSTEM, "code": f"urn:oid:{sop_class}"}
        if is_valid_uid(sop_class)
        else dict(_DATA_ABSENT)
    )
    number = as_int(row.get("instanceNumber"), -1)
    if number >= 0:
        instance["number"] = number
    return instance


def _distinct(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))
