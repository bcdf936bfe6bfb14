"""What the user chose for one export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Literal

ExportFormat = Literal["csv", "json", "ndjson", "fhir-bundle"]
EXPORT_FORMATS: tuple[str, ...] = ("csv", "json", "ndjson", "fhir-bundle")


@dataclass(frozen=True)
class ExportOptions:
    """Options of one export.

    date_shift_days: used when deidentify is on; None picks a random shift per export.
    remove_dates: when de-identifying, empty every date instead of shifting it.
    use_transformer_output: fhir-bundle only; each row's transformerOutput resource replaces
        the built-in ImagingStudy mapping (ignored when de-identifying: that output holds PHI).
    csv_formula_guard: prefix CSV cells starting with = + - @ with an apostrophe, so that a
        received value cannot run as a spreadsheet formula (the cell text then differs).
    study_timezone: zone of StudyDate/StudyTime for FHIR `started`; None = this computer's.
    """

    format: ExportFormat = "csv"
    bom: bool = False  # CSV only (RFC 8259 forbids a BOM before JSON)
    deidentify: bool = False
    date_shift_days: int | None = None
    remove_dates: bool = False
    use_transformer_output: bool = False
    uid_root: str = "2.25"
    csv_formula_guard: bool = False
    study_timezone: tzinfo | None = None

    def __post_init__(self) -> None:
        if self.format not in EXPORT_FORMATS:
            raise ValueError(
                f"unknown export format {self.format!r}; one of {', '.join(EXPORT_FORMATS)}"
            )


def contains_identifiable_data(opts: ExportOptions) -> bool:
    """True when the export holds patient data as received (the window shows a notice)."""
    return not opts.deidentify
