"""export_rows: rows from the index, optionally de-identified, to one format, streamed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from intu_desktop.export.deidentify import Deidentifier
from intu_desktop.export.fhir_bundle import FhirBundleWriter
from intu_desktop.export.options import ExportOptions
from intu_desktop.export.sink import TextSink, open_sink
from intu_desktop.export.tabular import CsvRowWriter, JsonArrayWriter, NdjsonWriter, RowWriter

PROGRESS_EVERY = 500


class ExportCancelled(Exception):
    """The cancel event was set; a file target was removed, a stream target is incomplete."""

    def __init__(self, rows_written: int) -> None:
        super().__init__(f"export cancelled after {rows_written} rows")
        self.rows_written = rows_written


def export_rows(
    rows: Iterable[Mapping[str, Any]],
    out: BinaryIO | TextIO | Path,
    opts: ExportOptions,
    progress: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    *,
    deidentifier: Deidentifier | None = None,
) -> int:
    """Write rows to `out` in opts.format; return the number of rows (instances) exported.

    - rows: one dict per received instance, consumed lazily. For "fhir-bundle" they must be
      ordered by studyInstanceUid (then seriesInstanceUid), else StudyOrderError.
    - out: a Path is written atomically (temporary file, then rename), so a cancelled or
      failed export leaves nothing; a binary stream receives UTF-8; a text stream should
      be opened with newline="". Streams are flushed, not closed.
    - progress(n): called every PROGRESS_EVERY rows and once at the end with the total.
    - cancel: checked before each row; when set, ExportCancelled is raised.
    - deidentifier: when opts.deidentify, pass one to read its method_text afterwards;
      otherwise one is made from opts (random date shift when date_shift_days is None).
    """
    if opts.deidentify and deidentifier is None:
        deidentifier = Deidentifier(opts.date_shift_days, opts.remove_dates, opts.uid_root)
    if not opts.deidentify:
        deidentifier = None
    count = 0
    with open_sink(out) as sink:
        writer = _writer(sink, opts)
        writer.begin()
        for row in rows:
            if cancel is not None and cancel.is_set():
                raise ExportCancelled(count)
            writer.write(deidentifier.row(row) if deidentifier else row)
            count += 1
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(count)
        writer.end()
    if progress is not None:
        progress(count)
    return count


def _writer(sink: TextSink, opts: ExportOptions) -> RowWriter:
    if opts.format == "csv":
        return CsvRowWriter(sink, bom=opts.bom, formula_guard=opts.csv_formula_guard)
    if opts.format == "json":
        return JsonArrayWriter(sink)
    if opts.format == "ndjson":
        return NdjsonWriter(sink)
    return FhirBundleWriter(
        sink,
        # Transformer output holds PHI the de-identifier cannot clean: never with deidentify.
        use_transformer_output=opts.use_transformer_output and not opts.deidentify,
        study_timezone=opts.study_timezone,
        pseudonymized=opts.deidentify,
    )
