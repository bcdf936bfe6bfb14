"""FHIR R4 Bundle (type collection) of ImagingStudy resources, one entry group per study.

Streaming export requires rows ordered by studyInstanceUid (ordering by seriesInstanceUid
too is customary; any order works within a study): only the current study is held in memory.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import tzinfo
from typing import Any

from intu_desktop.export.columns import as_text
from intu_desktop.export.fhir_mapping import fhir_uid, imaging_study, study_full_url
from intu_desktop.export.sink import TextSink
from intu_desktop.export.tabular import RowWriter

Row = Mapping[str, Any]

# HL7 v3 ObservationValue "PSEUDED": the content is pseudonymized (no original identity).
PSEUDONYMIZED_LABEL = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "PSEUDED",
    "display": "pseudonymized",
}


class StudyOrderError(ValueError):
    """Rows of one study came apart: the caller must order rows by studyInstanceUid."""


def study_entries(
    rows: Iterable[Row],
    *,
    use_transformer_output: bool = False,
    study_timezone: tzinfo | None = None,
) -> Iterator[dict[str, Any]]:
    """Bundle entries of one study's rows.

    With use_transformer_output, each row's transformerOutput resource (a JSON resource, or
    the resources of a JSON Bundle) is used as is, once per study when identical; rows
    without one fall back to the built-in ImagingStudy mapping.
    """
    rows = list(rows)
    study_key = as_text(rows[0].get("studyInstanceUid")) if rows else ""
    built_in_rows: list[Row] = []
    resources: dict[str, dict[str, Any]] = {}
    for row in rows:
        found = transformer_resources(row) if use_transformer_output else None
        if found is None:
            built_in_rows.append(row)
            continue
        for resource in found:
            resources.setdefault(json.dumps(resource, sort_keys=True), resource)
    for canonical, resource in resources.items():
        name = f"{fhir_uid(study_key, context='study')}\0{canonical}"
        yield {"fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}", "resource": resource}
    if built_in_rows:
        yield {
            "fullUrl": study_full_url(study_key),
            "resource": imaging_study(built_in_rows, study_timezone=study_timezone),
        }


def transformer_resources(row: Row) -> list[dict[str, Any]] | None:
    """The FHIR resources in the row's transformer output, or None when it holds none."""
    content_type = as_text(row.get("transformerContentType")).lower()
    text = row.get("transformerOutput")
    if not text or (content_type and "json" not in content_type):
        return None
    try:
        value = json.loads(text) if isinstance(text, (str, bytes)) else text
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        return None
    if value["resourceType"] != "Bundle":
        return [value]
    inner = [
        entry["resource"]
        for entry in value.get("entry") or []
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
    ]
    return inner or None


def bundle_header(*, pseudonymized: bool) -> dict[str, Any]:
    header: dict[str, Any] = {"resourceType": "Bundle"}
    if pseudonymized:
        header["meta"] = {"security": [dict(PSEUDONYMIZED_LABEL)]}
    header["type"] = "collection"
    return header


def build_fhir_bundle(
    rows: Iterable[Row],
    *,
    use_transformer_output: bool = False,
    study_timezone: tzinfo | None = None,
    pseudonymized: bool = False,
) -> dict[str, Any]:
    """The whole Bundle in memory, for a handful of studies (rows in any order).

    Rows are used as given: de-identify them first (Deidentifier.row) and pass
    pseudonymized=True to label the Bundle. For large exports use export_rows.
    """
    studies: dict[str, list[Row]] = {}
    for row in rows:
        studies.setdefault(as_text(row.get("studyInstanceUid")), []).append(row)
    bundle = bundle_header(pseudonymized=pseudonymized)
    entries = [
        entry
        for study_rows in studies.values()
        for entry in study_entries(
            study_rows,
            use_transformer_output=use_transformer_output,
            study_timezone=study_timezone,
        )
    ]
    if entries:  # FHIR JSON forbids empty arrays
        bundle["entry"] = entries
    return bundle


class FhirBundleWriter(RowWriter):
    """Streams a Bundle: entries of a study are written when the next study begins."""

    def __init__(
        self,
        sink: TextSink,
        *,
        use_transformer_output: bool,
        study_timezone: tzinfo | None,
        pseudonymized: bool,
    ) -> None:
        self._sink = sink
        self._use_transformer_output = use_transformer_output
        self._study_timezone = study_timezone
        self._pseudonymized = pseudonymized
        self._current_key: str | None = None
        self._current_rows: list[Row] = []
        self._finished_keys: set[str] = set()
        self._entries_written = 0

    def begin(self) -> None:
        header = json.dumps(bundle_header(pseudonymized=self._pseudonymized), ensure_ascii=False)
        self._sink.write(header[:-1])  # left open for "entry"

    def write(self, row: Row) -> None:
        key = as_text(row.get("studyInstanceUid"))
        if key != self._current_key:
            self._flush_study()
            if key in self._finished_keys:
                raise StudyOrderError(
                    "rows for a FHIR Bundle must be ordered by studyInstanceUid; "
                    f"study {key} came back after another study"
                )
            self._current_key = key
        self._current_rows.append(row)

    def end(self) -> None:
        self._flush_study()
        self._sink.write("\n]}\n" if self._entries_written else "}\n")

    def _flush_study(self) -> None:
        if self._current_key is None:
            return
        for entry in study_entries(
            self._current_rows,
            use_transformer_output=self._use_transformer_output,
            study_timezone=self._study_timezone,
        ):
            prefix = ', "entry": [\n' if self._entries_written == 0 else ",\n"
            self._sink.write(prefix + json.dumps(entry, ensure_ascii=False))
            self._entries_written += 1
        self._finished_keys.add(self._current_key)
        self._current_key = None
        self._current_rows = []
