"""Export of received metadata: CSV, JSON, NDJSON and FHIR Bundle, optionally de-identified.

Qt-free: the CLI and the window call export_rows over rows from the index.
"""

from __future__ import annotations

from intu_desktop.export.columns import EXPORT_COLUMNS, normalize_row
from intu_desktop.export.deidentify import Deidentifier
from intu_desktop.export.exporter import ExportCancelled, export_rows
from intu_desktop.export.fhir_bundle import StudyOrderError, build_fhir_bundle
from intu_desktop.export.options import (
    EXPORT_FORMATS,
    ExportOptions,
    contains_identifiable_data,
)

__all__ = [
    "EXPORT_COLUMNS",
    "EXPORT_FORMATS",
    "Deidentifier",
    "ExportCancelled",
    "ExportOptions",
    "StudyOrderError",
    "build_fhir_bundle",
    "contains_identifiable_data",
    "export_rows",
    "normalize_row",
]
