"""CSV, JSON and NDJSON writers: one row at a time, nothing accumulated."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from typing import Any

from intu_desktop.export.columns import EXPORT_COLUMNS, normalize_row
from intu_desktop.export.sink import TextSink

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class RowWriter:
    """Writes rows in one format; begin() once, write() per row, end() once."""

    def begin(self) -> None: ...

    def write(self, row: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def end(self) -> None: ...


class CsvRowWriter(RowWriter):
    """RFC 4180: CRLF line ends, fields quoted only when needed, header first."""

    def __init__(self, sink: TextSink, *, bom: bool, formula_guard: bool) -> None:
        self._sink = sink
        self._bom = bom
        self._formula_guard = formula_guard
        self._csv = csv.writer(sink, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)

    def begin(self) -> None:
        if self._bom:
            self._sink.write("\ufeff")  # lets spreadsheet programs detect UTF-8
        self._csv.writerow(EXPORT_COLUMNS)

    def write(self, row: Mapping[str, Any]) -> None:
        values = list(normalize_row(row).values())
        if self._formula_guard:
            values = [_guard(value) for value in values]
        self._csv.writerow(values)


def _guard(value: Any) -> Any:
    # A received value such as `=HYPERLINK(...)` must not become a live spreadsheet formula.
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


class JsonArrayWriter(RowWriter):
    """A JSON array written piecewise: `[`, objects separated by `,\\n`, `]`.

    Never a BOM: RFC 8259 §8.1 forbids adding one.
    """

    def __init__(self, sink: TextSink) -> None:
        self._sink = sink
        self._first = True

    def begin(self) -> None:
        self._sink.write("[")

    def write(self, row: Mapping[str, Any]) -> None:
        text = json.dumps(normalize_row(row), ensure_ascii=False)
        self._sink.write(("\n" if self._first else ",\n") + text)
        self._first = False

    def end(self) -> None:
        self._sink.write("]\n" if self._first else "\n]\n")


class NdjsonWriter(RowWriter):
    """One JSON object per line (no BOM: every line must parse alone)."""

    def __init__(self, sink: TextSink) -> None:
        self._sink = sink

    def write(self, row: Mapping[str, Any]) -> None:
        self._sink.write(json.dumps(normalize_row(row), ensure_ascii=False) + "\n")
