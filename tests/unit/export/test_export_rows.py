from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from intu_desktop.export import ExportCancelled, ExportOptions, export_rows
from intu_desktop.export.exporter import PROGRESS_EVERY


def cancelling_after(rows: Iterator[dict[str, Any]], n: int, cancel: threading.Event):
    for count, row in enumerate(rows, start=1):
        if count > n:
            cancel.set()
        yield row


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson", "fhir-bundle"])
def test_cancel_leaves_no_file(tmp_path, study_rows, fmt):
    cancel = threading.Event()
    out = tmp_path / "export.out"
    rows = cancelling_after(study_rows(3, 2, 200), 700, cancel)

    with pytest.raises(ExportCancelled) as raised:
        export_rows(rows, out, ExportOptions(format=fmt), cancel=cancel)

    assert raised.value.rows_written == 700
    assert list(tmp_path.iterdir()) == []


def test_cancel_keeps_an_existing_file(tmp_path, study_rows):
    out = tmp_path / "export.csv"
    out.write_text("previous export\n")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ExportCancelled):
        export_rows(study_rows(1, 1, 3), out, ExportOptions(), cancel=cancel)
    assert out.read_text() == "previous export\n"
    assert list(tmp_path.iterdir()) == [out]


def test_failure_in_rows_leaves_no_file(tmp_path, study_rows):
    def broken():
        yield from study_rows(1, 1, 3)
        raise OSError("index went away")

    with pytest.raises(OSError, match="index went away"):
        export_rows(broken(), tmp_path / "x.json", ExportOptions(format="json"))
    assert list(tmp_path.iterdir()) == []


def test_progress_reports_every_few_hundred_rows_and_the_total(tmp_path, study_rows):
    seen: list[int] = []
    n = export_rows(
        study_rows(2, 3, 200),
        tmp_path / "e.ndjson",
        ExportOptions(format="ndjson"),
        progress=seen.append,
    )
    assert n == 1200
    assert seen == [PROGRESS_EVERY, 2 * PROGRESS_EVERY, 1200]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "fhir-bundle"])
def test_streams_100k_rows_to_a_file(tmp_path, study_rows, fmt):
    out = tmp_path / "big.out"
    # 100 studies x 4 series x 250 instances, generated lazily.
    n = export_rows(study_rows(100, 4, 250), out, ExportOptions(format=fmt, deidentify=True))
    assert n == 100_000
    if fmt == "csv":
        with out.open("rb") as handle:
            assert sum(1 for _ in handle) == 100_001
    else:
        bundle = json.loads(out.read_text(encoding="utf-8"))
        assert len(bundle["entry"]) == 100
        assert sum(e["resource"]["numberOfInstances"] for e in bundle["entry"]) == 100_000


def test_export_package_does_not_import_qt():
    code = (
        "import sys, intu_desktop.export; "
        "sys.exit(any(m.startswith(('PySide6', 'shiboken6')) for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
